import { clientUsage } from "../usage.ts";
import type { Usage } from "../types.ts";
import { finishReason, normaliseAnthropicUsage } from "./usage.ts";

import type { Json } from "../json.ts";

/** An Anthropic Messages response → an OpenAI `chat.completion`, with normalised usage. */
export function fromAnthropicResponse(message: Json, created: number): { completion: Json; usage: Usage | null } {
  let text = "";
  let reasoning = "";
  const toolCalls: Json[] = [];
  const thinkingBlocks: Json[] = [];
  for (const block of Array.isArray(message.content) ? message.content : []) {
    if (typeof block !== "object" || block === null) continue;
    const b = block as Json;
    if (b.type === "text" && typeof b.text === "string") text += b.text;
    else if (b.type === "thinking" && typeof b.thinking === "string") {
      reasoning += b.thinking;
      thinkingBlocks.push({ type: "thinking", thinking: b.thinking, signature: b.signature });
    } else if (b.type === "redacted_thinking") thinkingBlocks.push({ type: "redacted_thinking", data: b.data });
    else if (b.type === "tool_use") {
      toolCalls.push({ id: b.id, type: "function", function: { name: b.name, arguments: JSON.stringify(b.input ?? {}) } });
    }
  }
  const assistant: Json = { role: "assistant", content: text.length > 0 || toolCalls.length === 0 ? text : null, refusal: null };
  if (reasoning.length > 0) assistant.reasoning_content = reasoning;
  // Signed thinking, for the client to send back with this message: Anthropic requires it before a tool result when thinking is on.
  if (thinkingBlocks.length > 0) assistant.thinking_blocks = thinkingBlocks;
  if (toolCalls.length > 0) assistant.tool_calls = toolCalls;
  const usage = normaliseAnthropicUsage(message.usage);
  const completion: Json = {
    id: typeof message.id === "string" ? message.id : `chatcmpl-${created}`,
    object: "chat.completion",
    created,
    model: message.model,
    choices: [{ index: 0, message: assistant, logprobs: null, finish_reason: finishReason(message.stop_reason) ?? "stop" }],
  };
  if (usage !== null) completion.usage = clientUsage(usage);
  return { completion, usage };
}
