/**
 * A Responses API request → the gateway's canonical Chat Completions body,
 * for providers that do not speak the Responses API themselves (every one but
 * OpenAI and Azure OpenAI). `instructions` and `developer` items become system
 * messages, message items become messages, function and custom tool calls
 * and their outputs become tool calls and tool messages, the client's tools
 * functions (tools.ts) and `text.format` its Chat Completions form. What only OpenAI's
 * servers can do is dropped where the answer means the same without it
 * (encrypted reasoning items, `prompt_cache_key`, `include`, `store`) and
 * refused with a 400 naming it otherwise (stored items by reference, files
 * by id, background runs).
 */
import { isObject, type Json } from "../../providers/json.ts";
import { invalidRequest } from "../errors.ts";
import { chatName, chatToolChoice, chatTools, customArguments, droppedTools } from "./tools.ts";

import type { ChatTarget } from "../chat-target.ts";

const ONLY_NATIVE = ["background", "conversation", "prompt"] as const;

function textOf(part: Json, at: string): string {
  if (typeof part.text !== "string") throw invalidRequest(`${at}.text must be a string.`, `${at}.text`);
  return part.text;
}

/** An input content part → a Chat Completions content part. */
function contentPart(part: Json, at: string): Json {
  switch (part.type) {
    case "input_text":
    case "output_text":
    case "text":
      return { type: "text", text: textOf(part, at) };
    case "refusal":
      return { type: "text", text: typeof part.refusal === "string" ? part.refusal : "" };
    case "input_image":
      if (typeof part.image_url === "string") return { type: "image_url", image_url: { url: part.image_url, ...(typeof part.detail === "string" && { detail: part.detail }) } };
      throw invalidRequest(`${at}: images by file id are OpenAI's own; send an image_url (https or data:) to this model's provider.`, at, "unsupported_content");
    case "input_file":
      if (typeof part.file_data === "string") return { type: "file", file: { filename: typeof part.filename === "string" ? part.filename : "document.pdf", file_data: part.file_data } };
      throw invalidRequest(`${at}: files by id or URL are OpenAI's own; send file_data to this model's provider.`, at, "unsupported_content");
    default:
      throw invalidRequest(`${at}: content parts of type '${String(part.type)}' can only be sent to OpenAI models.`, at, "unsupported_content");
  }
}

/** A message's content as Chat Completions takes it: one string when it is all text (several servers accept only strings). */
function messageContent(content: unknown, at: string): string | Json[] {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) throw invalidRequest(`${at}.content must be a string or a list of content parts.`, `${at}.content`);
  const parts = content.map((p: unknown, i) => {
    if (!isObject(p)) throw invalidRequest(`${at}.content[${i}] must be a content part object.`, `${at}.content[${i}]`);
    return contentPart(p, `${at}.content[${i}]`);
  });
  return parts.every((p) => p.type === "text") ? parts.map((p) => String(p.text)).join("") : parts;
}

/** A function call's output (a string, or content parts) as a tool message's text. */
function outputText(output: unknown, at: string): string {
  if (typeof output === "string") return output;
  if (!Array.isArray(output)) return JSON.stringify(output ?? "");
  return output.map((p: unknown, i) => (isObject(p) && typeof p.text === "string" ? p.text : invalidRequestThrow(`${at}.output[${i}]`))).join("");
}

function invalidRequestThrow(at: string): never {
  throw invalidRequest(`${at}: only text can be returned from a function call to this model's provider.`, at, "unsupported_content");
}

