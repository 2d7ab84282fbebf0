import { clientUsage } from "../usage.ts";
import { isObject, type Json } from "../json.ts";
import type { Usage } from "../types.ts";
import { readParts } from "./parts.ts";
import { failureWithoutAnswer, finishReason, normaliseGeminiUsage } from "./usage.ts";

/**
 * A `GenerateContentResponse` → an OpenAI `chat.completion`, one choice per
 * candidate, with normalised usage. Throws when a candidate failed without an
 * answer (MALFORMED_FUNCTION_CALL, …): the gateway answers 502.
 */
export function fromGeminiResponse(response: Json, created: number): { completion: Json; usage: Usage | null } {
  const responseId = typeof response.responseId === "string" ? response.responseId : `gemini-${created}`;
  const candidates = Array.isArray(response.candidates) ? response.candidates.filter(isObject) : [];
  const choices = candidates.map((candidate, position) => {
    const index = typeof candidate.index === "number" ? candidate.index : position;
    const { text, reasoning, toolCalls } = readParts(candidate.content, { responseId, candidate: index, firstCall: 0 });
    const failure = failureWithoutAnswer(candidate, text.length > 0 || toolCalls.length > 0);
    if (failure !== null) throw new Error(failure);
    const finish = finishReason(candidate.finishReason, toolCalls.length > 0) ?? "stop";
    // No text because of a tool call or a filter is null content, as OpenAI sends it; otherwise an empty answer is "".
    const empty = toolCalls.length > 0 || finish === "content_filter" ? null : "";
    const message: Json = { role: "assistant", content: text.length > 0 ? text : empty, refusal: null };
    if (reasoning.length > 0) message.reasoning_content = reasoning;
    if (toolCalls.length > 0) message.tool_calls = toolCalls;
    return { index, message, logprobs: null, finish_reason: finish };
  });
  // A prompt blocked outright has no candidates, only promptFeedback.blockReason.
  if (choices.length === 0) {
    choices.push({ index: 0, message: { role: "assistant", content: null, refusal: null }, logprobs: null, finish_reason: "content_filter" });
  }
  const usage = normaliseGeminiUsage(response.usageMetadata);
  const completion: Json = {
    id: responseId,
    object: "chat.completion",
    created,
    model: typeof response.modelVersion === "string" ? response.modelVersion : null,
    choices,
  };
  if (usage !== null) completion.usage = clientUsage(usage);
  return { completion, usage };
}
