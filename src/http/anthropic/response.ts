import { isObject, type Json } from "../../providers/json.ts";
import type { Usage } from "../../providers/types.ts";

/**
 * OpenAI answers → Anthropic Messages answers, for clients of /v1/messages whose
 * request a non-Anthropic provider served.
 */

/** OpenAI `finish_reason` → Anthropic `stop_reason`. */
export function stopReason(finish: unknown): string {
  switch (finish) {
    case "length":
      return "max_tokens";
    case "tool_calls":
    case "function_call":
      return "tool_use";
    case "content_filter":
      return "refusal";
    default:
      return "end_turn";
  }
}

/**
 * Normalised usage → Anthropic's: Anthropic counts cache reads and writes apart
 * from `input_tokens`, so they are taken back out of the normalised prompt count.
 */
export function anthropicUsage(usage: Usage | null): Json {
  if (usage === null) return { input_tokens: 0, output_tokens: 0 };
  const cacheRead = usage.prompt_tokens_details?.cached_tokens ?? 0;
  const cacheWrite = usage.prompt_tokens_details?.cache_write_tokens ?? 0;
  return {
    input_tokens: Math.max(0, usage.prompt_tokens - cacheRead - cacheWrite),
    output_tokens: usage.completion_tokens,
    cache_read_input_tokens: cacheRead,
    cache_creation_input_tokens: cacheWrite,
  };
}

/** Anthropic message ids start `msg_`; the provider's id is kept inside it so the two can be matched in logs. */
export function messageId(id: unknown): string {
  if (typeof id !== "string" || id.length === 0) return `msg_${crypto.randomUUID().replaceAll("-", "")}`;
  return id.startsWith("msg_") ? id : `msg_${id}`;
}

/** Tool-call arguments are a JSON string in OpenAI and an object in Anthropic; a broken string is kept visible, not dropped. */
export function toolInput(args: unknown): unknown {
  if (typeof args !== "string" || args.trim().length === 0) return {};
  try {
    const parsed: unknown = JSON.parse(args);
    return isObject(parsed) ? parsed : { value: parsed };
  } catch {
    return { _unparsed_arguments: args };
  }
}

export function openAIToAnthropicMessage(completion: Json, usage: Usage | null, requestedModel: string): Json {
  const choice = Array.isArray(completion.choices) && isObject(completion.choices[0]) ? completion.choices[0] : {};
  const message = isObject(choice.message) ? choice.message : {};
  const content: Json[] = [];
  const reasoning = message.reasoning_content ?? message.reasoning;
  if (typeof reasoning === "string" && reasoning.length > 0) content.push({ type: "thinking", thinking: reasoning, signature: "" });
  if (typeof message.content === "string" && message.content.length > 0) content.push({ type: "text", text: message.content });
  else if (typeof message.refusal === "string" && message.refusal.length > 0) content.push({ type: "text", text: message.refusal });
  if (Array.isArray(message.tool_calls)) {
    for (const call of message.tool_calls) {
      if (!isObject(call) || !isObject(call.function)) continue;
      content.push({ type: "tool_use", id: call.id, name: call.function.name, input: toolInput(call.function.arguments) });
    }
  }
  return {
    id: messageId(completion.id),
    type: "message",
    role: "assistant",
    model: typeof completion.model === "string" ? completion.model : requestedModel,
    content,
    // Some providers end a turn with tool calls as "stop": the client's tool loop keys on tool_use.
    stop_reason: content.some((b) => b.type === "tool_use") && choice.finish_reason !== "length" ? "tool_use" : stopReason(choice.finish_reason),
    stop_sequence: null,
    usage: anthropicUsage(usage),
  };
}
