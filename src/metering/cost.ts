import type { Usage, UsageBilling } from "../providers/types.ts";
import { nanosRounded, picoOfUsd, tokensAt, wholeTokens, type Pico } from "./money.ts";
import { effectiveRates, inLongContext, ratesAtTier } from "./rates.ts";
import type { Fee, ModelPrice, Nanos, PerUseFees, SearchContextSize, ServiceTier } from "./types.ts";

/** The parts of a bill, by what was billed: the dashboard shows a request's cost broken down this way. */
export type CostPart = "input" | "cachedInput" | "cacheWrite" | "cacheWrite1h" | "audioInput" | "output" | "reasoning" | "audioOutput" | "fees";

/** What a usage cost, whole and by part (nano-dollars), and what it reported that no price covers. */
export interface Costed {
  /** The sum of the parts, rounded once. */
  readonly nanos: Nanos;
  /** Each part rounded on its own (so they may differ from `nanos` by a nano-dollar or two). */
  readonly parts: Readonly<Partial<Record<CostPart, Nanos>>>;
  /** The service tier the answer was billed at (null: standard). */
  readonly tier: ServiceTier | null;
  /** Billed things with no price here (`web_search ×3`, `service_tier priority`): the cost leaves them out and says so. */
  readonly unpriced: readonly string[];
}

/** Tier names that bill at standard rates: OpenAI's "default" (and "auto", "scale"), Bedrock's "default" and "reserved", Groq's "on_demand". */
const STANDARD_TIERS = new Set(["default", "standard", "auto", "scale", "reserved", "on_demand"]);

/**
 * A provider's service tier name → the price map's: a tier with rates of its
 * own, null for the standard rates, undefined for a tier the gateway has no
 * rates for (Bedrock's latency-optimized inference, say).
 */
export function serviceTierOf(name: string | undefined): ServiceTier | null | undefined {
  if (name === undefined || STANDARD_TIERS.has(name)) return null;
  return name === "priority" || name === "flex" ? name : undefined;
}

const SIZES: readonly SearchContextSize[] = ["low", "medium", "high"];

/** A fee at search context size `size`, or at the dearest size when the provider did not say which. */
export function feeAt(fee: Fee | undefined, size: string | undefined): number | undefined {
  if (fee === undefined || typeof fee === "number") return fee;
  const own = SIZES.includes(size as SearchContextSize) ? fee[size as SearchContextSize] : undefined;
  if (own !== undefined) return own;
  const all = SIZES.map((s) => fee[s]).filter((v) => v !== undefined);
  return all.length === 0 ? undefined : Math.max(...all);
}

/**
 * A web search tool's fee per call. With OpenAI's preview tool offered (`preview`), its fee where
 * the price has one apart, and never less than the plain tool's: a request offering both may have
 * searched with either, and each call is charged at the dearer.
 */
export function searchToolFee(fees: PerUseFees | undefined, preview: boolean, size: string | undefined): number | undefined {
  const plain = feeAt(fees?.webSearchTool, size);
  if (!preview) return plain;
  const own = feeAt(fees?.webSearchPreviewTool, size);
  return own === undefined || plain === undefined ? (own ?? plain) : Math.max(own, plain);
}

/** The per-use fees of a usage, in pico-dollars, and the uses no price covers. */
function feesOf(price: ModelPrice, billing: UsageBilling | undefined, unpriced: string[]): Pico {
  const size = billing?.searchContextSize;
  const request = feeAt(price.fees?.request, size);
  let pico = request === undefined ? 0n : picoOfUsd(request);
  if (billing === undefined) return pico;
  const searches = wholeTokens(billing.searches ?? 0);
  if (searches > 0n) {
    const fee = billing.webSearchPreview === true ? searchToolFee(price.fees, true, size) : feeAt(price.fees?.search ?? price.fees?.webSearchTool, size);
    // A model that charges per request prices its searches in that fee.
    if (fee !== undefined) pico += searches * picoOfUsd(fee);
    else if (request === undefined) unpriced.push(`searches ×${searches}`);
  }
  const citations = billing.citationTokens ?? 0;
  if (citations > 0) {
    const rate = price.fees?.citationPerMTok;
    if (rate === undefined) unpriced.push(`citation_tokens ×${citations}`);
    else pico += tokensAt(citations, rate);
  }
  for (const [use, n] of Object.entries(billing.otherUses ?? {})) if (n > 0) unpriced.push(`${use} ×${n}`);
  return pico;
}

