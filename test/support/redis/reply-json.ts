/**
 * Redis replies as Upstash's REST API writes them: integers as numbers, nil as
 * null, arrays recursively, strings as UTF-8 text (invalid bytes become U+FFFD)
 * or, when the request carried `Upstash-Encoding: base64`, as base64 — every
 * string but a top-level "OK" status, which @upstash/redis checks for by value.
 */
import { RespError, RespStatus, type RespValue } from "./resp.ts";

function text(bytes: Buffer, base64: boolean): string {
  return JSON.stringify(base64 ? bytes.toString("base64") : bytes.toString("utf8"));
}

/** The JSON text of a value; integers are written digit for digit, as Redis sent them. */
export function valueJson(value: RespValue, base64: boolean, topLevel = true): string {
  if (value === null) return "null";
  if (typeof value === "bigint") return value.toString();
  if (Buffer.isBuffer(value)) return text(value, base64);
  if (value instanceof RespStatus) {
    if (!base64 || (topLevel && value.text === "OK")) return JSON.stringify(value.text);
    return text(Buffer.from(value.text, "utf8"), true);
  }
  // An error nested in an array (a script's table, not a command's reply): its message, never encoded.
  if (value instanceof RespError) return JSON.stringify(value.message);
  return `[${value.map((item) => valueJson(item, base64, false)).join(",")}]`;
}

/** `{"result": …}` or `{"error": "…"}`: one command's entry (the whole body on `/`, an item on `/pipeline`). */
export function entryJson(reply: RespValue, base64: boolean): string {
  if (reply instanceof RespError) return `{"error":${JSON.stringify(reply.message)}}`;
  return `{"result":${valueJson(reply, base64)}}`;
}
