/**
 * The reservation (DESIGN.md "Reserve, then settle"): before forwarding, the
 * most a request could cost on each target, so concurrent requests can never
 * overspend a hard budget. Every bound here errs high; the settle step charges
 * the actual cost. Exact: integer pico-dollars (money.ts).
 */
import { isObject } from "../providers/json.ts";
import { feeAt, searchToolFee } from "./cost.ts";
import { inputTokensOn, type InputBound } from "./input-bound.ts";
import { maxPico, picoOfUsd, tokensAt, wholeTokens, type Pico } from "./money.ts";
import { effectiveRates, inLongContext, ratesAtTier, type EffectiveRates } from "./rates.ts";
import type { ModelPrice, ServiceTier, TieredRates } from "./types.ts";

/** Output cap of a request that sets none, for a model whose own cap is not known. */
export const DEFAULT_OUTPUT_TOKEN_BOUND = 32_768;

/**
 * The input cap of a model whose context window the table lacks (an override
 * without `maxInputTokens`, an embedding model): the largest windows offered,
 * 2,097,152 tokens (Gemini 1.5 Pro; Grok 4 Fast's 2,000,000). Only input the
 * body cannot bound, or a body the provider would refuse, ever reaches it.
 */
export const DEFAULT_MAX_INPUT_TOKENS = 2_097_152;

/** The largest output cap a client may ask for (`max_tokens` and kin; 400 above it): the longest outputs offered are 1M tokens. */
export const MAX_REQUESTED_OUTPUT_TOKENS = 10_000_000;

/**
 * A search call is a tool-use block the model writes: its name, id and query
 * take at least this many output tokens, so a request's output cap bounds the
 * searches it can make when nothing else does.
 */
export const OUTPUT_TOKENS_PER_SEARCH = 8;

const positiveInt = (v: unknown): number | undefined => (typeof v === "number" && Number.isInteger(v) && v > 0 ? v : undefined);

/**
 * The output cap the client asked for: `max_completion_tokens` (which includes reasoning) or
 * `max_tokens`, the larger when both are set (providers differ in which one they read).
 */
export function requestedOutputCap(body: Readonly<Record<string, unknown>>): number | undefined {
  const a = positiveInt(body.max_completion_tokens);
  const b = positiveInt(body.max_tokens);
  return a === undefined ? b : b === undefined ? a : Math.max(a, b);
}

/**
 * The output cap of one choice on one target: the cap sent upstream and the
 * one reserved, decided here alone (DESIGN.md: "the output cap that is
 * reserved is the one that is sent upstream"). The client's own cap; else the
 * smaller of the model's cap in its price and the adapter's own ceiling for
 * the model (an adapter that must send a cap, as Anthropic's, sends this one);
 * else the context window (an answer never outgrows it); else
 * DEFAULT_OUTPUT_TOKEN_BOUND. A requested cap above the model's is kept: the
 * table's cap may be stale, and a provider that refuses the request costs
 * nothing anyway. Where nothing is sent, the provider's own default applies,
 * which for OpenAI-compatible APIs is the model's output cap in the table.
 */
export function outputCap(body: Readonly<Record<string, unknown>>, price: ModelPrice | null, adapterCeiling: number | undefined): number {
  const requested = requestedOutputCap(body);
  if (requested !== undefined) return requested;
  const known = [price?.maxOutputTokens, adapterCeiling].filter((n): n is number => n !== undefined);
  return known.length > 0 ? Math.min(...known) : (price?.maxInputTokens ?? DEFAULT_OUTPUT_TOKEN_BOUND);
}

/** Choices a chat request asks for (`n`); the prompt is billed once, each choice's output apart. */
export const choicesOf = (body: Readonly<Record<string, unknown>>): number => positiveInt(body.n) ?? 1;

/** The service tier a request asks for, as sent (OpenAI `service_tier`, Bedrock `serviceTier.type`), or undefined. */
export function requestedServiceTier(body: Readonly<Record<string, unknown>>): string | undefined {
  if (typeof body.service_tier === "string") return body.service_tier;
  if (isObject(body.serviceTier) && typeof body.serviceTier.type === "string") return body.serviceTier.type;
  return undefined;
}