/** The input items → Chat Completions messages: consecutive function calls join the assistant message before them. */
function inputMessages(input: unknown): Json[] {
  if (typeof input === "string") return [{ role: "user", content: input }];
  if (!Array.isArray(input)) return [];
  const messages: Json[] = [];
  const lastAssistant = (): Json => {
    const last = messages.at(-1);
    if (last?.role === "assistant" && !Array.isArray(last.content)) return last;
    const fresh: Json = { role: "assistant", content: null };
    messages.push(fresh);
    return fresh;
  };
  input.forEach((raw: unknown, i) => {
    const at = `input[${i}]`;
    if (!isObject(raw)) throw invalidRequest(`${at} must be an input item object.`, at);
    const type = raw.type ?? "message";
    if (type === "message") {
      const role = raw.role === "developer" ? "system" : raw.role;
      if (role !== "user" && role !== "system" && role !== "assistant") throw invalidRequest(`${at}.role must be 'user', 'assistant', 'system' or 'developer'.`, `${at}.role`);
      const content = messageContent(raw.content, at);
      if (role === "assistant") {
        const message = lastAssistant();
        message.content = typeof message.content === "string" && typeof content === "string" ? message.content + content : content;
      } else messages.push({ role, content });
    } else if (type === "function_call" || type === "custom_tool_call") {
      const message = lastAssistant();
      const calls = Array.isArray(message.tool_calls) ? message.tool_calls : [];
      const args = type === "custom_tool_call" ? customArguments(raw.input) : typeof raw.arguments === "string" ? raw.arguments : "{}";
      calls.push({ id: raw.call_id, type: "function", function: { name: chatName(raw.name, raw.namespace), arguments: args } });
      message.tool_calls = calls;
    } else if (type === "function_call_output" || type === "custom_tool_call_output") {
      messages.push({ role: "tool", tool_call_id: raw.call_id, content: outputText(raw.output, at) });
    } else if (type === "reasoning" || (typeof type === "string" && /_call$|_call_output$/.test(type))) {
      // Encrypted reasoning is OpenAI's alone, and a built-in tool's past call is history its results already carry.
      return;
    } else if (type === "item_reference") {
      throw invalidRequest(`${at}: items by reference need the stored response; send the items themselves.`, at, "unsupported_content");
    } else {
      throw invalidRequest(`${at}: input items of type '${String(type)}' can only be sent to OpenAI models.`, at, "unsupported_content");
    }
  });
  return messages;
}

function responseFormat(text: unknown): Json | undefined {
  const format = isObject(text) && isObject(text.format) ? text.format : undefined;
  if (format === undefined || format.type === "text") return undefined;
  if (format.type === "json_object") return { type: "json_object" };
  if (format.type === "json_schema") {
    return { type: "json_schema", json_schema: { name: typeof format.name === "string" ? format.name : "output", schema: format.schema, ...(typeof format.strict === "boolean" && { strict: format.strict }) } };
  }
  throw invalidRequest(`text.format of type '${String(format.type)}' can only be sent to OpenAI models.`, "text.format", "unsupported_parameter");
}

/** Responses' reasoning effort in Chat Completions' words (minimal and xhigh exist on OpenAI's newest models only). */
function effort(reasoning: unknown): string | undefined {
  const e = isObject(reasoning) ? reasoning.effort : undefined;
  if (e === "low" || e === "medium" || e === "high") return e;
  if (e === "minimal") return "low";
  if (e === "xhigh") return "high";
  return undefined;
}

/** The canonical body for a translated target. */
export function responsesToChat(body: Readonly<Json>, target: ChatTarget): Json {
  // One the gateway kept was resolved into `input` before translation; any left is OpenAI's, which no other provider can continue.
  if (typeof body.previous_response_id === "string") {
    throw invalidRequest("'previous_response_id' names a response OpenAI stored; only OpenAI models can continue it.", "previous_response_id", "unsupported_parameter");
  }
  for (const field of ONLY_NATIVE) {
    if (body[field] !== undefined && body[field] !== null && body[field] !== false) {
      throw invalidRequest(`'${field}' is served by OpenAI's own Responses API; it can only be used with OpenAI models.`, field, "unsupported_parameter");
    }
  }
  const messages: Json[] = [];
  if (typeof body.instructions === "string" && body.instructions.length > 0) messages.push({ role: "system", content: body.instructions });
  messages.push(...inputMessages(body.input));
  if (messages.length === 0) throw invalidRequest("'input' has no message to answer.", "input");
  const out: Json = { model: body.model, messages };
  if (typeof body.max_output_tokens === "number") out[target.maxTokensField] = body.max_output_tokens;
  if (typeof body.temperature === "number") out.temperature = body.temperature;
  if (typeof body.top_p === "number") out.top_p = body.top_p;
  const dropped = droppedTools(body);
  const functions = chatTools(body);
  const choice = chatToolChoice(body, dropped);
  if (functions.length > 0) {
    out.tools = functions;
    if (choice !== undefined) out.tool_choice = choice;
    if (typeof body.parallel_tool_calls === "boolean") out.parallel_tool_calls = body.parallel_tool_calls;
  }
  const format = responseFormat(body.text);
  if (format !== undefined) out.response_format = format;
  const reasoningEffort = target.reasoning ? effort(body.reasoning) : undefined;
  if (reasoningEffort !== undefined) out.reasoning_effort = reasoningEffort;
  const user = typeof body.safety_identifier === "string" ? body.safety_identifier : body.user;
  if (typeof user === "string" && user.length > 0) out.user = user;
  if (body.stream === true) out.stream = true;
  return out;
}
