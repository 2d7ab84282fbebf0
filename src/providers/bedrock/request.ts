/**
 * OpenAI Chat Completions request → Bedrock Converse request.
 *
 * Converse rejects fields it does not know, so the request is built from the
 * OpenAI fields the gateway understands, never copied; Converse's own
 * top-level fields a client sends (`guardrailConfig`, `additionalModelRequestFields`,
 * …) pass through. What cannot be translated is refused with a 400 naming it.
 */
import { invalidRequest } from "../../http/errors.ts";
import { EFFORT_BUDGET, MIN_THINKING_BUDGET } from "../anthropic/request.ts";
import { supportsThinking } from "../anthropic/models.ts";
import { isObject, toolArguments, type Json } from "../json.ts";
import { effortBudget } from "../reasoning-effort.ts";

/** Converse request fields a client may send as they are (Converse API reference, "Request Syntax"). */
const CONVERSE_FIELDS = [
  "guardrailConfig", "additionalModelRequestFields", "additionalModelResponseFieldPaths",
  "promptVariables", "requestMetadata", "performanceConfig", "serviceTier",
] as const;

const IMAGE_FORMATS: Readonly<Record<string, string>> = { "image/png": "png", "image/jpeg": "jpeg", "image/jpg": "jpeg", "image/gif": "gif", "image/webp": "webp" };
const DOCUMENT_FORMATS: Readonly<Record<string, string>> = {
  "application/pdf": "pdf", "text/csv": "csv", "text/html": "html", "text/plain": "txt", "text/markdown": "md",
  "application/msword": "doc", "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
  "application/vnd.ms-excel": "xls", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
};

/** A table's own entry (an inherited name such as `constructor` is no format). */
const own = (table: Readonly<Record<string, string>>, key: string): string | undefined => (Object.hasOwn(table, key) ? table[key] : undefined);

const refuse = (message: string, param: string): never => {
  throw invalidRequest(message, param, "unsupported_parameter");
};

/** Converse tool ids allow only `[A-Za-z0-9_-]`, 1 to 64 of them; ids from other providers (after a failover) may not comply. */
const toolId = (id: unknown): string => (typeof id === "string" && id.length > 0 ? id.replace(/[^A-Za-z0-9_-]/g, "_").slice(0, 64) : "tooluse_missing");

function dataUrl(url: string): { mediaType: string; base64: string } | null {
  const match = /^data:([^;,]+);base64,(.*)$/s.exec(url);
  return match === null ? null : { mediaType: (match[1] ?? "").toLowerCase(), base64: match[2] ?? "" };
}

function imageBlock(url: string): Json {
  const data = dataUrl(url);
  if (data === null) {
    return refuse("Bedrock's Converse API takes images as bytes (or from S3), not by URL: send the image as a base64 data: URL.", "messages");
  }
  const format = own(IMAGE_FORMATS, data.mediaType) ?? refuse(`Bedrock accepts png, jpeg, gif and webp images, not '${data.mediaType}'.`, "messages");
  return { image: { format, source: { bytes: data.base64 } } };
}

/** Converse's longest document name. */
const DOCUMENT_NAME_MAX = 200;

/**
 * Names documents for one request. Converse rejects the whole request when two
 * documents share a name, anywhere in the conversation (checked here without
 * regard to case, to be safe), and accepts only letters, digits, single
 * spaces, hyphens, parentheses and square brackets, 1 to 200 of them: a
 * filename is cut down to those, and a repeat gets a number, `report (2)`.
 */
function documentNamer(): (filename: unknown) => string {
  const taken = new Set<string>();
  return (filename) => {
    const stem = typeof filename === "string" ? filename.replace(/\.[^.]*$/, "") : "";
    const base = stem.replace(/[^A-Za-z0-9\-()[\] ]/g, " ").replace(/ {2,}/g, " ").slice(0, DOCUMENT_NAME_MAX).trim() || "document";
    let name = base;
    for (let n = 2; taken.has(name.toLowerCase()); n++) {
      const suffix = ` (${n})`;
      name = `${base.slice(0, DOCUMENT_NAME_MAX - suffix.length).trimEnd()}${suffix}`;
    }
    taken.add(name.toLowerCase());
    return name;
  };
}