/** What the worst case reads of a request besides its prices (once per request). */
export interface RequestBounds {
  readonly input: InputBound;
  /** Output tokens are counted (false for embeddings, whose vectors are not tokens). */
  readonly output: boolean;
  readonly choices: number;
  /** The answer may contain audio (`modalities` with "audio", or an `audio` setting). */
  readonly audioOutput: boolean;
  /**
   * The request declares a web search tool (Anthropic's `web_search_*`, OpenAI's `web_search` or
   * `web_search_preview`), with the searches it allows (`max_uses` on each, or the Responses API's
   * `max_tool_calls` for all built-in calls), if it sets a number; `preview`: one is OpenAI's preview tool.
   */
  readonly webSearch: { readonly maxUses: number | undefined; readonly preview: boolean } | null;
  /** What bounds a target that gets the request without its server-side tools (http/metered.ts translatedBody); absent: these bounds. */
  readonly translated?: RequestBounds;
}

/**
 * `maxToolCalls`: the Responses API's `max_tool_calls`, which bounds every built-in tool call of the
 * request, searches included; passed apart, never read from a body, where another API's field of
 * that name would bind nothing.
 */
export function requestBounds(body: Readonly<Record<string, unknown>>, input: InputBound, maxToolCalls?: number): RequestBounds {
  const chat = Array.isArray(body.messages);
  let webSearch: { maxUses: number | undefined; preview: boolean } | null = null;
  if (Array.isArray(body.tools)) {
    let declared = false;
    let maxUses: number | undefined;
    let preview = false;
    for (const tool of body.tools) {
      if (!isObject(tool) || typeof tool.type !== "string" || !tool.type.startsWith("web_search")) continue;
      const uses = positiveInt(tool.max_uses);
      maxUses = !declared ? uses : maxUses === undefined || uses === undefined ? undefined : maxUses + uses;
      declared = true;
      preview ||= tool.type.startsWith("web_search_preview");
    }
    const allCalls = positiveInt(maxToolCalls);
    if (allCalls !== undefined) maxUses = Math.min(maxUses ?? allCalls, allCalls);
    if (declared) webSearch = { maxUses, preview };
  }
  return {
    input,
    output: chat || body.input === undefined,
    choices: choicesOf(body),
    audioOutput: isObject(body.audio) || (Array.isArray(body.modalities) && body.modalities.includes("audio")),
    webSearch,
  };
}

/** What one call to a target could cost at most: the input (billed even for a call that never answers), the output, and per-use fees. */
export interface CallWorstCase {
  readonly input: Pico;
  readonly output: Pico;
  readonly fees: Pico;
}

/** One target's terms for the worst case: its model, price, the tiers it may bill at, its output cap, and how its provider counts reasoning. */
export interface TargetTerms {
  /** The provider's model name (some bill an image as many more tokens: input-bound.ts imageTokenBound). */
  readonly model: string;
  readonly price: ModelPrice;
  /** The tiers the answer may be billed at: the standard rates and those of the tier asked for (priority bills above standard). */
  readonly tiers: readonly TieredRates[];
  /** Output tokens of one choice (outputCap). */
  readonly outputCap: number;
  /** The model's reasoning is reported and billed apart from the completion and its cap (Perplexity's deep research): up to the model's own cap more. */
  readonly reasoningBeyondCap: boolean;
}

/**
 * The rate sets a request asking for service tier `asked` may be billed at:
 * the standard rates, or the tier's, or both when the answer may come at
 * either (priority falls back to standard when the provider is busy). Null
 * when the model has no rates for the tier asked for: no worst case can bound it.
 */
export function billableTiers(price: ModelPrice, asked: ServiceTier | null): TieredRates[] | null {
  if (asked === null) return [price];
  const tier = ratesAtTier(price, asked);
  if (tier === undefined) return null;
  return asked === "flex" ? [tier] : [price, tier];
}

const maxInputRate = (r: EffectiveRates, audio: boolean): number =>
  Math.max(r.input, r.cachedInput, r.cacheWrite, r.cacheWrite1h, audio ? r.audioInput : 0);
const maxOutputRate = (r: EffectiveRates, audio: boolean): number => Math.max(r.output, r.reasoning, audio ? r.audioOutput : 0);

