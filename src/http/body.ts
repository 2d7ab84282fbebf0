import type { Settings } from "../config/settings.ts";
import { encoder, readTextUpTo } from "../streaming/bytes.ts";
import { GatewayError, invalidRequest } from "./errors.ts";
import { checkJsonShape, checkToolArgumentShapes, JsonShapeTally, type JsonShapeLimits } from "./json-shape.ts";

function tooLarge(limit: number): GatewayError {
  return new GatewayError(413, `Request body is larger than this gateway's limit of ${limit} bytes.`, {
    code: "request_too_large",
  });
}

/**
 * Reads the request body as text, refusing (413) as soon as it passes `limit`:
 * a declared `content-length` is checked before reading anything, and a chunked
 * body is counted as it arrives so an endless one cannot exhaust memory.
 */
export async function readBodyText(request: Request, limit: number): Promise<string> {
  const declared = request.headers.get("content-length");
  if (declared !== null && Number(declared) > limit) throw tooLarge(limit);
  if (request.body === null) return "";
  if (declared !== null) {
    // The runtime enforces content-length, so the whole-body read is bounded.
    return request.text();
  }
  const { text, over } = await readTextUpTo(request.body, limit);
  if (over) throw tooLarge(limit);
  return text;
}

/** What bounds a body: its size, then its structure (checked before it is parsed). */
type BodyLimits = Pick<Settings, "maxRequestBytes" | "jsonShape">;

/** Parses a JSON object body; anything else is a 400 the client can act on. */
export async function readJsonObject(request: Request, limits: BodyLimits): Promise<Record<string, unknown>> {
  return parseJsonObject(await readBodyText(request, limits.maxRequestBytes), limits.jsonShape);
}

/**
 * A JSON object body and its size in UTF-8 bytes (the declared length, or
 * counted): metering bounds a request's input tokens by it.
 */
export async function readJsonRequest(request: Request, limits: BodyLimits): Promise<{ body: Record<string, unknown>; bytes: number; text: string }> {
  const text = await readBodyText(request, limits.maxRequestBytes);
  const declared = Number(request.headers.get("content-length") ?? NaN);
  const bytes = Number.isSafeInteger(declared) && declared >= 0 ? declared : encoder.encode(text).byteLength;
  return { body: parseJsonObject(text, limits.jsonShape), bytes, text };
}

function parseJsonObject(text: string, shape: JsonShapeLimits): Record<string, unknown> {
  if (text.length === 0) throw invalidRequest("The request body is empty; expected a JSON object.", null, "invalid_json");
  const tally = new JsonShapeTally();
  checkJsonShape(text, shape, tally);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw invalidRequest(
      "We could not parse the JSON body of your request. The body must be valid JSON (check quoting and trailing commas).",
      null,
      "invalid_json",
    );
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw invalidRequest("The request body must be a JSON object.", null, "invalid_json");
  }
  const body = parsed as Record<string, unknown>;
  // Tool calls' arguments are JSON in strings that translating adapters parse: they count against the same limits.
  if (tally.containers > 0) checkToolArgumentShapes(body.messages, shape, tally);
  return body;
}
