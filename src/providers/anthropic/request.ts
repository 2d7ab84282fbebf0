/**
 * OpenAI Chat Completions request → Anthropic Messages request.
 *
 * Only what differs is translated; Anthropic-only fields a client sends
 * (`thinking`, `top_k`, `metadata`, `cache_control` on parts, …) pass through.
 */

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);

/** Fields that mean something else (or nothing) to Anthropic and are translated or dropped, never forwarded. */
const OPENAI_ONLY = new Set([
  "messages", "model", "max_tokens", "max_completion_tokens", "stop", "tools", "tool_choice", "user",
  "stream_options", "n", "reasoning_effort", "parallel_tool_calls", "response_format", "frequency_penalty",
  "presence_penalty", "logit_bias", "logprobs", "top_logprobs", "seed", "service_tier", "store", "modalities",
  "prediction", "audio", "function_call", "functions",
]);

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
  if (part.type === "text" && typeof part.text === "string") block = { type: "text", text: part.text };
  else if (part.type === "image_url") {
    const image = part.image_url;
    const url = typeof image === "string" ? image : isObject(image) && typeof image.url === "string" ? image.url : null;
    if (url !== null) block = { type: "image", source: imageSource(url) };
  } else if (typeof part.type === "string" && part.type !== "input_audio") {
    block = { ...part }; // already an Anthropic block (document, tool_result, …): pass through
  }
  if (block !== null && isObject(part.cache_control)) block.cache_control = part.cache_control;
  return block;
}

function contentBlocks(content: unknown): Json[] {
  if (typeof content === "string") return content.length > 0 ? [{ type: "text", text: content }] : [];
  if (!Array.isArray(content)) return [];
  const blocks: Json[] = [];
  for (const part of content) {
    const block = contentBlock(part);
    if (block !== null) blocks.push(block);
  }
  return blocks;
}

function parseArguments(raw: unknown): unknown {
  if (typeof raw !== "string" || raw.trim().length === 0) return {};
  try {
    return JSON.parse(raw);
  } catch {
    return {}; // a model's malformed arguments: Anthropic requires an object
  }
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
      const blocks = contentBlocks(message.content);
      if (Array.isArray(message.tool_calls)) {
        for (const call of message.tool_calls) {
          if (!isObject(call) || !isObject(call.function)) continue;
          blocks.push({ type: "tool_use", id: call.id, name: call.function.name, input: parseArguments(call.function.arguments) });
        }
      }
      push(messages, "assistant", blocks);
    } else if (role === "tool") {
      const result = contentBlocks(message.content);
      push(messages, "user", [{ type: "tool_result", tool_use_id: message.tool_call_id, content: result }]);
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
      const translated: Json = { name: fn.name, input_schema: isObject(fn.parameters) ? fn.parameters : { type: "object", properties: {} } };
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

/** Thinking budget for OpenAI's `reasoning_effort`, as a share of the output cap. */
const EFFORT_BUDGET: Record<string, number> = { minimal: 1024, low: 2048, medium: 8192, high: 24576 };

export interface AnthropicRequestOptions {
  model: string;
  /** Output cap when the client gave none: Anthropic requires `max_tokens`. */
  defaultMaxTokens: number;
  stream: boolean;
}

export function toAnthropicRequest(body: Readonly<Json>, options: AnthropicRequestOptions): Json {
  const out: Json = {};
  for (const [key, value] of Object.entries(body)) if (!OPENAI_ONLY.has(key)) out[key] = value;
  const { system, messages } = translateMessages(Array.isArray(body.messages) ? body.messages : []);
  out.model = options.model;
  out.messages = messages;
  if (system.length > 0 && out.system === undefined) out.system = system;
  const cap = body.max_completion_tokens ?? body.max_tokens;
  out.max_tokens = typeof cap === "number" ? cap : options.defaultMaxTokens;
  if (typeof body.stop === "string") out.stop_sequences = [body.stop];
  else if (Array.isArray(body.stop)) out.stop_sequences = body.stop;
  const tools = translateTools(body.tools);
  if (tools !== undefined) out.tools = tools;
  const toolChoice = tools === undefined ? undefined : translateToolChoice(body.tool_choice, body.parallel_tool_calls);
  if (toolChoice !== undefined) out.tool_choice = toolChoice;
  if (typeof body.user === "string" && !isObject(out.metadata)) out.metadata = { user_id: body.user };
  const effort = typeof body.reasoning_effort === "string" ? EFFORT_BUDGET[body.reasoning_effort] : undefined;
  if (effort !== undefined && out.thinking === undefined) {
    out.thinking = { type: "enabled", budget_tokens: Math.min(effort, Math.max(1024, (out.max_tokens as number) - 1)) };
  }
  if (options.stream) out.stream = true;
  else delete out.stream;
  return out;
}