/**
 * The most one call to a target could cost: input capped at the model's
 * context window (no request carries more: the provider refuses it; Infinity,
 * input the body cannot bound, becomes the whole window), every input token at
 * the dearest input-side rate (a cache write costs more than plain input; audio
 * more than text when the input may hold audio), every output token at the
 * dearest output-side rate, at the long-context tier's rates when the input
 * could reach it, at each tier the answer may be billed at; and the per-use
 * fees the request could run up.
 */
export function callWorstCase(terms: TargetTerms, bounds: RequestBounds): CallWorstCase {
  const { price } = terms;
  const window = price.maxInputTokens ?? DEFAULT_MAX_INPUT_TOKENS;
  const inputTokens = Math.min(inputTokensOn(bounds.input, terms.model).tokens, window);
  // A server-run search loop reads the conversation again on each pass, its results added as input, and
  // the provider bills every pass's input: with the searches bounded, each of them + 1 passes may read a
  // whole window. Without a bound on the searches it stays one window: the output cap bounds them (8 tokens
  // a search) but at a window each would refuse every such request; the README names this gap.
  const passes = bounds.webSearch?.maxUses === undefined ? 1 : bounds.webSearch.maxUses + 1;
  let outputTokens = 0;
  if (bounds.output) {
    const perChoice = terms.reasoningBeyondCap ? terms.outputCap + (price.maxOutputTokens ?? DEFAULT_OUTPUT_TOKEN_BOUND) : terms.outputCap;
    outputTokens = perChoice * bounds.choices;
  }
  let inputRate = 0;
  let outputRate = 0;
  for (const tier of terms.tiers) {
    for (const long of inLongContext(tier, inputTokens) ? [false, true] : [false]) {
      const r = effectiveRates(tier, long);
      inputRate = Math.max(inputRate, maxInputRate(r, bounds.input.audio));
      outputRate = Math.max(outputRate, maxOutputRate(r, bounds.audioOutput));
    }
  }
  return { input: tokensAt(inputTokens, inputRate) * wholeTokens(passes), output: tokensAt(outputTokens, outputRate), fees: feesWorstCase(price, bounds, outputTokens, window) };
}

/** The most a request's per-use fees could come to: a per-request fee, its searches, its citation tokens. */
function feesWorstCase(price: ModelPrice, bounds: RequestBounds, outputTokens: number, window: number): Pico {
  const fees = price.fees;
  if (fees === undefined) return 0n;
  const request = feeAt(fees.request, undefined);
  let pico = request === undefined ? 0n : picoOfUsd(request);
  // Searches the model runs on its own, or those of a web search tool the request declares.
  const onItsOwn = feeAt(fees.search, undefined);
  const byTool = bounds.webSearch === null ? undefined : searchToolFee(fees, bounds.webSearch.preview, undefined);
  const perSearch = onItsOwn ?? byTool;
  if (perSearch !== undefined) {
    const byOutput = Math.max(1, Math.ceil(outputTokens / OUTPUT_TOKENS_PER_SEARCH));
    const searches = onItsOwn === undefined ? (bounds.webSearch?.maxUses ?? byOutput) : byOutput;
    pico += wholeTokens(searches) * picoOfUsd(perSearch);
  }
  if (fees.citationPerMTok !== undefined) pico += tokensAt(window, fees.citationPerMTok);
  return pico;
}

/** The sum of a call's parts. */
export const callTotal = (w: CallWorstCase): Pico => w.input + w.output + w.fees;

/**
 * The most a whole request could cost across the calls it may make: each call
 * may be billed its input even when it never answers (a hedge that lost, a
 * call abandoned at its deadline), and one call answers in full. So: the input
 * of every call the plan may make, plus the largest output and fees of any
 * target. `calls[i]` is how many calls target i may get.
 */
export function requestWorstCase(targets: ReadonlyArray<{ readonly worst: CallWorstCase; readonly calls: number }>): Pico {
  let inputs = 0n;
  let answer = 0n;
  for (const { worst, calls } of targets) {
    inputs += BigInt(calls) * worst.input;
    answer = maxPico(answer, worst.output + worst.fees);
  }
  return inputs + answer;
}
