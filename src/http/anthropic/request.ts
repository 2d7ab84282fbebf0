import { isObject, type Json } from "../../providers/json.ts";
import type { ChatTarget } from "../chat-target.ts";
import { invalidRequest } from "../errors.ts";

/**
 * An Anthropic Messages request → the gateway's canonical OpenAI Chat
 * Completions body, for targets that are not Anthropic (an Anthropic target gets
 * the client's body natively). Features other providers cannot honour are
 * refused with a 400 naming them; settings that only tune Anthropic's own
 * service (`service_tier`, `context_management`, `cache_control`, `top_k`,
 * signed `thinking` blocks) are dropped, since the answer means the same
 * without them.
 */

/** Anthropic tool types that run on Anthropic's side (web search, code execution, …): no other provider has them. */
const isServerTool = (tool: Json): boolean => typeof tool.type === "string" && tool.type !== "custom";

/** `output_config.effort` (Claude Code sends it), else `thinking.budget_tokens` → the nearest OpenAI `reasoning_effort`. */
function reasoningEffort(thinking: unknown, outputConfig: unknown): string | undefined {
  const effort = isObject(outputConfig) ? outputConfig.effort : undefined;
  if (effort === "low" || effort === "medium" || effort === "high") return effort;
  if (effort === "max") return "high";
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

function documentPart(block: Json, at: string): Json {
  const source = block.source;
  if (isObject(source) && source.type === "base64" && typeof source.data === "string") {
    // OpenAI requires a filename with inline file data.
    const filename = typeof block.title === "string" && block.title.length > 0 ? block.title : "document.pdf";
    return { type: "file", file: { filename, file_data: `data:${String(source.media_type)};base64,${source.data}` } };
  }
  if (isObject(source) && source.type === "text" && typeof source.data === "string") return { type: "text", text: source.data };
  throw invalidRequest(`${at}: only base64 and plain-text documents can be sent to this model's provider.`, at, "unsupported_content");
}

/**
 * A user-side content block → an OpenAI content part. `cache_control` is left
 * behind: only Anthropic reads it, Anthropic targets never take this path, and
 * strict OpenAI-compatible servers (Mistral, Fireworks) refuse unknown fields.
 */
function userPart(block: Json, at: string): Json {
  switch (block.type) {
    case "text":
      if (typeof block.text !== "string") throw invalidRequest(`${at}.text must be a string.`, `${at}.text`);
      return { type: "text", text: block.text };
    case "image":
      return imagePart(block.source, at);
    case "document":
      return documentPart(block, at);
    default:
      throw invalidRequest(`${at}: content blocks of type '${String(block.type)}' can only be sent to Anthropic models.`, at, "unsupported_content");
  }
}

/**
 * Text-only content as one string: several OpenAI-compatible servers (Groq's
 * system messages, DeepSeek) accept only strings, and text blocks lose nothing
 * by being joined.
 */
function collapse(parts: Json[], separator: string): string | Json[] {
  return parts.every((p) => p.type === "text") ? parts.map((p) => String(p.text)).join(separator) : parts;
}

/**
 * A tool_result → the text of an OpenAI tool message, plus its images and
 * documents, which OpenAI accepts only in user messages (the caller sends them
 * in one right after the tool messages).
 */
function toolResult(block: Json, at: string): { text: string; attachments: Json[] } {
  const prefix = block.is_error === true ? "Error: " : "";
  const content = block.content;
  if (typeof content === "string" || content === undefined) return { text: prefix + (content ?? ""), attachments: [] };
  if (!Array.isArray(content)) throw invalidRequest(`${at}.content must be a string or an array of blocks.`, `${at}.content`);
  const parts = content.map((b: unknown, i) => {
    if (!isObject(b)) throw invalidRequest(`${at}.content.${i} must be a content block object.`, `${at}.content.${i}`);
    return userPart(b, `${at}.content.${i}`);
  });
  const texts = parts.filter((p) => p.type === "text").map((p) => String(p.text));
  const attachments = parts.filter((p) => p.type !== "text");
  const note = attachments.length > 0 ? `[${attachments.length} attachment(s) follow in the next user message]` : "";
  return { text: prefix + [...texts, note].filter((t) => t.length > 0).join("\n"), attachments };
}

function userMessages(content: unknown, at: string): Json[] {
  if (typeof content === "string") return [{ role: "user", content }];
  const out: Json[] = [];
  const attachments: Json[] = [];
  const parts: Json[] = [];
  (content as unknown[]).forEach((block, i) => {
    const where = `${at}.content.${i}`;
    if (!isObject(block)) throw invalidRequest(`${where} must be a content block object.`, where);
    if (block.type === "tool_result") {
      // OpenAI wants tool results as their own messages, right after the assistant's call.
      const result = toolResult(block, where);
      out.push({ role: "tool", tool_call_id: block.tool_use_id, content: result.text });
      attachments.push(...result.attachments);
      return;
    }
    parts.push(userPart(block, where));
  });
  if (attachments.length + parts.length > 0) out.push({ role: "user", content: collapse([...attachments, ...parts], "\n\n") });
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
  const parts = system.filter(isObject).map((block, i) => userPart(block, `system.${i}`));
  return { role: "system", content: collapse(parts, "\n\n") };
}

/** A `system` turn among the messages, as an OpenAI system message in the same place. */
function systemTurn(content: unknown, at: string): Json {
  if (typeof content === "string") return { role: "system", content };
  const parts = (content as unknown[]).map((block, i) => {
    if (!isObject(block)) throw invalidRequest(`${at}.content.${i} must be a content block object.`, `${at}.content.${i}`);
    return userPart(block, `${at}.content.${i}`);
  });
  return { role: "system", content: collapse(parts, "\n\n") };
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


/** Structured outputs (`output_config.format`, or the beta `output_format`) → OpenAI's json_schema response_format. */
function responseFormat(body: Readonly<Json>): Json | undefined {
  const format = isObject(body.output_config) && isObject(body.output_config.format) ? body.output_config.format : body.output_format;
  if (!isObject(format)) return undefined;
  if (format.type !== "json_schema" || !isObject(format.schema)) {
    throw invalidRequest("Only a 'json_schema' output format with a schema can be sent to this model's provider.", "output_config.format", "unsupported_parameter");
  }
  return { type: "json_schema", json_schema: { name: "output", schema: format.schema, strict: true } };
}

/** The canonical body for a translated target. */
export function anthropicToOpenAI(body: Readonly<Json>, target: ChatTarget): Json {
  for (const field of ANTHROPIC_ONLY) {
    if (body[field] !== undefined) throw invalidRequest(`'${field}' is an Anthropic feature; it can only be used with Anthropic models.`, field, "unsupported_parameter");
  }
  const input = body.messages as unknown[];
  // Prefill (a final assistant turn the answer continues) exists only in Anthropic's API; elsewhere it would start a new answer.
  if (isObject(input.at(-1)) && (input.at(-1) as Json).role === "assistant") {
    throw invalidRequest("A final assistant message (prefill) can only be continued by Anthropic models.", `messages.${input.length - 1}`, "unsupported_content");
  }
  const messages: Json[] = [];
  const system = systemMessage(body.system);
  if (system !== null) messages.push(system);
  input.forEach((message, i) => {
    const m = message as Json;
    if (m.role === "assistant") messages.push(assistantMessage(m.content, `messages.${i}`));
    else if (m.role === "user") messages.push(...userMessages(m.content, `messages.${i}`));
    // A system turn inside the conversation (Claude Code's environment text) stays where it is, as a system message.
    else if (m.role === "system") messages.push(systemTurn(m.content, `messages.${i}`));
    else throw invalidRequest(`messages.${i}.role: the role '${String(m.role)}' can only be sent to Anthropic models.`, `messages.${i}.role`, "unsupported_content");
  });
  const out: Json = { model: body.model, messages, [target.maxTokensField]: body.max_tokens };
  if (typeof body.temperature === "number") out.temperature = body.temperature;
  if (typeof body.top_p === "number") out.top_p = body.top_p;
  if (Array.isArray(body.stop_sequences) && body.stop_sequences.length > 0) out.stop = body.stop_sequences;
  const translatedTools = tools(body.tools);
  if (translatedTools !== undefined && translatedTools.length > 0) {
    out.tools = translatedTools;
    toolChoice(body.tool_choice, out);
  }
  const format = responseFormat(body);
  if (format !== undefined) out.response_format = format;
  const effort = target.reasoning ? reasoningEffort(body.thinking, body.output_config) : undefined;
  if (effort !== undefined) out.reasoning_effort = effort;
  if (isObject(body.metadata) && typeof body.metadata.user_id === "string") out.user = body.metadata.user_id;
  // Usage on streams: each adapter asks for it where its provider accepts the option.
  if (body.stream === true) out.stream = true;
  return out;
}
