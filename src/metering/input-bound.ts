/**
 * How many input tokens a request can carry, read from its body before it is
 * forwarded: the bound every reservation starts from (DESIGN.md "Reserve, then
 * settle"), and the estimate a charge falls back to when a provider reports no
 * usage. Both treat each kind of content the same way: text by its bytes,
 * images and PDF pages by a per-item bound, input not in the body (a file by
 * id, a web search) as unbounded, which the context window then caps.
 */
import { isObject } from "../providers/json.ts";
import { pdfPagesOf } from "./pdf-pages.ts";

export interface InputBound {
  /** Text and JSON framing, in UTF-8 bytes: every token covers at least one. */
  readonly textBytes: number;
  /** Tokens known one by one (embeddings' token-id arrays). */
  readonly countedTokens: number;
  /** Tokens the provider adds for the request's tools, by their documented bounds. */
  readonly overheadTokens: number;
  /** Images, inline or by URL: each costs at most its model's image bound (imageTokenBound). */
  readonly images: number;
  /** Pages of inline PDFs: each is an image of the page and its text. */
  readonly pages: number;
  /** Some input is not in the body (a file by id, a web search): only the context window bounds it. */
  readonly unbounded: boolean;
  /** Some input may be audio (input_audio, an audio file), billed at an audio rate where the model has one. */
  readonly audio: boolean;
  /** At most this many input tokens at the default image bound (what rate limits count); Infinity when unbounded. */
  readonly tokens: number;
}

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
 * Models that bill an image as far more tokens than IMAGE_TOKEN_BOUND (at a
 * lower price): OpenAI's gpt-4o-mini counts 2,833 + 5,667 per 512-px tile, up to
 * 8 tiles at high detail, 48,169 tokens. Matched in the model name, so an
 * OpenRouter or Azure deployment of it counts too when its name says so.
 */
const IMAGE_HEAVY: ReadonlyArray<readonly [RegExp, number]> = [[/gpt-4o-mini/, 48_169]];

/** Tokens one image can cost on `model`. */
export function imageTokenBound(model: string): number {
  for (const [pattern, tokens] of IMAGE_HEAVY) if (pattern.test(model)) return tokens;
  return IMAGE_TOKEN_BOUND;
}

/**
 * The text of one PDF page: Anthropic documents about 1,500–3,000 tokens a page
 * (beside the page's image); OpenAI extracts the text and adds an image of each
 * page too; Gemini bills 258 a page in all (560 at Gemini 3's default media
 * resolution). A page of a printed document holds no more; a page crafted to
 * carry more text than print does is not covered.
 */
export const PDF_PAGE_TEXT_TOKEN_BOUND = 3_000;

/** Tokens one PDF page can cost on `model`: its image and its text. */
export const pdfPageTokenBound = (model: string): number => imageTokenBound(model) + PDF_PAGE_TEXT_TOKEN_BOUND;

/** The input tokens of `bound` on `model`: its bound, and its estimate (text at BYTES_PER_TOKEN); Infinity when unbounded. */
export function inputTokensOn(bound: InputBound, model: string): { readonly tokens: number; readonly estimate: number } {
  if (bound.unbounded) return { tokens: Infinity, estimate: Infinity };
  const items = bound.countedTokens + bound.overheadTokens + bound.images * imageTokenBound(model) + bound.pages * pdfPageTokenBound(model);
  return { tokens: bound.textBytes + items, estimate: Math.ceil(bound.textBytes / BYTES_PER_TOKEN) + items };
}

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

/**
 * Bytes of text per token, for estimates only (never for the bound, which
 * counts one token per byte): English text runs about four characters per
 * token, and JSON framing counted as text errs on the high side.
 */
export const BYTES_PER_TOKEN = 4;

/** OpenAI's tool types the client runs: a function, a free-form custom tool, a namespace grouping them. */
const OPENAI_CLIENT_TOOL = new Set(["function", "custom", "namespace"]);

/** The Anthropic-defined tool types the client runs; any other schema-less type is a server tool. */
const CLIENT_RUN_TOOL = /^(?:computer|text_editor|bash|memory)_/;

