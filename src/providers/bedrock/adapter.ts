import { readAnswerBytes } from "../answer-body.ts";
import type { ProviderAdapter, ProviderConfig, TranslatedBody, UpstreamErrorDetail, UpstreamRequest } from "../types.ts";
import { readBedrockError } from "./errors.ts";
import { EventStreamError, decodeMessage, messageLength } from "./event-stream.ts";
import { claudeModel, requestedTier, toConverseRequest } from "./request.ts";
import { maxOutputTokens } from "../anthropic/models.ts";
import { fromConverseResponse } from "./response.ts";
import { signRequest } from "./sigv4.ts";
import { converseStream, frameError } from "./stream.ts";

const nowSeconds = (): number => Math.floor(Date.now() / 1000);

/**
 * The model's id back from a Converse URL (`…/model/<id>/converse`): Converse
 * answers do not name it, and `readChatResponse` is not handed the request.
 * An answer whose URL is empty or unparseable (not from `fetch`) is still an
 * answer: it is named after the provider rather than failed.
 */
function modelFromUrl(url: string): string {
  const match = /\/model\/([^/?#]+)\/converse(?:-stream)?(?:[?#]|$)/.exec(url);
  if (match?.[1] === undefined) return "bedrock";
  try {
    return decodeURIComponent(match[1]);
  } catch {
    return match[1]; // a malformed escape: the id as it travelled
  }
}

/**
 * Signs with the provider's access key (SigV4, service `bedrock`), or sends its
 * Bedrock API key as a bearer token; a bearer key wins when both are set.
 */
async function authorise(provider: ProviderConfig, url: URL, headers: Headers, body: string): Promise<void> {
  if (provider.apiKey !== undefined) {
    headers.set("authorization", `Bearer ${provider.apiKey}`);
    return;
  }
  const { ACCESS_KEY_ID: accessKeyId, SECRET_ACCESS_KEY: secretAccessKey, SESSION_TOKEN: sessionToken, REGION: region } = provider.credentials;
  if (accessKeyId === undefined || secretAccessKey === undefined || region === undefined) return; // unsigned: Bedrock answers 403
  await signRequest({ method: "POST", url, headers, body, region, service: "bedrock", now: new Date() }, { accessKeyId, secretAccessKey, sessionToken });
}

/** The detail of a stream's first frame, or of framing too broken to read. */
function firstFrameError(frame: Uint8Array): UpstreamErrorDetail | null {
  try {
    const length = messageLength(frame);
    if (length === null || length > frame.byteLength) return { message: "its event stream was cut short inside a frame", type: null, code: "bad_event_stream", param: null };
    return frameError(decodeMessage(frame, 0, length));
  } catch (err) {
    const why = err instanceof EventStreamError ? err.message : String(err);
    return { message: `its event stream is corrupted (${why})`, type: null, code: "bad_event_stream", param: null };
  }
}

/**
 * The native Bedrock adapter: OpenAI Chat Completions in and out, the Converse
 * API (and ConverseStream's binary event stream) on the wire.
 */
export const bedrockAdapter: ProviderAdapter = {
  // Claude on Bedrock: Converse's default cap is the model's maximum, so the gateway always sends the one it reserved.
  outputCeiling(model) {
    const claude = claudeModel(model);
    return claude === null ? undefined : maxOutputTokens(claude);
  },

  requestedServiceTier: (_provider, body) => requestedTier(body),

  async chatRequest(provider, call): Promise<UpstreamRequest> {
    const body = JSON.stringify(toConverseRequest(call.body, call.upstreamModel, call.outputCap));
    const url = new URL(`${provider.baseUrl}/model/${encodeURIComponent(call.upstreamModel)}/${call.stream ? "converse-stream" : "converse"}`);
    const headers = new Headers({
      "content-type": "application/json",
      accept: call.stream ? "application/vnd.amazon.eventstream" : "application/json",
    });
    await authorise(provider, url, headers, body);
    return { url: url.href, init: { method: "POST", headers, body } };
  },

  embeddingsRequest(provider) {
    // Converse has no embeddings (Bedrock's are model-specific InvokeModel bodies); the planner never sends them here.
    throw new Error(`the provider '${provider.name}' has no embeddings API`);
  },

  async readChatResponse(upstream): Promise<TranslatedBody> {
    const parsed: unknown = JSON.parse(new TextDecoder().decode(await readAnswerBytes(upstream)));
    if (typeof parsed !== "object" || parsed === null) throw new Error("the answer is not a JSON object");
    const requestId = upstream.headers.get("x-amzn-requestid");
    const id = `chatcmpl-${requestId ?? crypto.randomUUID()}`;
    const { completion, usage } = fromConverseResponse(parsed as Record<string, unknown>, { id, model: modelFromUrl(upstream.url), created: nowSeconds() });
    return { body: JSON.stringify(completion), usage };
  },

  readEmbeddingsResponse() {
    return Promise.reject(new Error("Bedrock's Converse API has no embeddings"));
  },

  chatStream(_provider, options) {
    return converseStream({ clientWantsUsage: options.clientWantsUsage, created: nowSeconds(), model: options.model, costOf: options.costOf, id: `chatcmpl-${crypto.randomUUID()}` });
  },

  readError: readBedrockError,

  // Binary frames, not SSE: the commit point asks `firstStreamEvent` instead.
  isStreamPreamble: () => false,

  firstStreamEvent(head) {
    let offset = 0;
    for (;;) {
      let length: number | null;
      try {
        length = messageLength(head, offset);
      } catch {
        return head.subarray(offset); // broken framing: `streamError` reports it
      }
      if (length === null || head.byteLength - offset < length) return null;
      const frame = head.subarray(offset, offset + length);
      // messageStart opens every answer without content: an exception after it still fails over.
      try {
        const message = decodeMessage(head, offset, length);
        if (message.headers.get(":message-type") !== "event" || message.headers.get(":event-type") !== "messageStart") return frame;
      } catch {
        return frame;
      }
      offset += length;
    }
  },

  streamError: firstFrameError,
};
