/**
 * OpenAI messages → Gemini `systemInstruction` and `contents`. Gemini knows two
 * roles (`user`, `model`); tool results are `functionResponse` parts of a user
 * turn, addressed by function name (which OpenAI's tool messages lack, so it is
 * looked up from the earlier tool call's id) and paired with the calls by
 * position, or on Gemini 3 by the id Gemini gave the call.
 */
import { invalidRequest } from "../../http/errors.ts";
import { isObject, toolArguments, type Json } from "../json.ts";
import { isGemini3OrLater } from "./models.ts";
import { isGeneratedToolCallId } from "./parts.ts";

/**
 * Google's documented stand-in for a thought signature the history does not
 * have (a conversation begun on another provider before a failover, or a
 * client that dropped it): Gemini 3 refuses function calls without one.
 */
export const DUMMY_THOUGHT_SIGNATURE = "skip_thought_signature_validator";

/** File types Gemini reads from a URL, by extension: `fileData` needs a MIME type. */
const MIME_BY_EXTENSION: Record<string, string> = {
  png: "image/png", jpg: "image/jpeg", jpeg: "image/jpeg", webp: "image/webp", heic: "image/heic", heif: "image/heif",
  gif: "image/gif", pdf: "application/pdf", mp3: "audio/mp3", wav: "audio/wav", mp4: "video/mp4", txt: "text/plain",
};

