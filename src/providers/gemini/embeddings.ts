/**
 * OpenAI embeddings ↔ Gemini `batchEmbedContents`: one request per input
 * text, one `values` vector back per request, in order.
 */
import { invalidRequest } from "../../http/errors.ts";
import { isObject, type Json } from "../json.ts";

export function toGeminiEmbeddings(body: Readonly<Json>, model: string): Json {
  const input = body.input;
  const texts = typeof input === "string" ? [input] : Array.isArray(input) && input.every((t) => typeof t === "string") ? (input as string[]) : null;
  if (texts === null) {
    throw invalidRequest("Gemini embeds text: 'input' must be a string or an array of strings (token arrays cannot be sent).", "input", "unsupported_value");
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

export function fromGeminiEmbeddings(response: Json, model: string, base64: boolean): Json {
  const embeddings = Array.isArray(response.embeddings) ? response.embeddings : [];
  const data = embeddings.map((e, index) => {
    const values = isObject(e) && Array.isArray(e.values) ? (e.values as number[]) : [];
    return { object: "embedding", index, embedding: base64 ? base64Floats(values) : values };
  });
  // batchEmbedContents reports no token counts: usage is unknown (null), never 0, which would meter as free.
  return { object: "list", data, model, usage: null };
}
