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
 * Anthropic's schema-less tools the client runs (`{"type":"computer_20250124",…}`)
 * cost far more than their bytes: computer use documents 735 tokens per
 * definition plus a 466–499-token system prompt, the text editor 700, bash 245.
 * Their results come back in a later request's body, which counts them.
 */
export const SERVER_TOOL_TOKEN_BOUND = 1_300;

/** Output cap of a request that sets none, for a model whose own cap is not in the table. */
export const DEFAULT_OUTPUT_TOKEN_BOUND = 32_768;

/**
 * The input cap of a model whose context window the table lacks (an override
 * without `maxInputTokens`, an embedding model): the largest windows offered,
 * 2,097,152 tokens (Gemini 1.5 Pro; Grok 4 Fast's 2,000,000). Only input the
 * body cannot bound, or a body the provider would refuse, ever reaches it.
 */
export const DEFAULT_MAX_INPUT_TOKENS = 2_097_152;

/** Input whose tokens are not in the body: a document or file by URL or id, content a server tool fetches. */
const UNBOUNDED = Number.POSITIVE_INFINITY;

/** The Anthropic-defined tool types the client runs; any other schema-less type is a server tool. */
const CLIENT_RUN_TOOL = /^(?:computer|text_editor|bash|memory)_/;

/** Non-image files Gemini reads by URL from an `image_url` part (src/providers/gemini/contents.ts): a PDF or a video, not an image. */
const MEDIA_URL = /\.(?:pdf|mp3|wav|mp4|txt)(?:[?#]|$)/i;

/** OpenAI `image_url` ({url}, or the URL itself from older clients): tokens to add, base64 bytes to take away. */
function imageUrlAdjustment(image: unknown): number {
  const url = isObject(image) ? image.url : image;
  if (typeof url !== "string") return IMAGE_TOKEN_BOUND;
  // An inline image's bytes are far above its tokens; other inline media (audio, video, PDF) keep their bytes.
  if (url.startsWith("data:")) return url.startsWith("data:image/") ? IMAGE_TOKEN_BOUND - url.length : 0;
  return MEDIA_URL.test(url) ? UNBOUNDED : IMAGE_TOKEN_BOUND;
}

/** Anthropic document sources the body carries: base64 data, plain text, content blocks. A `url` or `file` is fetched upstream. */
const INLINE_DOCUMENT = new Set(["base64", "text", "content"]);

/** Bytes to take away (base64 data) and tokens to add (per-image bound) for one content array; UNBOUNDED if it names content not in the body. */
function contentAdjustment(blocks: readonly unknown[]): number {
  let adjust = 0;
  for (const block of blocks) {
    if (!isObject(block)) continue;
    if (block.type === "image_url") {
      adjust += imageUrlAdjustment(block.image_url);
    } else if (block.type === "image") {
      // Anthropic: `source` is base64 data, a URL or a Files API id; any image costs at most IMAGE_TOKEN_BOUND.
      const data = isObject(block.source) && block.source.type === "base64" ? block.source.data : undefined;
      adjust += IMAGE_TOKEN_BOUND - (typeof data === "string" ? data.length : 0);
    } else if (block.type === "file") {
      // OpenAI: inline `file_data` keeps its bytes; a `file_id` (or `file_url`) is a file of any length.
      if (!isObject(block.file) || typeof block.file.file_data !== "string") return UNBOUNDED;
    } else if (block.type === "document") {
      // Anthropic: a PDF by URL or Files API id is any number of pages (a 300-page PDF is 100k+ tokens).
      const source = isObject(block.source) ? block.source : undefined;
      if (source === undefined || !INLINE_DOCUMENT.has(String(source.type))) return UNBOUNDED;
      if (Array.isArray(source.content)) adjust += contentAdjustment(source.content);
    } else if (block.type === "tool_result" && Array.isArray(block.content)) {
      // Anthropic tool results may return images and documents.
      adjust += contentAdjustment(block.content);
    }
    // Audio (`input_audio`) and inline files/PDFs keep their byte count.
    if (adjust === UNBOUNDED) return UNBOUNDED;
  }
  return adjust;
}

/**
 * The tool-use system prompt and schema-less client tools; UNBOUNDED for an
 * Anthropic server tool (`web_search_*`, `web_fetch_*`, `code_execution_*`,
 * `tool_search_tool_*`, `mcp_toolset`, and any type not known to run on the
 * client), whose fetched, searched or computed content is fed back as input.
 */
function toolsOverhead(tools: unknown): number {
  if (!Array.isArray(tools) || tools.length === 0) return 0;
  let overhead = TOOL_PROMPT_TOKEN_BOUND;
  for (const tool of tools) {
    // OpenAI tools are {type:"function"}, Anthropic client tools {name, input_schema}: their bytes count them.
    if (isObject(tool) && typeof tool.type === "string" && tool.type !== "function" && tool.type !== "custom" && tool.input_schema === undefined) {
      if (!CLIENT_RUN_TOOL.test(tool.type)) return UNBOUNDED;
      overhead += SERVER_TOOL_TOKEN_BOUND;
    }
  }
  return overhead;
}

/** Input named by reference at the top level: Anthropic's remote MCP servers (their tool results), Gemini's `cached_content`. */
function referencedInput(body: Readonly<Record<string, unknown>>): boolean {
  if (Array.isArray(body.mcp_servers) && body.mcp_servers.length > 0) return true;
  const google = isObject(body.google) ? body.google : isObject(body.extra_body) && isObject(body.extra_body.google) ? body.extra_body.google : undefined;
  return google?.cached_content !== undefined;
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
 * Infinity when the input is not all in the body (a document or file by URL or
 * id, a server tool that feeds fetched content back, a Gemini cached content):
 * worstCaseNanos then caps it at the model's context window.
 * `system` blocks (text only) need no walk; content arrays are walked only
 * when a message has one.
 */
export function inputTokenBound(body: Readonly<Record<string, unknown>>, bodyBytes: number): number {
  const messages = body.messages;
  if (!Array.isArray(messages)) return body.input !== undefined ? embeddingsInputBound(body.input, bodyBytes) : bodyBytes;
  if (referencedInput(body)) return UNBOUNDED;
  let bound = bodyBytes + toolsOverhead(body.tools);
  for (const message of messages) {
    if (bound === UNBOUNDED) break;
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
 * The most `inputTokens` and `outputTokens` could cost: input capped at the
 * model's context window (no request carries more: the provider refuses it;
 * Infinity, input the body cannot bound, becomes the whole window), every
 * input token at the dearest input-side rate (a cache write costs more than
 * plain input), every output token at the dearer of output and reasoning, at
 * the long-context tier's rates when the input could pass its threshold.
 * Integer nano-dollars, rounded up.
 */
export function worstCaseNanos(price: ModelPrice, inputTokens: number, outputTokens: number): Nanos {
  const input = Math.min(inputTokens, price.maxInputTokens ?? DEFAULT_MAX_INPUT_TOKENS);
  const base = effectiveRates(price, false);
  const tier = inLongContext(price, input) ? effectiveRates(price, true) : base;
  const perMTok = input * Math.max(maxInputRate(base), maxInputRate(tier)) + outputTokens * Math.max(maxOutputRate(base), maxOutputRate(tier));
  return Math.ceil(perMTok * NANOS_PER_TOKEN_AT_ONE_USD_PER_MTOK);
}
