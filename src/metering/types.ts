/**
 * Prices and money, as metering sees them. Prices are USD per million tokens
 * (the unit providers publish and the admin API takes); money that is added up
 * (costs, reservations, ledger counters) is an integer number of nano-dollars,
 * so that sums are exact: a ledger's counter equals the sum of its requests'
 * costs to the last digit, which floating-point dollars cannot promise.
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
  /** Input written to the prompt cache with a 1-hour TTL (Anthropic). */
  readonly cacheWrite1h?: number | undefined;
  /** Reasoning tokens, where a provider prices them apart from other output. */
  readonly reasoning?: number | undefined;
}

/** A model's price: base rates, and a long-context tier that bills the whole request at its rates above a prompt size. */
export interface ModelPrice extends TierRates {
  /** Applies when the request's prompt_tokens exceed `threshold` (200k for Claude and Gemini Pro, 272k for GPT-5.x). */
  readonly longContext?: (TierRates & { readonly threshold: number }) | undefined;
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
