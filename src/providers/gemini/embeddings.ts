/**
 * OpenAI embeddings ↔ Gemini `batchEmbedContents`: one request per input
 * text, one `values` vector back per request, in order.
 */

/** Google's cap on one `batchEmbedContents` call ("at most 100 requests can be in one batch"). */
const MAX_INPUTS = 100;
import { invalidRequest } from "../../http/errors.ts";
import { isObject, type Json } from "../json.ts";

export function toGeminiEmbeddings(body: Readonly<Json>, model: string): Json {
  const input = body.input;
  const texts = typeof input === "string" ? [input] : Array.isArray(input) && input.every((t) => typeof t === "string") ? (input as string[]) : null;
  if (texts === null) {
    throw invalidRequest("Gemini embeds text: 'input' must be a string or an array of strings (token arrays cannot be sent).", "input", "unsupported_value");
  }
  // More would take several upstream calls, which one attempt is not: refused, so the client splits them.
  if (texts.length > MAX_INPUTS) {
    throw invalidRequest(`Gemini embeds at most ${MAX_INPUTS} inputs in one request; this one has ${texts.length}. Send them in batches of ${MAX_INPUTS}.`, "input", "invalid_value");
  }
  if (body.encoding_format !== undefined && body.encoding_format !== null && body.encoding_format !== "float" && body.encoding_format !== "base64") {
    throw invalidRequest("'encoding_format' must be 'float' or 'base64'.", "encoding_format", "invalid_value");
  }
  const dimensions = typeof body.dimensions === "number" ? { outputDimensionality: body.dimensions } : {};
  return { requests: texts.map((text) => ({ model: `models/${model}`, content: { parts: [{ text }] }, ...dimensions })) };
}

/** Little-endian float32 bytes in base64: what OpenAI sends for `encoding_format: "base64"` (the SDKs' default). */
function base64Floats(values: number[]): string {
  const view = new DataView(new ArrayBuffer(values.length * 4));
  values.forEach((v, i) => view.setFloat32(i * 4, v, true));
  const bytes = new Uint8Array(view.buffer);
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

/**
 * The vector scaled to length 1, in float32 (so both encodings carry the same
 * numbers). Gemini normalises only its full-size vectors; one cut short by
 * `outputDimensionality` is not, and OpenAI clients compare by dot product,
 * which is cosine similarity only for unit vectors.
 */
function unitVector(values: number[]): number[] {
  let sum = 0;
  for (const v of values) sum += v * v;
  const norm = Math.sqrt(sum);
  return norm === 0 ? values : values.map((v) => Math.fround(v / norm));
}

/** `truncated`: the client asked for `dimensions`, so Gemini's vectors may be cut short and not of unit length. */
export function fromGeminiEmbeddings(response: Json, model: string, options: { base64: boolean; truncated: boolean }): Json {
  const embeddings = Array.isArray(response.embeddings) ? response.embeddings : [];
  const data = embeddings.map((e, index) => {
    const raw = isObject(e) && Array.isArray(e.values) ? (e.values as number[]) : [];
    const values = options.truncated ? unitVector(raw) : raw;
    return { object: "embedding", index, embedding: options.base64 ? base64Floats(values) : values };
  });
  // batchEmbedContents reports no token counts: usage is unknown (null), never 0, which would meter as free.
  return { object: "list", data, model, usage: null };
}
