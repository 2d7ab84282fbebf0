import {
  concatBytes,
  decoder,
  encoder,
  endOfEventAt,
  endOfLastEvent,
  endsWithTrimmed,
  indexOfBytes,
  startOfEventAt,
} from "../../streaming/bytes.ts";
import type { StreamTranslator, Usage } from "../types.ts";
import { normaliseOpenAIUsage } from "./usage.ts";

export const USAGE_KEY = encoder.encode('usage"');
const DONE = encoder.encode("data: [DONE]");
const DONE_NO_SPACE = encoder.encode("data:[DONE]");
/** An event that has not ended after this many bytes is relayed unscanned rather than held. */
const MAX_HELD_BYTES = 1024 * 1024;
const SPACE = 0x20;
const COLON = 0x3a;
const OPEN_BRACE = 0x7b;
const QUOTE = 0x22;

/** Position of the `{` opening a `"usage": {…}` value whose key starts at `i` (the `u`), or -1. */
export function usageValueAt(bytes: Uint8Array, i: number): number {
  if (i <= 0 || bytes[i - 1] !== QUOTE) return -1;
  let j = i + USAGE_KEY.length;
  while (bytes[j] === SPACE) j++;
  if (bytes[j] !== COLON) return -1;
  j++;
  while (bytes[j] === SPACE) j++;
  return bytes[j] === OPEN_BRACE ? j : -1;
}

/** Position of the `{` opening a `"usage": {…}` value at or after `from`, or -1. */
function findUsageObject(bytes: Uint8Array, from: number): number {
  let i = indexOfBytes(bytes, USAGE_KEY, from);
  while (i !== -1) {
    const at = usageValueAt(bytes, i);
    if (at !== -1) return at;
    i = indexOfBytes(bytes, USAGE_KEY, i + 1);
  }
  return -1;
}

/** The JSON payload of an SSE event's `data:` line(s), or null. */
function eventData(event: Uint8Array): unknown {
  const text = decoder.decode(event);
  const lines: string[] = [];
  for (const line of text.split(/\r?\n/)) {
    if (line.startsWith("data:")) lines.push(line.charCodeAt(5) === SPACE ? line.slice(6) : line.slice(5));
  }
  const data = lines.join("\n");
  try {
    return JSON.parse(data);
  } catch {
    return null;
  }
}

/**
 * OpenAI-compatible streams are relayed byte for byte. Only events carrying a
 * `"usage":{…}` object (normally the last one) are decoded, to read usage, and
 * a usage-only event (`"choices":[]`) the client did not ask for is dropped:
 * the gateway always asks upstreams for usage. Chunks are forwarded up to their
 * last complete event so that the usage event can be removed whole.
 */
export function openAICompatibleStream(options: { clientWantsUsage: boolean; endsWithDone: boolean }): StreamTranslator {
  let held: Uint8Array | null = null;
  let usage: Usage | null = null;
  let done = false;
  const isDone = (bytes: Uint8Array): boolean => endsWithTrimmed(bytes, DONE) || endsWithTrimmed(bytes, DONE_NO_SPACE);

  function forward(bytes: Uint8Array, emit: (b: Uint8Array) => void): void {
    let at = findUsageObject(bytes, 0);
    if (at === -1) {
      emit(bytes);
      return;
    }
    let from = 0;
    while (at !== -1) {
      const start = startOfEventAt(bytes, at);
      const end = endOfEventAt(bytes, at);
      const payload = eventData(bytes.subarray(start, end));
      if (typeof payload === "object" && payload !== null) {
        const record = payload as Record<string, unknown>;
        usage = normaliseOpenAIUsage(record.usage) ?? usage;
        const usageOnly = Array.isArray(record.choices) && record.choices.length === 0;
        if (usageOnly && !options.clientWantsUsage) {
          if (start > from) emit(bytes.subarray(from, start));
          from = end;
        }
      }
      at = findUsageObject(bytes, end);
    }
    if (from < bytes.length) emit(bytes.subarray(from));
  }

  return {
    push(chunk, emit) {
      let bytes = held === null ? chunk : concatBytes(held, chunk);
      held = null;
      const end = endOfLastEvent(bytes);
      if (end < bytes.length) {
        if (bytes.length - end > MAX_HELD_BYTES) {
          // No event boundary in sight: not SSE as we know it. Relay it rather than buffer it.
          emit(bytes);
          return;
        }
        held = bytes.slice(end);
        bytes = bytes.subarray(0, end);
      }
      if (bytes.length === 0) return;
      if (!done && isDone(bytes)) done = true;
      forward(bytes, emit);
    },
    end(emit) {
      if (held !== null && held.length > 0) {
        if (isDone(held)) done = true;
        forward(held, emit);
      }
      held = null;
    },
    discardPartial() {
      held = null;
    },
    usage: () => usage,
    completed: () => done || !options.endsWithDone,
  };
}
