import { isObject, type Json } from "../../providers/json.ts";
import { invalidRequest } from "../errors.ts";

/**
 * An Anthropic Messages request → the gateway's canonical OpenAI Chat
 * Completions body, for targets that are not Anthropic (an Anthropic target gets
 * the client's body natively). Features other providers cannot honour are
 * refused with a 400 naming them; settings that only tune Anthropic's own
 * service (`service_tier`, `context_management`, `thinking` signatures) are
 * dropped, since the answer means the same without them.
 */

/** Anthropic tool types that run on Anthropic's side (web search, code execution, …): no other provider has them. */
const isServerTool = (tool: Json): boolean => typeof tool.type === "string" && tool.type !== "custom";

/** `thinking.budget_tokens` → the nearest OpenAI `reasoning_effort`. */
function reasoningEffort(thinking: unknown): string | undefined {
  if (!isObject(thinking)) return undefined;
  if (thinking.type === "adaptive") return "medium";
  if (thinking.type !== "enabled") return undefined;
  const budget = typeof thinking.budget_tokens === "number" ? thinking.budget_tokens : 0;
  return budget <= 2048 ? "low" : budget <= 12_000 ? "medium" : "high";
}

function imagePart(source: unknown, at: string): Json {
  if (isObject(source) && source.type === "base64" && typeof source.data === "string") {
    return { type: "image_url", image_url: { url: `data:${String(source.media_type)};base64,${source.data}` } };
  }
  if (isObject(source) && source.type === "url" && typeof source.url === "string") {
    return { type: "image_url", image_url: { url: source.url } };
  }
  throw invalidRequest(`${at}: only base64 and url image sources can be sent to this model's provider.`, at, "unsupported_content");
}

function documentPart(source: unknown, at: string): Json {
  if (isObject(source) && source.type === "base64" && typeof source.data === "string") {
    return { type: "file", file: { file_data: `data:${String(source.media_type)};base64,${source.data}` } };
  }
  if (isObject(source) && source.type === "text" && typeof source.data === "string") return { type: "text", text: source.data };
  throw invalidRequest(`${at}: only base64 and plain-text documents can be sent to this model's provider.`, at, "unsupported_content");
}

/** A user-side content block → an OpenAI content part (cache_control rides along: the Anthropic adapter reads it). */
function userPart(block: Json, at: string): Json | null {
  const cache = block.cache_control === undefined ? {} : { cache_control: block.cache_control };
  switch (block.type) {
    case "text":
      return { type: "text", text: block.text, ...cache };
    case "image":
      return { ...imagePart(block.source, at), ...cache };
    case "document":
      return { ...documentPart(block.source, at), ...cache };
    default:
      throw invalidRequest(`${at}: content blocks of type '${String(block.type)}' can only be sent to Anthropic models.`, at, "unsupported_content");
  }
}

/** A tool_result's content (a string or text/image blocks) → an OpenAI tool message's content. */
function toolResultContent(content: unknown, isError: boolean, at: string): string | Json[] {
  const prefix = isError ? "Error: " : "";
  if (typeof content === "string" || content === undefined) return prefix + (content ?? "");
  if (!Array.isArray(content)) throw invalidRequest(`${at}.content must be a string or an array of blocks.`, at);
  const parts = content.map((b: unknown, i) => (isObject(b) ? userPart(b, `${at}.content.${i}`) : null)).filter((p) => p !== null);
  if (parts.every((p) => p.type === "text")) return prefix + parts.map((p) => String(p.text)).join("\n");
  return isError ? [{ type: "text", text: "Error:" }, ...parts] : parts;
}

function userMessages(content: unknown, at: string): Json[] {
  if (typeof content === "string") return [{ role: "user", content }];
  const out: Json[] = [];
  const parts: Json[] = [];
  (content as unknown[]).forEach((block, i) => {
    const where = `${at}.content.${i}`;
    if (!isObject(block)) throw invalidRequest(`${where} must be a content block object.`, where);
    if (block.type === "tool_result") {
      // OpenAI wants tool results as their own messages, right after the assistant's call.
      out.push({ role: "tool", tool_call_id: block.tool_use_id, content: toolResultContent(block.content, block.is_error === true, where) });
      return;
    }
    const part = userPart(block, where);
    if (part !== null) parts.push(part);
  });
  if (parts.length > 0) out.push({ role: "user", content: parts });
  return out;
}

