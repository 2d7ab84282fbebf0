import { decoder } from "../../streaming/bytes.ts";
import { sseEventJson } from "../../streaming/sse.ts";
import { readAnswerBytes } from "../answer-body.ts";
import { openAICompatibleAdapter } from "../openai-compatible/adapter.ts";
import type { ProviderAdapter, TranslatedBody, UpstreamRequest } from "../types.ts";
import { maxOutputTokens, supportsStructuredOutputs, supportsThinking } from "./models.ts";
import { anthropicHeaders } from "./native.ts";
import { toAnthropicRequest } from "./request.ts";
import { fromAnthropicResponse } from "./response.ts";
import { anthropicStream } from "./stream.ts";

const nowSeconds = (): number => Math.floor(Date.now() / 1000);

/**
 * The native Anthropic adapter: OpenAI Chat Completions in and out, the
 * Messages API on the wire. Errors have the same `{"error":{type,message}}`
 * core as OpenAI's, so reading them is shared.
 */
export const anthropicAdapter: ProviderAdapter = {
  // Anthropic requires max_tokens and refuses one above the model's ceiling.
  outputCeiling: maxOutputTokens,

  chatRequest(provider, call): UpstreamRequest {
    const body = toAnthropicRequest(call.body, {
      model: call.upstreamModel,
      defaultMaxTokens: call.outputCap,
      stream: call.stream,
      supportsThinking: supportsThinking(call.upstreamModel),
      supportsStructuredOutputs: supportsStructuredOutputs(call.upstreamModel),
    });
    return { url: `${provider.baseUrl}/messages`, init: { method: "POST", headers: anthropicHeaders(provider, call.stream), body: JSON.stringify(body) } };
  },

  embeddingsRequest(provider) {
    // The planner never sends embeddings to a preset without them; this guards a future mistake.
    throw new Error(`the provider '${provider.name}' has no embeddings API`);
  },

  async readChatResponse(upstream): Promise<TranslatedBody> {
    const message: unknown = JSON.parse(new TextDecoder().decode(await readAnswerBytes(upstream)));
    if (typeof message !== "object" || message === null) throw new Error("the answer is not a JSON object");
    const { completion, usage } = fromAnthropicResponse(message as Record<string, unknown>, nowSeconds());
    return { body: JSON.stringify(completion), usage };
  },

  readEmbeddingsResponse() {
    return Promise.reject(new Error("Anthropic has no embeddings API"));
  },

  chatStream(_provider, options) {
    return anthropicStream({ clientWantsUsage: options.clientWantsUsage, created: nowSeconds(), costOf: options.costOf });
  },

  readError: openAICompatibleAdapter.readError,

  isStreamPreamble(event) {
    const payload = sseEventJson(event);
    const type = typeof payload === "object" && payload !== null ? (payload as Record<string, unknown>).type : undefined;
    return type === "message_start" || type === "ping";
  },

  streamError(firstEvent) {
    const payload = sseEventJson(decoder.decode(firstEvent));
    if (typeof payload !== "object" || payload === null || (payload as Record<string, unknown>).type !== "error") return null;
    const error = (payload as Record<string, unknown>).error;
    const e = typeof error === "object" && error !== null ? (error as Record<string, unknown>) : {};
    const type = typeof e.type === "string" ? e.type : null;
    return { message: typeof e.message === "string" ? e.message : "Anthropic reported an error", type, code: type, param: null };
  },
};
