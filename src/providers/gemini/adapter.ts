import { decoder } from "../../streaming/bytes.ts";
import { sseEventJson } from "../../streaming/sse.ts";
import { readAnswerBytes } from "../answer-body.ts";
import { isObject, type Json } from "../json.ts";
import type { ProviderAdapter, ProviderConfig, UpstreamRequest } from "../types.ts";
import { fromGeminiEmbeddings, toGeminiEmbeddings } from "./embeddings.ts";
import { readGeminiError } from "./errors.ts";
import { firstEventError } from "./first-event.ts";
import { bareModel } from "./models.ts";
import { toGeminiRequest } from "./request.ts";
import { fromGeminiResponse } from "./response.ts";
import { geminiStream } from "./stream.ts";

const nowSeconds = (): number => Math.floor(Date.now() / 1000);

/** `gemini-2.5-flash` or `models/gemini-2.5-flash` → the method URL. */
function methodUrl(provider: ProviderConfig, model: string, method: string): string {
  return `${provider.baseUrl}/models/${encodeURIComponent(bareModel(model))}:${method}`;
}

/** The key goes in `x-goog-api-key`, never in the URL's `key=`: URLs end up in logs. */
function post(provider: ProviderConfig, url: string, body: Json, accept: string): UpstreamRequest {
  const headers = new Headers({ "content-type": "application/json", accept });
  if (provider.apiKey !== undefined) headers.set("x-goog-api-key", provider.apiKey);
  return { url, init: { method: "POST", headers, body: JSON.stringify(body) } };
}

async function readJson(upstream: Response): Promise<Json> {
  const parsed: unknown = JSON.parse(new TextDecoder().decode(await readAnswerBytes(upstream)));
  if (!isObject(parsed)) throw new Error("the answer is not a JSON object");
  return parsed;
}

/**
 * The native Gemini adapter (Google AI Studio, Generative Language API v1beta):
 * OpenAI Chat Completions and embeddings in and out, `generateContent`,
 * `streamGenerateContent?alt=sse` and `batchEmbedContents` on the wire.
 */
export const geminiAdapter: ProviderAdapter = {
  chatRequest(provider, call) {
    const body = toGeminiRequest(call.body, call.upstreamModel);
    if (!call.stream) return post(provider, methodUrl(provider, call.upstreamModel, "generateContent"), body, "application/json");
    return post(provider, `${methodUrl(provider, call.upstreamModel, "streamGenerateContent")}?alt=sse`, body, "text/event-stream");
  },

  embeddingsRequest(provider, call) {
    const body = toGeminiEmbeddings(call.body, bareModel(call.upstreamModel));
    return post(provider, methodUrl(provider, call.upstreamModel, "batchEmbedContents"), body, "application/json");
  },

  async readChatResponse(upstream) {
    const { completion, usage } = fromGeminiResponse(await readJson(upstream), nowSeconds());
    return { body: JSON.stringify(completion), usage };
  },

  async readEmbeddingsResponse(upstream, call) {
    const list = fromGeminiEmbeddings(await readJson(upstream), call.upstreamModel, {
      base64: call.body.encoding_format === "base64",
      truncated: typeof call.body.dimensions === "number",
    });
    return { body: JSON.stringify(list), usage: null };
  },

  chatStream(_provider, options) {
    return geminiStream({ clientWantsUsage: options.clientWantsUsage, created: nowSeconds(), costOf: options.costOf });
  },

  readError: readGeminiError,

  // Every Gemini event carries content (or the answer's end): none is preamble.
  isStreamPreamble: () => false,

  streamError(firstEvent) {
    return firstEventError(sseEventJson(decoder.decode(firstEvent)));
  },
};
