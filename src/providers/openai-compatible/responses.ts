/**
 * OpenAI's Responses API served natively (issue 15): a provider whose preset
 * has `responsesPath` (OpenAI, Azure OpenAI) gets the client's body with only
 * `model` replaced, and its answer and event stream pass back byte for byte.
 * Only the usage is read: from the answer's root `usage`, or from the stream's
 * terminal event (`response.completed`, `.incomplete` or `.failed`).
 */
import { decoder, encoder, endOfJsonObject, indexOfBytes, lastIndexOfBytes } from "../../streaming/bytes.ts";
import { USAGE_KEY, usageValueAt } from "./stream.ts";
import { nativeRelay, sseEventName } from "../../streaming/native-relay.ts";
import { sseEventJson } from "../../streaming/sse.ts";
import { readAnswerBytes } from "../answer-body.ts";
import { isObject, type Json } from "../json.ts";
import type { CostOf, ProviderConfig, StreamTranslator, TranslatedBody, UpstreamRequest, Usage } from "../types.ts";
import { tokenCount } from "../usage.ts";
import { usageInBody } from "./usage-in-body.ts";
import { withServiceTier } from "./usage.ts";

/**
 * A Responses usage (`input_tokens` with `input_tokens_details.cached_tokens`,
 * `output_tokens` with `output_tokens_details.reasoning_tokens`) in the
 * gateway's terms: the same totals under Chat Completions' names.
 */
export function normaliseResponsesUsage(raw: unknown): Usage | null {
  if (!isObject(raw)) return null;
  const input = tokenCount(raw.input_tokens);
  const output = tokenCount(raw.output_tokens);
  const cached = isObject(raw.input_tokens_details) ? tokenCount(raw.input_tokens_details.cached_tokens) : 0;
  const reasoning = isObject(raw.output_tokens_details) ? tokenCount(raw.output_tokens_details.reasoning_tokens) : 0;
  if (raw.input_tokens === undefined && raw.output_tokens === undefined) return null;
  return {
    prompt_tokens: input,
    completion_tokens: output,
    total_tokens: input + output,
    prompt_tokens_details: { cached_tokens: Math.min(cached, input) },
    completion_tokens_details: { reasoning_tokens: Math.min(reasoning, output) },
  };
}

/** The native request: the client's body, its model replaced, to the preset's Responses path. */
export function nativeResponsesRequest(provider: ProviderConfig, body: Readonly<Json>, model: string): UpstreamRequest {
  const headers = new Headers({ "content-type": "application/json", accept: body.stream === true ? "text/event-stream" : "application/json" });
  if (provider.apiKey !== undefined) {
    if (provider.preset.authHeader === "authorization") headers.set("authorization", `Bearer ${provider.apiKey}`);
    else headers.set(provider.preset.authHeader, provider.apiKey);
  }
  return { url: `${provider.baseUrl}${provider.preset.responsesPath ?? "/responses"}`, init: { method: "POST", headers, body: JSON.stringify({ ...body, model }) } };
}

/**
 * Calls of OpenAI's built-in tools, which OpenAI bills per call beside the tokens (web search,
 * file search, code interpreter containers, image generation): counted from the answer's output
 * items into the usage's billing, so that a call is never free in the meter: priced where the
 * price table has its fee, listed as unpriced otherwise.
 */
/** The tools whose calls those are, as a request offers them (`web_search`, `web_search_preview`, …). */
export const PER_CALL_TOOL = /^(web_search|file_search$|code_interpreter$|image_generation$)/;

const BILLED_CALLS = ["web_search_call", "file_search_call", "code_interpreter_call", "image_generation_call"] as const;

/** What a request offered of OpenAI's built-in tools: whether any (their calls are then counted), and whether its searches are the preview tool's (billed at its own fee). */
export interface OfferedTools {
  readonly builtIn: boolean;
  readonly searchPreview: boolean;
}

export const NO_BUILT_IN_TOOLS: OfferedTools = { builtIn: false, searchPreview: false };

/** `types`: the built-in tool types a request offers. With both search tools, searches bill at the preview's fee: the dearer one, never less than the provider may bill. */
export const offeredTools = (types: readonly string[]): OfferedTools => ({
  builtIn: types.length > 0,
  searchPreview: types.some((t) => t.startsWith("web_search_preview")),
});

function withBuiltInCalls(usage: Usage | null, count: (type: string) => number, offered: OfferedTools): Usage | null {
  if (usage === null) return null;
  const other: Record<string, number> = {};
  let searches = 0;
  for (const type of BILLED_CALLS) {
    const n = count(type);
    if (n === 0) continue;
    if (type === "web_search_call") searches = n;
    else other[type] = n;
  }
  if (searches === 0 && Object.keys(other).length === 0) return usage;
  return { ...usage, billing: { ...usage.billing, ...(searches > 0 && { searches }), ...(searches > 0 && offered.searchPreview && { webSearchPreview: true }), ...(Object.keys(other).length > 0 && { otherUses: { ...usage.billing?.otherUses, ...other } }) } };
}