function mediaPart(url: string, param: string): Json {
  const data = /^data:([^;,]+);base64,(.*)$/s.exec(url);
  if (data !== null) return { inlineData: { mimeType: data[1], data: data[2] } };
  if (/^https?:\/\//i.test(url)) {
    if (!URL.canParse(url)) throw invalidRequest(`'${url}' is not a valid URL.`, param, "invalid_value");
    const extension = /\.([a-z0-9]+)(?:[?#]|$)/i.exec(new URL(url).pathname)?.[1]?.toLowerCase();
    const mimeType = extension === undefined ? undefined : MIME_BY_EXTENSION[extension];
    if (mimeType === undefined) {
      throw invalidRequest(`Gemini needs the file type of '${url}': use a URL ending in .${Object.keys(MIME_BY_EXTENSION).join("/.")}, or a data: URL.`, param, "unsupported_value");
    }
    return { fileData: { mimeType, fileUri: url } };
  }
  throw invalidRequest("An image must be a data: URL or an http(s) URL.", param, "invalid_value");
}

/** One OpenAI content part → one Gemini part. */
function part(p: unknown, param: string): Json | null {
  if (!isObject(p)) throw invalidRequest("Each content part must be an object.", param, "invalid_type");
  if (p.type === "text" || p.type === "refusal") {
    const text = p.type === "text" ? p.text : p.refusal;
    return typeof text === "string" && text.length > 0 ? { text } : null;
  }
  if (p.type === "image_url") {
    const image = p.image_url;
    const url = typeof image === "string" ? image : isObject(image) ? image.url : undefined;
    if (typeof url !== "string") throw invalidRequest("'image_url.url' is required.", param, "invalid_value");
    return mediaPart(url, param);
  }
  if (p.type === "input_audio" && isObject(p.input_audio) && typeof p.input_audio.data === "string") {
    return { inlineData: { mimeType: p.input_audio.format === "mp3" ? "audio/mp3" : "audio/wav", data: p.input_audio.data } };
  }
  if (p.type === "file" && isObject(p.file) && typeof p.file.file_data === "string") return mediaPart(p.file.file_data, param);
  throw invalidRequest(`Content parts of type '${String(p.type)}' cannot be sent to Gemini.`, param, "unsupported_value");
}

function parts(content: unknown, param: string): Json[] {
  if (typeof content === "string") return content.length > 0 ? [{ text: content }] : [];
  if (!Array.isArray(content)) return [];
  const out: Json[] = [];
  content.forEach((p, j) => {
    const translated = part(p, `${param}[${j}]`);
    if (translated !== null) out.push(translated);
  });
  return out;
}

/** A tool result as Gemini's `response` object: a JSON object as it is, anything else under `result`. */
function toolResponse(content: unknown): Json {
  const text = typeof content === "string"
    ? content
    : Array.isArray(content) ? content.map((p) => (isObject(p) && typeof p.text === "string" ? p.text : "")).join("") : "";
  try {
    const parsed: unknown = JSON.parse(text);
    if (isObject(parsed)) return parsed;
  } catch {
    // plain text
  }
  return { result: text };
}

const signatureOf = (call: Json): unknown => {
  const google = isObject(call.extra_content) && isObject(call.extra_content.google) ? call.extra_content.google : undefined;
  return google?.thought_signature;
};

/** An earlier tool call, as its result must answer it. */
interface CallRecord {
  name: string;
  /** Its place among the calls of its model turn: Gemini pairs responses with calls by position. */
  position: number;
  /** The id to send back (Gemini 3, ids Gemini issued), or undefined. */
  id: string | undefined;
}

/** `before`: function calls already in the model turn these join (assistant messages in a row make one turn). */
function functionCallParts(calls: unknown[], records: Map<string, CallRecord>, param: string, sendIds: boolean, before: number): Json[] {
  const out: Json[] = [];
  calls.forEach((call, k) => {
    if (!isObject(call) || !isObject(call.function) || typeof call.function.name !== "string") {
      throw invalidRequest("Each tool call needs a 'function.name'.", `${param}[${k}]`, "invalid_value");
    }
    // Gemini 3 maps each response to its call by the id it issued; an id the gateway made up
    // (Gemini sent none) and any id for older models, which pair by position alone, stay out.
    const id = sendIds && typeof call.id === "string" && !isGeneratedToolCallId(call.id) ? call.id : undefined;
    if (typeof call.id === "string") records.set(call.id, { name: call.function.name, position: before + k, id });
    const functionCall: Json = { name: call.function.name, args: toolArguments(call.function.arguments) };
    if (id !== undefined) functionCall.id = id;
    const p: Json = { functionCall };
    const signature = signatureOf(call);
    if (typeof signature === "string" && signature.length > 0) p.thoughtSignature = signature;
    out.push(p);
  });
  // Parallel calls carry one signature, on the first call: a history without any gets the documented stand-in.
  const first = out[0];
  if (first !== undefined && !out.some((p) => p.thoughtSignature !== undefined)) first.thoughtSignature = DUMMY_THOUGHT_SIGNATURE;
  return out;
}

/**
 * Puts a turn's function responses in the order of the calls they answer
 * (`positions`): clients may send tool results in any order (parallel tools
 * finish when they finish), but Gemini pairs them with the calls by position.
 */
function orderResponses(turn: Json, positions: Map<Json, number>): void {
  const parts = Array.isArray(turn.parts) ? (turn.parts as Json[]) : [];
  const slots = parts.flatMap((p, i) => (positions.has(p) ? [i] : []));
  const byCall = slots.map((i) => parts[i] as Json).sort((a, b) => (positions.get(a) ?? 0) - (positions.get(b) ?? 0));
  slots.forEach((slot, k) => {
    parts[slot] = byCall[k] as Json;
  });
}

/** Appends parts to the last turn if it has the same role: Gemini wants one turn per speaker change. */
function push(contents: Json[], role: "user" | "model", added: Json[]): void {
  if (added.length === 0) return;
  const last = contents[contents.length - 1];
  if (last !== undefined && last.role === role) (last.parts as Json[]).push(...added);
  else contents.push({ role, parts: added });
}

export function toGeminiContents(messages: unknown[], model: string): { system: Json[]; contents: Json[] } {
  const system: Json[] = [];
  const contents: Json[] = [];
  const calls = new Map<string, CallRecord>();
  const responsePositions = new Map<Json, number>();
  const sendIds = isGemini3OrLater(model);
  messages.forEach((message, i) => {
    const param = `messages[${i}]`;
    if (!isObject(message)) return;
    switch (message.role) {
      case "system":
      case "developer":
        system.push(...parts(message.content, `${param}.content`).filter((p) => typeof p.text === "string"));
        return;
      case "user":
        return push(contents, "user", parts(message.content, `${param}.content`));
      case "assistant": {
        // reasoning_content is not sent back: Gemini reads only its own signed thoughts.
        const added = parts(message.content, `${param}.content`);
        if (Array.isArray(message.tool_calls)) {
          const last = contents.at(-1);
          const before = last?.role === "model" && Array.isArray(last.parts) ? last.parts.filter((p) => isObject(p) && p.functionCall !== undefined).length : 0;
          added.push(...functionCallParts(message.tool_calls, calls, `${param}.tool_calls`, sendIds, before));
        }
        return push(contents, "model", added);
      }
      case "tool": {
        const call = typeof message.tool_call_id === "string" ? calls.get(message.tool_call_id) : undefined;
        if (call === undefined) {
          throw invalidRequest("'tool_call_id' does not match a tool call of an earlier assistant message.", `${param}.tool_call_id`, "invalid_value");
        }
        const functionResponse: Json = { name: call.name, response: toolResponse(message.content) };
        if (call.id !== undefined) functionResponse.id = call.id;
        const part: Json = { functionResponse };
        responsePositions.set(part, call.position);
        return push(contents, "user", [part]);
      }
      default:
        throw invalidRequest(`Messages with the role '${String(message.role)}' cannot be sent to Gemini.`, `${param}.role`, "unsupported_value");
    }
  });
  if (responsePositions.size > 0) for (const turn of contents) if (turn.role === "user") orderResponses(turn, responsePositions);
  return { system, contents };
}