function assistantMessage(content: unknown, at: string): Json {
  if (typeof content === "string") return { role: "assistant", content };
  const text: string[] = [];
  const toolCalls: Json[] = [];
  (content as unknown[]).forEach((block, i) => {
    const where = `${at}.content.${i}`;
    if (!isObject(block)) throw invalidRequest(`${where} must be a content block object.`, where);
    if (block.type === "text" && typeof block.text === "string") text.push(block.text);
    else if (block.type === "tool_use") {
      toolCalls.push({ id: block.id, type: "function", function: { name: block.name, arguments: JSON.stringify(block.input ?? {}) } });
    } else if (block.type !== "thinking" && block.type !== "redacted_thinking") {
      // Thinking is signed for Anthropic alone and means nothing to another provider; anything else cannot be carried.
      throw invalidRequest(`${where}: assistant blocks of type '${String(block.type)}' can only be sent to Anthropic models.`, where, "unsupported_content");
    }
  });
  const message: Json = { role: "assistant", content: text.length > 0 ? text.join("") : null };
  if (toolCalls.length > 0) message.tool_calls = toolCalls;
  return message;
}

function systemMessage(system: unknown): Json | null {
  if (typeof system === "string") return system.length > 0 ? { role: "system", content: system } : null;
  if (!Array.isArray(system) || system.length === 0) return null;
  return { role: "system", content: system.map((block: unknown, i) => (isObject(block) ? userPart(block, `system.${i}`) : null)).filter((p) => p !== null) };
}

function tools(list: unknown): Json[] | undefined {
  if (!Array.isArray(list)) return undefined;
  return list.map((tool: unknown, i) => {
    if (!isObject(tool) || isServerTool(tool)) {
      const type = isObject(tool) ? String(tool.type) : typeof tool;
      throw invalidRequest(`tools.${i}: the tool type '${type}' runs on Anthropic's servers and can only be used with Anthropic models.`, `tools.${i}`, "unsupported_tool");
    }
    const fn: Json = { name: tool.name, parameters: tool.input_schema ?? { type: "object" } };
    if (typeof tool.description === "string") fn.description = tool.description;
    return { type: "function", function: fn };
  });
}

function toolChoice(choice: unknown, out: Json): void {
  if (!isObject(choice)) return;
  if (choice.disable_parallel_tool_use === true) out.parallel_tool_calls = false;
  if (choice.type === "auto") out.tool_choice = "auto";
  else if (choice.type === "any") out.tool_choice = "required";
  else if (choice.type === "none") out.tool_choice = "none";
  else if (choice.type === "tool") out.tool_choice = { type: "function", function: { name: choice.name } };
}

const ANTHROPIC_ONLY = ["mcp_servers", "container"] as const;

/** The canonical body for a translated target. `maxTokensField` is what the target's API calls the output cap. */
export function anthropicToOpenAI(body: Readonly<Json>, maxTokensField: "max_tokens" | "max_completion_tokens"): Json {
  for (const field of ANTHROPIC_ONLY) {
    if (body[field] !== undefined) throw invalidRequest(`'${field}' is an Anthropic feature; it can only be used with Anthropic models.`, field, "unsupported_parameter");
  }
  const messages: Json[] = [];
  const system = systemMessage(body.system);
  if (system !== null) messages.push(system);
  (body.messages as unknown[]).forEach((message, i) => {
    const m = message as Json;
    if (m.role === "assistant") messages.push(assistantMessage(m.content, `messages.${i}`));
    else messages.push(...userMessages(m.content, `messages.${i}`));
  });
  const out: Json = { model: body.model, messages, [maxTokensField]: body.max_tokens };
  if (typeof body.temperature === "number") out.temperature = body.temperature;
  if (typeof body.top_p === "number") out.top_p = body.top_p;
  if (Array.isArray(body.stop_sequences) && body.stop_sequences.length > 0) out.stop = body.stop_sequences;
  const translatedTools = tools(body.tools);
  if (translatedTools !== undefined && translatedTools.length > 0) {
    out.tools = translatedTools;
    toolChoice(body.tool_choice, out);
  }
  const effort = reasoningEffort(body.thinking);
  if (effort !== undefined) out.reasoning_effort = effort;
  if (isObject(body.metadata) && typeof body.metadata.user_id === "string") out.user = body.metadata.user_id;
  if (body.stream === true) {
    out.stream = true;
    out.stream_options = { include_usage: true }; // message_delta reports usage at the end
  }
  return out;
}
