import { decoder, endOfJsonObject, lastIndexOfBytes } from "../../streaming/bytes.ts";
import type { TranslatedBody } from "../types.ts";
import { USAGE_KEY, usageValueAt } from "./stream.ts";
import { normaliseOpenAIUsage } from "./usage.ts";

const WHITESPACE = new Set([0x20, 0x09, 0x0a, 0x0d]);

function edge(bytes: Uint8Array, fromEnd: boolean): number | undefined {
  if (fromEnd) {
    for (let i = bytes.length - 1; i >= 0; i--) if (!WHITESPACE.has(bytes[i] ?? 0)) return bytes[i];
  } else {
    for (const b of bytes) if (!WHITESPACE.has(b)) return b;
  }
  return undefined;
}

/**
 * Reads usage from a non-streamed OpenAI-format answer without parsing all of
 * it: the top-level `usage` object is the last one in the document (OpenAI and
 * compatible providers write it after `choices`/`data`), so it is found from
 * the end and only it is parsed. The answer passes on as the bytes it arrived as.
 */
export function usageInBody(bytes: Uint8Array): TranslatedBody {
  if (edge(bytes, false) !== 0x7b || edge(bytes, true) !== 0x7d) {
    throw new Error("the provider answered 200 with a body that is not a JSON object");
  }
  let i = lastIndexOfBytes(bytes, USAGE_KEY);
  while (i !== -1) {
    const start = usageValueAt(bytes, i);
    const end = start === -1 ? -1 : endOfJsonObject(bytes, start);
    if (end !== -1) {
      try {
        return { body: bytes, usage: normaliseOpenAIUsage(JSON.parse(decoder.decode(bytes.subarray(start, end)))) };
      } catch {
        // Not a usage object after all: keep looking further back.
      }
    }
    i = i > 0 ? lastIndexOfBytes(bytes, USAGE_KEY, i - 1) : -1;
  }
  return { body: bytes, usage: null };
}
