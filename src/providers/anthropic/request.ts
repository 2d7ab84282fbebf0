/**
 * OpenAI Chat Completions request → Anthropic Messages request.
 *
 * Only what differs is translated; Anthropic-only fields a client sends
 * (`thinking`, `top_k`, `metadata`, `cache_control` on parts, …) pass through.
 */

import { invalidRequest } from "../../http/errors.ts";
import { effortBudget } from "../reasoning-effort.ts";
import { isObject, isSafeKey, toolArguments, type Json } from "../json.ts";

/** Fields that mean something else (or nothing) to Anthropic and are translated or dropped, never forwarded. */
const OPENAI_ONLY = new Set([
  "messages", "model", "max_tokens", "max_completion_tokens", "stop", "tools", "tool_choice", "user",
  "stream_options", "n", "reasoning_effort", "parallel_tool_calls", "response_format", "frequency_penalty",
  "presence_penalty", "logit_bias", "logprobs", "top_logprobs", "seed", "service_tier", "store", "modalities",
  "prediction", "audio", "function_call", "functions", "metadata", "prompt_cache_key", "prompt_cache_retention",
  "safety_identifier", "verbosity", "web_search_options", "temperature",
]);

/** Content block types Anthropic accepts as they are, when a client sends them in an OpenAI message. */
const ANTHROPIC_BLOCKS = new Set(["document", "image", "tool_use", "tool_result", "thinking", "redacted_thinking", "search_result"]);

/** Anthropic tool ids allow only `[A-Za-z0-9_-]`; ids from other providers (after a failover) may not comply. */
const toolId = (id: unknown): string => (typeof id === "string" && id.length > 0 ? id.replace(/[^A-Za-z0-9_-]/g, "_") : "toolu_missing");

/** A data: URL → Anthropic base64 source; anything else → a URL source. */
function imageSource(url: string): Json {
  const match = /^data:([^;,]+);base64,(.*)$/s.exec(url);
  if (match !== null) return { type: "base64", media_type: match[1], data: match[2] };
  return { type: "url", url };
}

/** One OpenAI content part → one Anthropic content block (cache_control carried over). */
function contentBlock(part: unknown): Json | null {
  if (!isObject(part)) return null;
  let block: Json | null = null;
  // Anthropic rejects empty and whitespace-only text blocks.
  if ((part.type === "text" || part.type === "refusal") && typeof (part.text ?? part.refusal) === "string") {
    const text = String(part.text ?? part.refusal);
    if (text.trim().length > 0) block = { type: "text", text };
  } else if (part.type === "image_url") {
    const image = part.image_url;
    const url = typeof image === "string" ? image : isObject(image) && typeof image.url === "string" ? image.url : null;
    if (url !== null) block = { type: "image", source: imageSource(url) };
  } else if (part.type === "file" && isObject(part.file) && typeof part.file.file_data === "string") {
    const source = imageSource(part.file.file_data);
    if (source.type === "base64") block = { type: "document", source };
  } else if (typeof part.type === "string" && ANTHROPIC_BLOCKS.has(part.type)) {
    block = { ...part }; // already an Anthropic block: pass through
  }
  if (block !== null && isObject(part.cache_control)) block.cache_control = part.cache_control;
  return block;
}

function contentBlocks(content: unknown): Json[] {
  if (typeof content === "string") return content.trim().length > 0 ? [{ type: "text", text: content }] : [];
  if (!Array.isArray(content)) return [];
  const blocks: Json[] = [];
  for (const part of content) {
    const block = contentBlock(part);
    if (block !== null) blocks.push(block);
  }
  return blocks;
}

function thinkingBlocks(list: unknown): Json[] {
  if (!Array.isArray(list)) return [];
  return list.filter(
    (b): b is Json =>
      isObject(b) &&
      ((b.type === "thinking" && typeof b.thinking === "string" && typeof b.signature === "string" && b.signature.length > 0) ||
        (b.type === "redacted_thinking" && typeof b.data === "string")),
  );
}

/** Appends blocks to the last message if it has the same role (Anthropic wants roles to alternate). */
function push(messages: Json[], role: "user" | "assistant", blocks: Json[]): void {
  if (blocks.length === 0) return;
  const last = messages[messages.length - 1];
  if (last !== undefined && last.role === role && Array.isArray(last.content)) (last.content as Json[]).push(...blocks);
  else messages.push({ role, content: blocks });
}