/**
 * What a request cost, from normalised usage (DESIGN.md "Providers":
 * prompt_tokens counts every input token, cache reads and writes and audio
 * included; completion_tokens includes reasoning and audio). Exact: integer
 * pico-dollars, rounded to nano-dollars once, at the end.
 *
 * How the providers bill, rule by rule:
 * - Cache reads are billed at the cache-read rate and cache writes at the
 *   write rate *instead of* the input rate (Anthropic's input_tokens excludes
 *   both; OpenAI's and Gemini's prompt counts include the cached part and bill
 *   it at the discount), so only input outside both is billed as uncached.
 * - Anthropic's (and Bedrock's) 1-hour cache writes cost 2× input against
 *   1.25× for 5-minute ones; usage reports them as a subset of the writes.
 * - Audio tokens (OpenAI's audio models, Gemini's AUDIO modality) are part of
 *   the prompt and the completion and are billed at the audio rates.
 * - Reasoning tokens are output everywhere (OpenAI, Gemini thoughts, Claude
 *   thinking, xAI once normalised); a model that prices them apart has a
 *   `reasoning` rate, and only then are they split from the rest of the output.
 * - Long context (Claude and Gemini Pro above 200k prompt tokens, GPT-5.4 above
 *   272k): once the prompt passes the threshold the *whole* request, output
 *   included, is billed at the tier's rates, not just the tokens past it.
 * - Service tiers (OpenAI's priority and flex): every rate at the tier the
 *   answer reports; a tier the model has no rates for is billed at standard
 *   rates and reported as unpriced.
 * - Per-use fees: a per-request fee where the model has one (Perplexity's, at
 *   the reported search context size), each search at its fee (Anthropic's
 *   web searches, Perplexity's deep-research queries), citation tokens at
 *   their rate; a use no fee covers is reported, not guessed.
 */
export function priceUsage(price: ModelPrice, usage: Usage): Costed {
  const unpriced: string[] = [];
  const reported = usage.billing?.serviceTier;
  const named = serviceTierOf(reported);
  let tier = named ?? null;
  let tiered = named === undefined ? undefined : ratesAtTier(price, tier);
  if (tiered === undefined) {
    // No rates for the tier the answer came at: billed at standard rates, and the record says so.
    unpriced.push(`service_tier ${String(reported)}`);
    tier = null;
    tiered = price;
  }
  const r = effectiveRates(tiered, inLongContext(tiered, usage.prompt_tokens));
  const details = usage.prompt_tokens_details;
  const cached = details?.cached_tokens ?? 0;
  const writes = details?.cache_write_tokens ?? 0;
  const writes1h = Math.min(writes, details?.cache_write_1h_tokens ?? 0);
  const uncached = Math.max(0, usage.prompt_tokens - cached - writes);
  const audioIn = Math.min(uncached, details?.audio_tokens ?? 0);
  const reasoning = Math.min(usage.completion_tokens, usage.completion_tokens_details?.reasoning_tokens ?? 0);
  const audioOut = Math.min(usage.completion_tokens - reasoning, usage.completion_tokens_details?.audio_tokens ?? 0);
  const parts: Record<CostPart, Pico> = {
    input: tokensAt(uncached - audioIn, r.input),
    cachedInput: tokensAt(cached, r.cachedInput),
    cacheWrite: tokensAt(writes - writes1h, r.cacheWrite),
    cacheWrite1h: tokensAt(writes1h, r.cacheWrite1h),
    audioInput: tokensAt(audioIn, r.audioInput),
    output: tokensAt(usage.completion_tokens - reasoning - audioOut, r.output),
    reasoning: tokensAt(reasoning, r.reasoning),
    audioOutput: tokensAt(audioOut, r.audioOutput),
    fees: feesOf(price, usage.billing, unpriced),
  };
  let total = 0n;
  const rounded: Partial<Record<CostPart, Nanos>> = {};
  for (const [part, pico] of Object.entries(parts) as Array<[CostPart, Pico]>) {
    total += pico;
    if (pico > 0n) rounded[part] = nanosRounded(pico);
  }
  return { nanos: nanosRounded(total), parts: rounded, tier, unpriced };
}

/** What a usage cost, in nano-dollars (see priceUsage). */
export const costNanos = (price: ModelPrice, usage: Usage): Nanos => priceUsage(price, usage).nanos;