type NameDocument = ReturnType<typeof documentNamer>;

function documentBlock(file: Json, nameDocument: NameDocument): Json {
  const data = typeof file.file_data === "string" ? dataUrl(file.file_data) : null;
  if (data === null) return refuse("Bedrock takes files as base64 data: URLs in 'file_data' (file ids are not translated).", "messages");
  const format = own(DOCUMENT_FORMATS, data.mediaType) ?? refuse(`Bedrock does not accept documents of type '${data.mediaType}'.`, "messages");
  return { document: { format, name: nameDocument(file.filename), source: { bytes: data.base64 } } };
}

/** OpenAI content (a string or parts) → Converse content blocks; blank text is left out (Converse rejects it). */
function contentBlocks(content: unknown, nameDocument: NameDocument): Json[] {
  if (typeof content === "string") return content.trim().length > 0 ? [{ text: content }] : [];
  if (!Array.isArray(content)) return [];
  const blocks: Json[] = [];
  for (const part of content) {
    if (!isObject(part)) continue;
    const text = part.type === "text" ? part.text : part.type === "refusal" ? part.refusal : undefined;
    if (typeof text === "string") {
      if (text.trim().length > 0) blocks.push({ text });
    } else if (part.type === "image_url") {
      const image = part.image_url;
      const url = typeof image === "string" ? image : isObject(image) && typeof image.url === "string" ? image.url : "";
      blocks.push(imageBlock(url));
    } else if (part.type === "file" && isObject(part.file)) {
      blocks.push(documentBlock(part.file, nameDocument));
    } else if (typeof part.type === "string") {
      refuse(`Content parts of type '${part.type}' are not translated for Bedrock.`, "messages");
    }
  }
  return blocks;
}

/** A tool's output: a JSON object travels as `json`, anything else as text. */
function toolResultContent(content: unknown, nameDocument: NameDocument): Json[] {
  if (typeof content === "string") {
    try {
      const parsed: unknown = JSON.parse(content);
      if (isObject(parsed)) return [{ json: parsed }];
    } catch {
      // plain text
    }
  }
  const blocks = contentBlocks(content, nameDocument).filter((b) => b.text !== undefined);
  return blocks.length > 0 ? blocks : [{ json: {} }]; // an empty result, which Converse cannot take as blank text
}

/** Appends blocks to the last message if it has the same role: Converse wants roles to alternate. */
function push(messages: Json[], role: "user" | "assistant", blocks: Json[]): void {
  if (blocks.length === 0) return;
  const last = messages[messages.length - 1];
  if (last !== undefined && last.role === role && Array.isArray(last.content)) (last.content as Json[]).push(...blocks);
  else messages.push({ role, content: blocks });
}

function translateMessages(input: unknown[]): { system: Json[]; messages: Json[]; usesTools: boolean } {
  const system: Json[] = [];
  const messages: Json[] = [];
  let usesTools = false;
  const nameDocument = documentNamer(); // one for the whole request: names must differ across messages too
  for (const message of input) {
    if (!isObject(message)) continue;
    const role = message.role;
    if (role === "system" || role === "developer") {
      system.push(...contentBlocks(message.content, nameDocument));
    } else if (role === "user") {
      push(messages, "user", contentBlocks(message.content, nameDocument));
    } else if (role === "assistant") {
      const blocks = contentBlocks(message.content, nameDocument);
      for (const call of Array.isArray(message.tool_calls) ? message.tool_calls : []) {
        if (!isObject(call) || !isObject(call.function)) continue;
        usesTools = true;
        blocks.push({ toolUse: { toolUseId: toolId(call.id), name: call.function.name, input: toolArguments(call.function.arguments) } });
      }
      push(messages, "assistant", blocks);
    } else if (role === "tool") {
      usesTools = true;
      push(messages, "user", [{ toolResult: { toolUseId: toolId(message.tool_call_id), content: toolResultContent(message.content, nameDocument) } }]);
    }
  }
  return { system, messages, usesTools };
}

