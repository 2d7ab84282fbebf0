import { clientUsage } from "../usage.ts";
import { isObject, type Json } from "../json.ts";
import type { Usage } from "../types.ts";
import { finishReason, normaliseConverseUsage } from "./usage.ts";

/**
 * A Converse response → an OpenAI `chat.completion`, with normalised usage.
 * Converse answers carry no id or model: the id comes from the request id
 * Bedrock sends as a header, the model from the request.
 */
export function fromConverseResponse(response: Json, meta: { id: string; model: string; created: number }): { completion: Json; usage: Usage | null } {
  let text = "";
  let reasoning = "";
  const toolCalls: Json[] = [];
  const output = isObject(response.output) ? response.output : {};
  const message = isObject(output.message) ? output.message : {};
  for (const block of Array.isArray(message.content) ? message.content : []) {
    if (!isObject(block)) continue;
    if (typeof block.text === "string") text += block.text;
    else if (isObject(block.toolUse)) {
      const use = block.toolUse;
      toolCalls.push({ id: use.toolUseId, type: "function", function: { name: use.name, arguments: JSON.stringify(use.input ?? {}) } });
    } else if (isObject(block.reasoningContent) && isObject(block.reasoningContent.reasoningText)) {
      const r = block.reasoningContent.reasoningText;
      if (typeof r.text === "string") reasoning += r.text;
    }
  }
  const assistant: Json = { role: "assistant", content: text.length > 0 || toolCalls.length === 0 ? text : null, refusal: null };
  if (reasoning.length > 0) assistant.reasoning_content = reasoning;
  if (toolCalls.length > 0) assistant.tool_calls = toolCalls;
  const usage = normaliseConverseUsage(response.usage, response);
  const completion: Json = {
    id: meta.id,
    object: "chat.completion",
    created: meta.created,
    model: meta.model,
    choices: [{ index: 0, message: assistant, logprobs: null, finish_reason: finishReason(response.stopReason) ?? "stop" }],
  };
  if (usage !== null) completion.usage = clientUsage(usage);
  return { completion, usage };
}
