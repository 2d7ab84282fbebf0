import { nativeRelay, sseEventName } from "../../streaming/native-relay.ts";
import { sseEventJson } from "../../streaming/sse.ts";
import { readAnswerBytes } from "../answer-body.ts";
import { isObject, type Json } from "../json.ts";
import { usageInBody } from "../openai-compatible/usage-in-body.ts";
import type { ProviderConfig, StreamTranslator, TranslatedBody, UpstreamRequest } from "../types.ts";
import { mergeCounts } from "../usage.ts";
import { normaliseAnthropicUsage } from "./usage.ts";

/** The Messages API version the gateway speaks to Anthropic. */
export const ANTHROPIC_VERSION = "2023-06-01";

export function anthropicHeaders(provider: ProviderConfig, stream: boolean): Headers {
  const headers = new Headers({
    "content-type": "application/json",
    accept: stream ? "text/event-stream" : "application/json",
    "anthropic-version": ANTHROPIC_VERSION,
  });
  if (provider.apiKey !== undefined) headers.set("x-api-key", provider.apiKey);
  return headers;
}

/**
 * A /v1/messages request served by Anthropic itself goes through untranslated
 * (DESIGN: never translate twice): the client's body with only `model`
 * replaced, and its `anthropic-beta` flags, which opt into features by name.
 */
/** How the client called: its beta flags (`anthropic-beta`), whether it used the SDK's beta endpoint (`?beta=true`), and which endpoint. */
export interface NativeCall {
  readonly beta: string | null;
  readonly betaQuery: boolean;
  readonly path: "/messages" | "/messages/count_tokens";
}

export function nativeMessagesRequest(provider: ProviderConfig, body: Readonly<Json>, model: string, call: NativeCall): UpstreamRequest {
  const headers = anthropicHeaders(provider, body.stream === true);
  if (call.beta !== null) headers.set("anthropic-beta", call.beta);
  const messages = withoutUnsignedThinking(body.messages);
  // The beta endpoint's marker goes along: the request reaches Anthropic as the client sent it.
  const url = `${provider.baseUrl}${call.path}${call.betaQuery ? "?beta=true" : ""}`;
  return { url, init: { method: "POST", headers, body: JSON.stringify({ ...body, model, messages }) } };
}

/** The native call a client's request asks for. */
export const nativeCallOf = (req: { header(name: string): string | undefined; query(name: string): string | undefined }, path: NativeCall["path"]): NativeCall => ({
  beta: req.header("anthropic-beta") ?? null,
  betaQuery: req.query("beta") === "true",
  path,
});

const unsigned = (block: unknown): block is Json =>
  isObject(block) && block.type === "thinking" && (typeof block.signature !== "string" || block.signature.length === 0);

/**
 * An earlier answer from another provider (through this gateway's translation)
 * carries its reasoning as a thinking block without a signature, which
 * Anthropic refuses with a 400 even with thinking off. Such blocks become text
 * where they are all the message has, and are dropped otherwise.
 */
function withoutUnsignedThinking(messages: unknown): unknown {
  if (!Array.isArray(messages)) return messages;
  let changed = false;
  const out = messages.map((m: unknown) => {
    if (!isObject(m) || m.role !== "assistant" || !Array.isArray(m.content) || !m.content.some(unsigned)) return m;
    changed = true;
    const kept = m.content.filter((b) => !unsigned(b));
    const asText = m.content.filter(unsigned).map((b) => ({ type: "text", text: String(b.thinking ?? "") }));
    return { ...m, content: kept.length > 0 ? kept : asText };
  });
  return changed ? out : messages;
}

/** A native answer passes on as its bytes; only its usage (at the end of the message) is read. */
export async function readNativeMessage(upstream: Response): Promise<TranslatedBody> {
  return usageInBody(await readAnswerBytes(upstream), normaliseAnthropicUsage);
}

/**
 * A native Anthropic stream relayed byte for byte (streaming/native-relay.ts).
 * Alongside, the few events carrying usage (`message_start`, `message_delta`)
 * are parsed, and the end (`message_stop`, or an `error` event, already in
 * the client's format) is seen.
 */
export function nativeMessagesStream(): StreamTranslator {
  const raw: Json = {};
  let done = false;
  let inBand: string | null = null;
  const merge = (usage: unknown): void => mergeCounts(raw, usage);

  const relay = nativeRelay((event) => {
    const name = sseEventName(event);
    if (name === "message_start") {
      const payload = sseEventJson(event);
      if (isObject(payload) && isObject(payload.message)) merge(payload.message.usage);
    } else if (name === "message_delta") {
      const payload = sseEventJson(event);
      if (isObject(payload)) merge(payload.usage);
    } else if (name === "message_stop") done = true;
    else if (name === "error") {
      const payload = sseEventJson(event);
      const error = isObject(payload) && isObject(payload.error) ? payload.error : {};
      inBand = typeof error.message === "string" ? error.message : "Anthropic reported an error mid-stream";
      done = true;
    }
  });

  return {
    push: relay.push,
    end: relay.end,
    discardPartial: relay.discardPartial,
    usage: () => normaliseAnthropicUsage(raw),
    inBandError: () => inBand,
    completed: () => done || /^event:\s*message_stop\b/m.test(relay.heldText()),
  };
}