/** How many output items of `type` a native answer's bytes hold (OpenAI writes `"type":"<type>"` without spaces). */
function countInBytes(bytes: Uint8Array, type: string): number {
  const needle = encoder.encode(`"type":"${type}"`);
  let n = 0;
  for (let i = indexOfBytes(bytes, needle); i !== -1; i = indexOfBytes(bytes, needle, i + needle.length)) n++;
  return n;
}

/**
 * A native answer passes on as its bytes; only its root usage (and the tier it was served at) is
 * read, and, when the request offered built-in tools (`builtInTools`), how many calls they made.
 */
export async function readNativeResponse(upstream: Response, provider: ProviderConfig, offered: OfferedTools): Promise<TranslatedBody> {
  const answer = usageInBody(await readAnswerBytes(upstream), normaliseResponsesUsage, provider.preset.serviceTiers === true);
  if (!offered.builtIn || typeof answer.body === "string") return answer;
  const bytes = answer.body;
  return { ...answer, usage: withBuiltInCalls(answer.usage, (type) => countInBytes(bytes, type), offered) };
}

const TERMINAL = new Set(["response.completed", "response.incomplete", "response.failed"]);

/**
 * The native event stream, relayed byte for byte but for its terminal event, whose usage is read
 * (and given the gateway's cost, `costOf`) and whose response id goes to `onId`; an `error` event seen.
 * `sequence` counts the events relayed (OpenAI numbers them from 0, one each), so an `error` event
 * the gateway adds after a cut continues their numbering.
 */
export interface NativeStreamOptions {
  /** Receives the response's id (null when it has none) from the terminal event. */
  readonly onId?: (id: string | null) => void;
  readonly costOf?: CostOf | undefined;
  readonly sequence?: { next(): number };
  readonly offered?: OfferedTools;
}

export function nativeResponsesStream(options: NativeStreamOptions = {}): StreamTranslator {
  const { onId = () => {}, costOf, sequence, offered = NO_BUILT_IN_TOOLS } = options;
  let usage: Usage | null = null;
  let done = false;
  let inBand: string | null = null;
  /** Built-in calls as each item is announced (small events), for a terminal event too long to read. */
  const announced = new Map<string, number>();
  // A terminal event too long to hold (a response with generated images) is relayed unscanned: its
  // usage, at the end of the response object, is read from the event's tail instead, and its
  // built-in calls are the ones announced.
  const oversized = (name: string, tail: Uint8Array): void => {
    if (name !== "") sequence?.next();
    if (!TERMINAL.has(name)) return;
    done = true;
    for (let i = lastIndexOfBytes(tail, USAGE_KEY); i !== -1; i = i > 0 ? lastIndexOfBytes(tail, USAGE_KEY, i - 1) : -1) {
      const start = usageValueAt(tail, i);
      const end = start === -1 ? -1 : endOfJsonObject(tail, start);
      if (end === -1) continue;
      try {
        usage = normaliseResponsesUsage(JSON.parse(decoder.decode(tail.subarray(start, end))));
      } catch {
        continue;
      }
      if (usage !== null) break;
    }
    usage = withBuiltInCalls(usage, (type) => announced.get(type) ?? 0, offered);
  };
  const relay = nativeRelay((event) => {
    const name = sseEventName(event);
    if (name !== "") sequence?.next();
    if (name === "response.output_item.added") {
      for (const type of BILLED_CALLS) if (event.includes(`"type":"${type}"`)) announced.set(type, (announced.get(type) ?? 0) + 1);
    } else if (TERMINAL.has(name)) {
      const payload = sseEventJson(event);
      const response = isObject(payload) && isObject(payload.response) ? payload.response : {};
      const items = Array.isArray(response.output) ? response.output : [];
      const count = (type: string): number => items.filter((item) => isObject(item) && item.type === type).length;
      usage = withBuiltInCalls(withServiceTier(normaliseResponsesUsage(response.usage), response.service_tier), count, offered);
      done = true;
      onId(typeof response.id === "string" ? response.id : null);
      if (name === "response.failed") {
        const error = isObject(response.error) ? response.error : {};
        inBand = typeof error.message === "string" ? error.message : "The provider reported the response failed";
      }
      // The gateway's cost in the final usage, as in a chat stream's usage chunk: the one event not relayed as it came.
      const cost = usage === null || costOf === undefined ? null : costOf(usage);
      if (cost !== null && isObject(payload) && isObject(response.usage)) {
        response.usage.cost = cost;
        return `event: ${name}\ndata: ${JSON.stringify(payload)}\n\n`;
      }
    } else if (name === "error") {
      const payload = sseEventJson(event);
      inBand = isObject(payload) && typeof payload.message === "string" ? payload.message : "The provider reported an error mid-stream";
      done = true;
    }
  }, oversized);
  return {
    push: relay.push,
    end: relay.end,
    discardPartial: relay.discardPartial,
    usage: () => usage,
    inBandError: () => inBand,
    completed: () => done || /^event:\s*response\.(completed|incomplete|failed)\b/m.test(relay.heldText()),
  };
}