function translateTools(tools: unknown[]): Json[] {
  return tools.map((tool) => {
    if (!isObject(tool) || tool.type !== "function" || !isObject(tool.function)) {
      return refuse("Bedrock's Converse API takes function tools only.", "tools");
    }
    const fn = tool.function;
    const spec: Json = { name: fn.name, inputSchema: { json: isObject(fn.parameters) ? fn.parameters : { type: "object", properties: {} } } };
    if (typeof fn.description === "string" && fn.description.length > 0) spec.description = fn.description;
    if (fn.strict === true) spec.strict = true;
    return { toolSpec: spec };
  });
}

/** OpenAI `tool_choice` → Converse `toolChoice` (undefined: Converse's default, auto). */
function translateToolChoice(choice: unknown): Json | undefined {
  if (choice === "required") return { any: {} };
  if (choice === "auto") return { auto: {} };
  if (isObject(choice) && isObject(choice.function) && typeof choice.function.name === "string") return { tool: { name: choice.function.name } };
  return undefined;
}

function refuseUntranslatable(body: Readonly<Json>): void {
  if (typeof body.n === "number" && body.n > 1) refuse("Bedrock returns one choice per request; 'n' greater than 1 cannot be served.", "n");
  if (body.parallel_tool_calls === false) refuse("Bedrock's Converse API cannot turn off parallel tool calls; leave 'parallel_tool_calls' unset.", "parallel_tool_calls");
  if (isObject(body.response_format) && body.response_format.type === "json_object") {
    refuse("Bedrock has no schemaless JSON mode; use 'response_format' of type 'json_schema'.", "response_format");
  }
  if (body.audio !== undefined && body.audio !== null) refuse("Audio output is not available through Bedrock's Converse API.", "audio");
}

/** `response_format: json_schema` → Converse structured output (`outputConfig.textFormat`), whose schema is a JSON string. */
function outputConfig(format: unknown): Json | undefined {
  if (!isObject(format) || format.type !== "json_schema" || !isObject(format.json_schema)) return undefined;
  const js = format.json_schema;
  const jsonSchema: Json = { schema: JSON.stringify(js.schema ?? {}) };
  if (typeof js.name === "string") jsonSchema.name = js.name;
  if (typeof js.description === "string") jsonSchema.description = js.description;
  return { textFormat: { type: "json_schema", structure: { jsonSchema } } };
}

/** The Claude model name inside a Bedrock id or inference profile (`us.anthropic.claude-sonnet-4-5-…-v1:0` → `claude-sonnet-4-5-…`). */
export function claudeModel(modelId: string): string | null {
  const match = /anthropic\.(claude-[^:/]+)/.exec(modelId);
  return match?.[1] ?? null;
}

/**
 * `reasoning_effort` → a thinking budget in `additionalModelRequestFields`,
 * documented for Claude models on Bedrock only (other models' reasoning
 * switches differ, so it is left out for them). Thinking needs room below
 * `maxTokens` and no forced tool, and does not take a temperature or top_p.
 */
