import {
  concatBytes,
  decoder,
  encoder,
  endOfEventAt,
  endOfLastEvent,
  indexOfBytes,
  startOfEventAt,
} from "../../streaming/bytes.ts";
import { sseEventJson } from "../../streaming/sse.ts";
import type { CostOf, StreamTranslator, Usage } from "../types.ts";
import { normaliseOpenAIUsage, withServiceTier, type UsageSemantics } from "./usage.ts";

export const USAGE_KEY = encoder.encode('usage"');
const DONE_FIELD = encoder.encode("data:");
const DONE_VALUE = encoder.encode("[DONE]");
const LF = 0x0a;
/** An event that has not ended after this many bytes is relayed unscanned rather than held. */
const MAX_HELD_BYTES = 1024 * 1024;
const SPACE = 0x20;
const COLON = 0x3a;
const OPEN_BRACE = 0x7b;
const QUOTE = 0x22;

const isJsonSpace = (b: number | undefined): boolean => b === SPACE || b === 0x0a || b === 0x0d || b === 0x09;

/** Position of the `{` opening a `"usage": {…}` value whose key starts at `i` (the `u`), or -1. */
export function usageValueAt(bytes: Uint8Array, i: number): number {
  if (i <= 0 || bytes[i - 1] !== QUOTE) return -1;
  let j = i + USAGE_KEY.length;
  while (isJsonSpace(bytes[j])) j++;
  if (bytes[j] !== COLON) return -1;
  j++;
  while (isJsonSpace(bytes[j])) j++;
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

/** Whether a line `data: [DONE]` (space optional) starts anywhere in `bytes`. */
function hasDoneEvent(bytes: Uint8Array): boolean {
  let i = indexOfBytes(bytes, DONE_VALUE);
  while (i !== -1) {
    let j = i - 1;
    if (bytes[j] === SPACE) j--;
    const fieldStart = j - DONE_FIELD.length + 1;
    if (fieldStart >= 0 && (fieldStart === 0 || bytes[fieldStart - 1] === LF)) {
      let k = 0;
      while (k < DONE_FIELD.length && bytes[fieldStart + k] === DONE_FIELD[k]) k++;
      if (k === DONE_FIELD.length) return true;
    }
    i = indexOfBytes(bytes, DONE_VALUE, i + 1);
  }
  return false;
}


function usageEventWithCost(event: Record<string, unknown>, usage: Usage, costOf: CostOf): Uint8Array {
  const cost = costOf(usage);
  const raw = event.usage as Record<string, unknown>;
  return encoder.encode(`data: ${JSON.stringify(cost === null ? event : { ...event, usage: { ...raw, cost } })}\n\n`);
}

/**
 * OpenAI-compatible streams are relayed byte for byte. Only events carrying a
 * `"usage":{…}` object (normally the last one) are decoded, to read usage, and
 * a usage-only event (`"choices":[]`) the client did not ask for is dropped:
 * the gateway always asks upstreams for usage. Chunks are forwarded up to their
 * last complete event so that the usage event can be removed whole.
 */
export function openAICompatibleStream(options: {
  clientWantsUsage: boolean;
  endsWithDone: boolean;
  costOf?: CostOf | undefined;
  /** How the provider's usage reads (ProviderPreset.usage). */
  usage?: UsageSemantics | undefined;
  /** The provider names the service tier it served on its chunks (read from the usage chunk). */
  serviceTiers?: boolean;
}): StreamTranslator {
  let held: Uint8Array | null = null;
  let usage: Usage | null = null;
  let done = false;

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
      const payload = sseEventJson(decoder.decode(bytes.subarray(start, end)));
      if (typeof payload === "object" && payload !== null) {
        const record = payload as Record<string, unknown>;
        let found = normaliseOpenAIUsage(record.usage, options.usage);
        if (options.serviceTiers) found = withServiceTier(found, record.service_tier);
        usage = found ?? usage;
        const usageOnly = Array.isArray(record.choices) && record.choices.length === 0;
        if (usageOnly && !options.clientWantsUsage) {
          if (start > from) emit(bytes.subarray(from, start));
          from = end;
        } else if (usageOnly && found !== null && options.costOf !== undefined) {
          // The one event re-written: the usage chunk gains the gateway's cost, its other fields as sent.
          if (start > from) emit(bytes.subarray(from, start));
          emit(usageEventWithCost(record, found, options.costOf));
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
      let oversized: Uint8Array | null = null;
      if (end < bytes.length) {
        // An event that never ends is not SSE as we know it: relay it rather than buffer it.
        if (bytes.length - end > MAX_HELD_BYTES) oversized = bytes.subarray(end);
        else held = bytes.slice(end);
        bytes = bytes.subarray(0, end);
      }
      if (bytes.length > 0) {
        if (!done && hasDoneEvent(bytes)) done = true;
        forward(bytes, emit);
      }
      if (oversized !== null) emit(oversized);
    },
    end(emit) {
      if (held !== null && held.length > 0) {
        if (hasDoneEvent(held)) done = true;
        forward(held, emit);
      }
      held = null;
    },
    discardPartial() {
      held = null;
    },
    usage: () => usage,
    // A `[DONE]` still held (sent without its blank line) counts: `end()` will relay it.
    completed: () => done || !options.endsWithDone || (held !== null && hasDoneEvent(held)),
  };
}