function translateMessages(input: unknown[]): { system: Json[]; messages: Json[] } {
  const system: Json[] = [];
  const messages: Json[] = [];
  for (const message of input) {
    if (!isObject(message)) continue;
    const role = message.role;
    if (role === "system" || role === "developer") {
      system.push(...contentBlocks(message.content));
    } else if (role === "user") {
      push(messages, "user", contentBlocks(message.content));
    } else if (role === "assistant") {
      // Signed thinking the gateway handed out with this message (`thinking_blocks`) goes first, as Anthropic requires.
      const blocks = [...thinkingBlocks(message.thinking_blocks), ...contentBlocks(message.content)];
      if (Array.isArray(message.tool_calls)) {
        for (const call of message.tool_calls) {
          if (!isObject(call) || !isObject(call.function)) continue;
          blocks.push({ type: "tool_use", id: toolId(call.id), name: call.function.name, input: toolArguments(call.function.arguments) });
        }
      }
      push(messages, "assistant", blocks);
    } else if (role === "tool") {
      const result = contentBlocks(message.content);
      push(messages, "user", [{ type: "tool_result", tool_use_id: toolId(message.tool_call_id), content: result }]);
    }
  }
  return { system, messages };
}

function translateTools(tools: unknown): Json[] | undefined {
  if (!Array.isArray(tools)) return undefined;
  const out: Json[] = [];
  for (const tool of tools) {
    if (isObject(tool) && tool.type === "function" && isObject(tool.function)) {
      const fn = tool.function;
      const translated: Json = { name: fn.name, input_schema: { type: "object", ...(isObject(fn.parameters) ? fn.parameters : {}) } };
      if (typeof fn.description === "string") translated.description = fn.description;
      if (isObject(tool.cache_control)) translated.cache_control = tool.cache_control;
      out.push(translated);
    } else if (isObject(tool)) {
      out.push(tool); // an Anthropic server tool (web_search, …): pass through
    }
  }
  return out;
}

function translateToolChoice(choice: unknown, parallel: unknown): Json | undefined {
  const disableParallel = parallel === false ? { disable_parallel_tool_use: true } : {};
  if (choice === "auto") return { type: "auto", ...disableParallel };
  if (choice === "required") return { type: "any", ...disableParallel };
  if (choice === "none") return { type: "none" };
  if (isObject(choice) && isObject(choice.function) && typeof choice.function.name === "string") {
    return { type: "tool", name: choice.function.name, ...disableParallel };
  }
  return parallel === false ? { type: "auto", ...disableParallel } : undefined;
}

/** Thinking budget (tokens) for OpenAI's `reasoning_effort` levels, `xhigh` (OpenAI's newest) included. */
export const EFFORT_BUDGET: Readonly<Record<string, number>> = { minimal: 1024, low: 2048, medium: 8192, high: 24576, xhigh: 32768 };
/** Anthropic's smallest thinking budget; the answer itself needs room beyond it too. */
export const MIN_THINKING_BUDGET = 1024;

export interface AnthropicRequestOptions {
  model: string;
  /** Output cap when the client gave none: Anthropic requires `max_tokens`. */
  defaultMaxTokens: number;
  stream: boolean;
  /** Whether the model accepts a `thinking` budget (from its model table). */
  supportsThinking: boolean;
  /** Whether the model accepts `output_config.format` (structured outputs). */
  supportsStructuredOutputs: boolean;
}

/** OpenAI features with no Anthropic equivalent are refused, never silently dropped. */
function refuseUntranslatable(body: Readonly<Json>): void {
  if (typeof body.n === "number" && body.n > 1) {
    throw invalidRequest("Anthropic models return one choice per request; 'n' greater than 1 cannot be served.", "n", "unsupported_parameter");
  }
}

/**
 * `response_format` → Anthropic's structured outputs (`output_config.format`),
 * which need a schema and a model that supports them. JSON mode without a
 * schema has no Anthropic equivalent and is refused rather than approximated.
 */