function applyReasoningEffort(out: Json, body: Readonly<Json>, modelId: string, usesTools: boolean): void {
  const budget = effortBudget(EFFORT_BUDGET, body.reasoning_effort);
  const claude = claudeModel(modelId);
  if (claude === null || budget === undefined || !supportsThinking(claude) || usesTools) return;
  const extra = isObject(out.additionalModelRequestFields) ? out.additionalModelRequestFields : {};
  if (extra.thinking !== undefined) return; // the client chose its own
  const toolChoice = isObject(out.toolConfig) ? out.toolConfig.toolChoice : undefined;
  if (isObject(toolChoice) && (toolChoice.any !== undefined || toolChoice.tool !== undefined)) return;
  const inference = isObject(out.inferenceConfig) ? out.inferenceConfig : undefined;
  // Claude requests always carry the cap (toConverseRequest): thinking fits below it.
  if (inference === undefined || typeof inference.maxTokens !== "number") return;
  const room = Math.min(budget, inference.maxTokens - MIN_THINKING_BUDGET);
  if (room < MIN_THINKING_BUDGET) return;
  delete inference.temperature;
  delete inference.topP;
  out.additionalModelRequestFields = { ...extra, thinking: { type: "enabled", budget_tokens: room } };
}

/**
 * The service tier a body asks Bedrock for: `serviceTier.type` ("priority", "flex", "default",
 * "reserved"), or "latency-optimized" for `performanceConfig.latency: "optimized"`, which
 * Bedrock bills at rates of its own.
 */
export function requestedTier(body: Readonly<Json>): string | undefined {
  if (isObject(body.performanceConfig) && body.performanceConfig.latency === "optimized") return "latency-optimized";
  return isObject(body.serviceTier) && typeof body.serviceTier.type === "string" ? body.serviceTier.type : undefined;
}

/**
 * `outputCap` is the cap the request's reservation bounds (metering/worst-case.ts outputCap): sent
 * for Claude models when the body sets none, as Converse's own default would be the model's maximum.
 */
export function toConverseRequest(body: Readonly<Json>, modelId: string, outputCap: number): Json {
  refuseUntranslatable(body);
  const out: Json = {};
  for (const field of CONVERSE_FIELDS) if (body[field] !== undefined && body[field] !== null) out[field] = body[field];
  const { system, messages, usesTools } = translateMessages(Array.isArray(body.messages) ? body.messages : []);
  // OpenAI accepts a conversation of system messages alone; Converse needs a user turn.
  if (messages.length === 0 && system.length > 0) messages.push({ role: "user", content: system.splice(0) });
  out.messages = messages;
  if (system.length > 0) out.system = system;

  const inference: Json = {};
  const cap = body.max_completion_tokens ?? body.max_tokens;
  if (typeof cap === "number") inference.maxTokens = cap;
  else if (claudeModel(modelId) !== null) inference.maxTokens = outputCap;
  // OpenAI allows temperature up to 2; the models on Bedrock take 0 to 1.
  if (typeof body.temperature === "number") inference.temperature = Math.min(body.temperature, 1);
  if (typeof body.top_p === "number") inference.topP = body.top_p;
  const stops = (typeof body.stop === "string" ? [body.stop] : Array.isArray(body.stop) ? body.stop : []).filter(
    (stop): stop is string => typeof stop === "string" && stop.length > 0,
  );
  if (stops.length > 0) inference.stopSequences = stops;
  if (Object.keys(inference).length > 0) out.inferenceConfig = inference;

  const tools = Array.isArray(body.tools) && body.tools.length > 0 ? translateTools(body.tools) : undefined;
  if (body.tool_choice === "none") {
    // Converse has no "none"; a request without tools cannot call one. But a
    // history with tool calls needs toolConfig, which would let the model call again.
    if (usesTools) refuse("Bedrock cannot forbid tool calls in a conversation that already has some: 'tool_choice' \"none\" is not translated there.", "tool_choice");
  } else if (tools !== undefined) {
    const toolChoice = translateToolChoice(body.tool_choice);
    out.toolConfig = toolChoice === undefined ? { tools } : { tools, toolChoice };
  } else if (usesTools) {
    refuse("Bedrock needs the 'tools' definitions whenever the conversation holds tool calls or results.", "tools");
  }
  const output = outputConfig(body.response_format);
  if (output !== undefined) out.outputConfig = output;
  applyReasoningEffort(out, body, modelId, usesTools);
  return out;
}