/** Non-image files Gemini reads by URL from an `image_url` part (src/providers/gemini/contents.ts): a PDF or media, not an image. */
const MEDIA_URL = /\.(?:pdf|mp3|wav|mp4|txt)(?:[?#]|$)/i;
/** Media whose sound is billed as audio (Gemini bills a video's soundtrack as audio tokens). */
const AUDIO_URL = /\.(?:mp3|wav|mp4)(?:[?#]|$)/i;
/** Inline file types whose bytes bound their tokens (text); anything else (office documents are zip archives) does not. */
const TEXT_MEDIA = /^(?:text\/|application\/(?:json|xml|csv))/;

/** Anthropic document sources the body carries: base64 data, plain text, content blocks. A `url` or `file` is fetched upstream. */
const INLINE_DOCUMENT = new Set(["base64", "text", "content"]);

/** A data: URL's media type and base64 payload, or null. */
function dataUrl(url: string): { type: string; data: string } | null {
  const comma = url.indexOf(",");
  if (!url.startsWith("data:") || comma === -1) return null;
  const head = url.slice(5, comma);
  return { type: (head.split(";")[0] ?? "").toLowerCase(), data: head.endsWith(";base64") ? url.slice(comma + 1) : "" };
}

/** The walk's running totals: bytes to take out of the body's count, and what to count in their place. */
class Tally {
  removedBytes = 0;
  overheadTokens = 0;
  images = 0;
  unbounded = false;
  audio = false;
  /** Inline PDFs whose pages are still to be counted (an async read), with the bytes they take out. */
  readonly pdfs: string[] = [];

  /** An image of `bytes` bytes in the body (0 for one by URL or id). */
  image(bytes: number): void {
    this.removedBytes += bytes;
    this.images++;
  }

  /** An inline file of `type` whose base64 text is `data` (its whole source string `bytes` long). */
  inlineFile(type: string, data: string, bytes: number): void {
    if (type === "application/pdf") {
      this.removedBytes += bytes;
      this.pdfs.push(data);
    } else if (type.startsWith("image/")) {
      this.image(bytes);
    } else if (type.startsWith("audio/")) {
      this.audio = true; // sound: its bytes bound its tokens (tens of tokens a second, against kilobytes)
    } else if (type.startsWith("video/")) {
      // Gemini bills a video by its length (~263 tokens a second, its sound as audio), not its bytes: a still video is tiny.
      this.audio = true;
      this.unbounded = true;
    } else if (!TEXT_MEDIA.test(type)) {
      this.unbounded = true;
    }
  }

  /** OpenAI `image_url` ({url}, or the URL itself from older clients); Gemini also reads PDFs and media from it. */
  imageUrl(image: unknown): void {
    const url = isObject(image) ? image.url : image;
    if (typeof url !== "string") return this.image(0);
    const inline = dataUrl(url);
    if (inline !== null) return this.inlineFile(inline.type, inline.data, url.length);
    if (AUDIO_URL.test(url)) this.audio = true;
    if (MEDIA_URL.test(url)) this.unbounded = true;
    else this.image(0);
  }

  /** One content array (OpenAI parts or Anthropic blocks), and the content nested in it. */
  content(blocks: readonly unknown[]): void {
    for (const block of blocks) {
      if (!isObject(block) || this.unbounded) continue;
      if (block.type === "image_url") this.imageUrl(block.image_url);
      else if (block.type === "image") {
        // Anthropic: `source` is base64 data, a URL or a Files API id; any image costs at most its bound.
        const data = isObject(block.source) && block.source.type === "base64" ? block.source.data : undefined;
        this.image(typeof data === "string" ? data.length : 0);
      } else if (block.type === "input_audio") this.audio = true;
      else if (block.type === "file") this.file(block.file);
      else if (block.type === "document") this.document(block.source);
      else if (block.type === "tool_result" && Array.isArray(block.content)) this.content(block.content); // Anthropic tool results may return images and documents
    }
  }

  /** OpenAI `file`: inline `file_data` by its type; a `file_id` (or `file_url`) is a file of any length. */
  file(file: unknown): void {
    const inline = isObject(file) && typeof file.file_data === "string" ? dataUrl(file.file_data) : null;
    if (inline === null) this.unbounded = true;
    else this.inlineFile(inline.type, inline.data, (file as { file_data: string }).file_data.length);
  }

  /** Anthropic `document`: a PDF by URL or Files API id is any number of pages. */
  document(source: unknown): void {
    if (!isObject(source) || !INLINE_DOCUMENT.has(String(source.type))) {
      this.unbounded = true;
    } else if (source.type === "base64" && typeof source.data === "string") {
      this.inlineFile(String(source.media_type ?? "application/pdf").toLowerCase(), source.data, source.data.length);
    } else if (Array.isArray(source.content)) {
      this.content(source.content);
    }
  }

  /**
   * The tool-use system prompt and schema-less client tools; unbounded for an
   * Anthropic server tool (`web_search_*`, `web_fetch_*`, `code_execution_*`,
   * `tool_search_tool_*`, `mcp_toolset`, and any type not known to run on the
   * client), whose fetched, searched or computed content is fed back as input.
   */
  tools(tools: unknown): void {
    if (!Array.isArray(tools) || tools.length === 0) return;
    this.overheadTokens += TOOL_PROMPT_TOKEN_BOUND;
    for (const tool of tools) {
      // OpenAI tools are {type:"function"} (or "custom", or a "namespace" of them), Anthropic client tools {name, input_schema}: their bytes count them.
      if (isObject(tool) && typeof tool.type === "string" && !OPENAI_CLIENT_TOOL.has(tool.type) && tool.input_schema === undefined) {
        if (CLIENT_RUN_TOOL.test(tool.type)) this.overheadTokens += SERVER_TOOL_TOKEN_BOUND;
        else this.unbounded = true;
      }
    }
  }
}

/**
 * Input named by reference at the top level: Anthropic's remote MCP servers (their tool results), Gemini's `cached_content`,
 * an earlier response of OpenAI's Responses API (`previous_response_id`: its whole conversation is input).
 */
function referencedInput(body: Readonly<Record<string, unknown>>): boolean {
  if (Array.isArray(body.mcp_servers) && body.mcp_servers.length > 0) return true;
  if (typeof body.previous_response_id === "string") return true;
  const google = isObject(body.google) ? body.google : isObject(body.extra_body) && isObject(body.extra_body.google) ? body.extra_body.google : undefined;
  return google?.cached_content !== undefined;
}

const EMPTY: InputBound = { textBytes: 0, countedTokens: 0, overheadTokens: 0, images: 0, pages: 0, unbounded: false, audio: false, tokens: 0 };
const textOnly = (bytes: number): InputBound => ({ ...EMPTY, textBytes: bytes, tokens: bytes });

/** Embeddings: token-id arrays count one token per id (far below their bytes); text counts its bytes. */
function embeddingsBound(input: unknown, bodyBytes: number): InputBound {
  if (!Array.isArray(input) || input.length === 0) return textOnly(bodyBytes);
  if (typeof input[0] === "number") return { ...EMPTY, countedTokens: input.length, tokens: input.length };
  if (!Array.isArray(input[0])) return textOnly(bodyBytes);
  let tokens = 0;
  for (const ids of input) tokens += Array.isArray(ids) ? ids.length : bodyBytes;
  tokens = Math.min(tokens, bodyBytes);
  return { ...EMPTY, countedTokens: tokens, tokens };
}

/** The most inline PDFs one request has counted: past it, the rest of its input is taken as unbounded. */
const MAX_PDFS = 32;

/**
 * The input bound of a chat (OpenAI or Anthropic Messages) or embeddings body
 * of `bodyBytes` UTF-8 bytes. A tokenizer's every token covers at least one
 * byte, so the bytes sent bound the tokens, JSON syntax covering the chat
 * template's few tokens per message; inline images and PDFs are the exception
 * (a 2 MB base64 image is ~1,600 tokens, not 2M; a 20 kB PDF may be a hundred
 * pages), so their data is taken out and counted as images and pages, which
 * each target bounds by its model (inputTokensOn). A PDF whose pages cannot be
 * counted, a video, and input not in the body (a document or file by URL or
 * id, a server tool that feeds fetched content back, a Gemini cached content)
 * make the bound unbounded: the worst case then takes the model's context
 * window. Content arrays are walked only when a message has one; PDFs are read
 * only when the body has one (the only asynchronous part).
 */
export async function inputBound(body: Readonly<Record<string, unknown>>, bodyBytes: number): Promise<InputBound> {
  const messages = body.messages;
  if (!Array.isArray(messages)) return body.input !== undefined ? embeddingsBound(body.input, bodyBytes) : textOnly(bodyBytes);
  const unbounded = (audio: boolean): InputBound => ({ ...EMPTY, textBytes: bodyBytes, unbounded: true, audio, tokens: Infinity });
  if (referencedInput(body)) return unbounded(false);
  const tally = new Tally();
  tally.tools(body.tools);
  if (isObject(body.audio) || (Array.isArray(body.modalities) && body.modalities.includes("audio"))) tally.audio = true; // earlier audio answers come back as input
  for (const message of messages) {
    if (tally.unbounded) break;
    if (!isObject(message)) continue;
    if (Array.isArray(message.content)) tally.content(message.content);
    // An earlier audio answer referred to by id (OpenAI): its audio tokens are input the body does not carry.
    if (isObject(message.audio)) tally.unbounded = tally.audio = true;
  }
  if (tally.unbounded || tally.pdfs.length > MAX_PDFS) return unbounded(tally.audio);
  const pages = tally.pdfs.length === 0 ? 0 : await pdfPagesOf(tally.pdfs);
  if (pages === null) return unbounded(tally.audio);
  const bound: InputBound = {
    textBytes: Math.max(0, bodyBytes - tally.removedBytes),
    countedTokens: 0,
    overheadTokens: tally.overheadTokens,
    images: tally.images,
    pages,
    unbounded: false,
    audio: tally.audio,
    tokens: 0,
  };
  return { ...bound, tokens: inputTokensOn(bound, "").tokens };
}