function applyResponseFormat(out: Json, format: unknown, options: AnthropicRequestOptions): void {
  if (!isObject(format) || format.type === "text") return;
  const schema = format.type === "json_schema" && isObject(format.json_schema) ? format.json_schema.schema : undefined;
  if (!isObject(schema)) {
    throw invalidRequest("Anthropic models need a schema for JSON output: use response_format {type: 'json_schema', json_schema: {schema}}.", "response_format", "unsupported_parameter");
  }
  if (!options.supportsStructuredOutputs) {
    throw invalidRequest(`The model '${options.model}' does not support structured outputs (Claude Sonnet 4.5, Opus 4.1, Haiku 4.5 and later do).`, "response_format", "unsupported_parameter");
  }
  out.output_config = { ...(isObject(out.output_config) ? out.output_config : {}), format: { type: "json_schema", schema } };
}

/**
 * Turns `reasoning_effort` into a thinking budget where Anthropic's rules allow:
 * a budget of at least 1024 below `max_tokens`, no forced tool, every earlier
 * tool call preceded by its signed thinking (returned to the client as
 * `thinking_blocks`; a history from another provider has none), and sampling
 * settings thinking permits.
 */
function applyReasoningEffort(out: Json, body: Readonly<Json>, options: AnthropicRequestOptions): void {
  const budget = effortBudget(EFFORT_BUDGET, body.reasoning_effort);
  if (budget === undefined || out.thinking !== undefined || !options.supportsThinking) return;
  const maxTokens = out.max_tokens as number;
  const forcedTool = isObject(out.tool_choice) && (out.tool_choice.type === "any" || out.tool_choice.type === "tool");
  // With thinking on, Anthropic wants each assistant turn that called a tool to open with its signed thinking.
  const unsignedToolUse = (out.messages as Json[]).some(
    (m) =>
      m.role === "assistant" &&
      Array.isArray(m.content) &&
      m.content.some((b) => isObject(b) && b.type === "tool_use") &&
      !(isObject(m.content[0]) && (m.content[0].type === "thinking" || m.content[0].type === "redacted_thinking")),
  );
  const room = Math.min(budget, maxTokens - MIN_THINKING_BUDGET);
  if (room < MIN_THINKING_BUDGET || forcedTool || unsignedToolUse) return;
  out.thinking = { type: "enabled", budget_tokens: room };
  delete out.temperature;
  delete out.top_k;
  if (typeof out.top_p === "number" && out.top_p < 0.95) delete out.top_p;
}

export function toAnthropicRequest(body: Readonly<Json>, options: AnthropicRequestOptions): Json {
  refuseUntranslatable(body);
  const out: Json = {};
  for (const [key, value] of Object.entries(body)) if (!OPENAI_ONLY.has(key) && value !== null && isSafeKey(key)) out[key] = value;
  const { system, messages } = translateMessages(Array.isArray(body.messages) ? body.messages : []);
  out.model = options.model;
  // OpenAI accepts a conversation of system messages alone; Anthropic needs a user turn.
  if (messages.length === 0 && system.length > 0) messages.push({ role: "user", content: system.splice(0) });
  out.messages = messages;
  if (system.length > 0 && out.system === undefined) out.system = system;
  const cap = body.max_completion_tokens ?? body.max_tokens;
  out.max_tokens = typeof cap === "number" ? cap : options.defaultMaxTokens;
  // OpenAI allows temperature up to 2; Anthropic up to 1.
  if (typeof body.temperature === "number") out.temperature = Math.min(body.temperature, 1);
  const stops = (typeof body.stop === "string" ? [body.stop] : Array.isArray(body.stop) ? body.stop : []).filter(
    (stop): stop is string => typeof stop === "string" && stop.trim().length > 0, // Anthropic refuses whitespace-only stops
  );
  if (stops.length > 0) out.stop_sequences = stops;
  const tools = translateTools(body.tools);
  if (tools !== undefined) out.tools = tools;
  const toolChoice = tools === undefined ? undefined : translateToolChoice(body.tool_choice, body.parallel_tool_calls);
  if (toolChoice !== undefined) out.tool_choice = toolChoice;
  if (typeof body.user === "string") out.metadata = { user_id: body.user };
  applyResponseFormat(out, body.response_format, options);
  applyReasoningEffort(out, body, options);
  if (options.stream) out.stream = true;
  else delete out.stream;
  return out;
}
