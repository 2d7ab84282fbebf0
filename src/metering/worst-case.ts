/**
 * The reservation (DESIGN.md "Reserve, then settle"): before forwarding, the
 * most a request could cost, so concurrent requests can never overspend a hard
 * budget. Every bound here errs high; the settle step charges the actual cost.
 */
import { isObject } from "../providers/json.ts";
import { NANOS_PER_TOKEN_AT_ONE_USD_PER_MTOK, effectiveRates, inLongContext, type EffectiveRates } from "./rates.ts";
import type { ModelPrice, Nanos } from "./types.ts";

/**
 * Tokens one image can cost, whatever its size in bytes. Documented maxima:
 * Anthropic ≈1,600 (images are scaled to ≤1.15 megapixels, tokens ≈ w×h/750);
 * OpenAI high detail: gpt-4o/4.1 85 + 170 × 8 tiles = 1,445, gpt-5 and o-series
 * 70 + 140 × 8 = 1,190, patch-priced models 1,536 patches × ≤2.46 = 3,779
 * (gpt-4.1-nano); Gemini 258 per 768-px tile, 1,120 at Gemini 3's high media
 * resolution. Not covered: gpt-4o-mini, which bills an image as ~33× as many
 * tokens at its lower price (up to ~48k tokens, $0.007, against the $0.0006
 * reserved), and Gemini 2.x images tiled into more than 15 tiles (above about
 * 3,000 × 3,000 px).
 */
export const IMAGE_TOKEN_BOUND = 4_096;

/**
 * The system prompt a provider adds when a request declares tools: Anthropic
 * documents 313–346 tokens for current Claude models; OpenAI and Gemini render
 * the definitions (already counted by their bytes) under a short preamble.
 */
export const TOOL_PROMPT_TOKEN_BOUND = 512;

/**
 * Anthropic's schema-less server tools (`{"type":"computer_20250124",…}`) cost
 * far more than their bytes: computer use documents 735 tokens per definition
 * plus a 466–499-token system prompt, the text editor 700, bash 245.
 */
export const SERVER_TOOL_TOKEN_BOUND = 1_300;

/** Output cap of a request that sets none, for a model whose own cap is not in the table. */
export const DEFAULT_OUTPUT_TOKEN_BOUND = 32_768;

/** Bytes to take away (base64 data) and tokens to add (per-image bound) for one content array. */
function contentAdjustment(blocks: readonly unknown[]): number {
  let adjust = 0;
  for (const block of blocks) {
    if (!isObject(block)) continue;
    if (block.type === "image_url") {
      // OpenAI: `image_url` is {url} (or, from older clients, the URL itself); a data: URL carries the image inline.
      const url = isObject(block.image_url) ? block.image_url.url : block.image_url;
      adjust += IMAGE_TOKEN_BOUND - (typeof url === "string" && url.startsWith("data:") ? url.length : 0);
    } else if (block.type === "image") {
      // Anthropic: `source` is base64 data, a URL or a Files API id.
      const data = isObject(block.source) && block.source.type === "base64" ? block.source.data : undefined;
      adjust += IMAGE_TOKEN_BOUND - (typeof data === "string" ? data.length : 0);
    } else if (block.type === "tool_result" && Array.isArray(block.content)) {
      // Anthropic tool results may return images.
      adjust += contentAdjustment(block.content);
    }
    // Audio (`input_audio`) and files/PDFs (`file`, `document`) keep their byte count: their bytes bound their tokens.
  }
  return adjust;
}

function toolsOverhead(tools: unknown): number {
  if (!Array.isArray(tools) || tools.length === 0) return 0;
  let overhead = TOOL_PROMPT_TOKEN_BOUND;
  for (const tool of tools) {
    // OpenAI tools are {type:"function"}, Anthropic client tools {name, input_schema}: their bytes count them.
    if (isObject(tool) && typeof tool.type === "string" && tool.type !== "function" && tool.type !== "custom" && tool.input_schema === undefined) {
      overhead += SERVER_TOOL_TOKEN_BOUND;
    }
  }
  return overhead;
}

