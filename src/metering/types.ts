/**
 * Prices and money, as metering sees them. Prices are USD per million tokens
 * (the unit providers publish and the admin API takes); money that is added up
 * (costs, reservations, ledger counters) is an integer number of nano-dollars,
 * so that sums are exact: a ledger's counter equals the sum of its requests'
 * costs to the last digit, which floating-point dollars cannot promise.
 * src/metering/money.ts does the arithmetic in integers.
 */

/** Integer USD × 10⁹. */
export type Nanos = number;

export const NANOS_PER_USD = 1_000_000_000;

/** Rates of one price tier, USD per million tokens. Absent optional rates fall back as src/metering/rates.ts says. */
export interface TierRates {
  /** Uncached input. */
  readonly input: number;
  readonly output: number;
  /** Input read from the provider's prompt cache. */
  readonly cachedInput?: number | undefined;
  /** Input written to the prompt cache (Anthropic's 5-minute TTL; the only write rate elsewhere). */
  readonly cacheWrite?: number | undefined;
  /** Input written to the prompt cache with a 1-hour TTL (Anthropic, Claude on Bedrock). */
  readonly cacheWrite1h?: number | undefined;
  /** Reasoning tokens, where a provider prices them apart from other output. */
  readonly reasoning?: number | undefined;
  /** Audio input tokens (OpenAI's audio models, Gemini), where priced apart from text. */
  readonly audioInput?: number | undefined;
  /** Audio output tokens, where priced apart from text. */
  readonly audioOutput?: number | undefined;
}

/** A tier's rates with its own long-context tier: how a model is priced at one service tier. */
export interface TieredRates extends TierRates {
  /** Applies when the request's prompt_tokens exceed `threshold` (200k for Claude and Gemini Pro, 272k for GPT-5.x). */
  readonly longContext?: (TierRates & { readonly threshold: number }) | undefined;
}

/** Service tiers a provider bills at other rates than its standard one (OpenAI's `service_tier`, Gemini's, Bedrock's). */
export type ServiceTier = "priority" | "flex";

/** The size of a search's context, which some providers' per-search fee depends on (Perplexity, OpenAI's search models). */
export type SearchContextSize = "low" | "medium" | "high";

/** A fee in USD: one amount, or one per search context size. */
export type Fee = number | Readonly<Partial<Record<SearchContextSize, number>>>;

/** Fees charged per use rather than per token, in USD. */
export interface PerUseFees {
  /** Per search query the model runs on its own (Perplexity's deep research, $0.005). */
  readonly search?: Fee | undefined;
  /** Per search of a web search tool the request declares (Anthropic's, $0.01; OpenAI's `web_search`, $0.01). */
  readonly webSearchTool?: Fee | undefined;
  /** Per call of OpenAI's older `web_search_preview` tool, which bills non-reasoning models more ($0.025). */
  readonly webSearchPreviewTool?: Fee | undefined;
  /** Per request (Perplexity's Sonar models, by search context size; OpenAI's search models; older online models). */
  readonly request?: Fee | undefined;
  /** Citation tokens (Perplexity's deep research), USD per million tokens. */
  readonly citationPerMTok?: number | undefined;
}

/** A model's price: base rates, a long-context tier, rates at other service tiers, per-use fees and the model's limits. */
export interface ModelPrice extends TieredRates {
  /** Rates at a service tier, where the provider bills it apart; a rate it leaves out follows the standard tier (rates.ts). */
  readonly serviceTiers?: Readonly<Partial<Record<ServiceTier, TieredRates>>> | undefined;
  readonly fees?: PerUseFees | undefined;
  /** The model's output cap: the worst case of a request that sets none. */
  readonly maxOutputTokens?: number | undefined;
  /**
   * The most input tokens one request can carry (a chat model's context
   * window; LiteLLM's `max_input_tokens`): caps the worst case of input the
   * body does not bound (a file by id, a web search). Left out for embedding
   * models, whose window is per input while a batch of inputs is billed whole.
   */
  readonly maxInputTokens?: number | undefined;
}

export const usdToNanos = (usd: number): Nanos => Math.round(usd * NANOS_PER_USD);
export const nanosToUsd = (nanos: Nanos): number => nanos / NANOS_PER_USD;