/** Embeddings: token-id arrays count one token per id (far below their bytes); text counts its bytes. */
function embeddingsInputBound(input: unknown, bodyBytes: number): number {
  if (!Array.isArray(input) || input.length === 0) return bodyBytes;
  if (typeof input[0] === "number") return input.length;
  if (!Array.isArray(input[0])) return bodyBytes;
  let tokens = 0;
  for (const ids of input) tokens += Array.isArray(ids) ? ids.length : bodyBytes;
  return Math.min(tokens, bodyBytes);
}

/**
 * An upper bound on the input tokens of a chat (OpenAI or Anthropic Messages)
 * or embeddings body of `bodyBytes` UTF-8 bytes. A tokenizer's every token
 * covers at least one byte, so the bytes sent bound the tokens, JSON syntax
 * covering the chat template's few tokens per message; inline images are the
 * exception (a 2 MB base64 image is ~1,600 tokens, not 2M), so their data is
 * taken out and IMAGE_TOKEN_BOUND put in, as it is for images sent by URL.
 * `system` blocks (text only) need no walk; content arrays are walked only
 * when a message has one.
 */
export function inputTokenBound(body: Readonly<Record<string, unknown>>, bodyBytes: number): number {
  const messages = body.messages;
  if (!Array.isArray(messages)) return body.input !== undefined ? embeddingsInputBound(body.input, bodyBytes) : bodyBytes;
  let bound = bodyBytes + toolsOverhead(body.tools);
  for (const message of messages) {
    if (isObject(message) && Array.isArray(message.content)) bound += contentAdjustment(message.content);
  }
  return bound;
}

const positiveInt = (v: unknown): number | undefined => (typeof v === "number" && Number.isInteger(v) && v > 0 ? v : undefined);

/**
 * An upper bound on the output tokens: the request's cap (`max_completion_tokens`,
 * which includes reasoning, or `max_tokens`), else the model's, else
 * DEFAULT_OUTPUT_TOKEN_BOUND; times `n` choices (the prompt is billed once).
 * A requested cap above the model's is kept: the table's cap may be stale, and
 * a provider that refuses the request costs nothing anyway. Embeddings: 0.
 */
export function outputTokenBound(body: Readonly<Record<string, unknown>>, price: ModelPrice): number {
  if (!Array.isArray(body.messages) && body.input !== undefined) return 0;
  const cap = positiveInt(body.max_completion_tokens) ?? positiveInt(body.max_tokens) ?? price.maxOutputTokens ?? DEFAULT_OUTPUT_TOKEN_BOUND;
  return cap * (positiveInt(body.n) ?? 1);
}

const maxInputRate = (r: EffectiveRates): number => Math.max(r.input, r.cachedInput, r.cacheWrite, r.cacheWrite1h);
const maxOutputRate = (r: EffectiveRates): number => Math.max(r.output, r.reasoning);

/**
 * The most `inputTokens` and `outputTokens` could cost: every input token at
 * the dearest input-side rate (a cache write costs more than plain input),
 * every output token at the dearer of output and reasoning, at the
 * long-context tier's rates when the input could pass its threshold.
 * Integer nano-dollars, rounded up.
 */
export function worstCaseNanos(price: ModelPrice, inputTokens: number, outputTokens: number): Nanos {
  const base = effectiveRates(price, false);
  const tier = inLongContext(price, inputTokens) ? effectiveRates(price, true) : base;
  const perMTok = inputTokens * Math.max(maxInputRate(base), maxInputRate(tier)) + outputTokens * Math.max(maxOutputRate(base), maxOutputRate(tier));
  return Math.ceil(perMTok * NANOS_PER_TOKEN_AT_ONE_USD_PER_MTOK);
}
