/**
 * A provider's own event stream relayed to a client of the same API, byte for
 * byte, up to its last complete event: a partial event is held, so that an
 * error event the relay may have to add never lands inside one. Each complete
 * event is handed to `scan` as text (the few that carry usage or the end are
 * parsed there; the rest are not). Used by /v1/messages on Anthropic and
 * /v1/responses on OpenAI.
 */
import { concatBytes, decoder, encoder, endOfEventAt, endOfLastEvent } from "./bytes.ts";

/** An event that has not ended after this many bytes is relayed unscanned rather than held. */
const MAX_HELD_BYTES = 1024 * 1024;

/** The `event:` name an SSE event starts with ("" when it has none). */
export function sseEventName(event: string): string {
  const start = event.startsWith("event:") ? 6 : -1;
  if (start === -1) return "";
  const end = event.indexOf("\n");
  return event.slice(start, end === -1 ? undefined : end).trim();
}

export interface NativeRelay {
  push(chunk: Uint8Array, emit: (bytes: Uint8Array) => void): void;
  end(emit: (bytes: Uint8Array) => void): void;
  discardPartial(): void;
  /** The held, unfinished event's text (what a stream cut short ended with), "" when none. */
  heldText(): string;
}

/** The end of an oversized event kept while it is relayed unscanned: where a terminal event's usage is. */
const TAIL_BYTES = 64 * 1024;

const tailOf = (a: Uint8Array, b: Uint8Array): Uint8Array => {
  const joined = a.length === 0 ? b : concatBytes(a, b);
  return joined.length <= TAIL_BYTES ? joined : joined.slice(joined.length - TAIL_BYTES);
};

/**
 * `onOversized`: called with the name and the last TAIL_BYTES of an event too long to hold
 * (a final response carrying generated images), once it ends, since `scan` never sees it.
 */
export function nativeRelay(scan: (event: string) => string | void, onOversized?: (name: string, tail: Uint8Array) => void): NativeRelay {
  let held: Uint8Array | null = null;
  /** The event being relayed unscanned: its name and its tail so far. */
  let big: { name: string; tail: Uint8Array } | null = null;
  /**
   * Scans `complete` (it ends on an event boundary, ASCII, so it decodes on its own) and relays
   * it: as its own bytes, or, when `scan` rewrote an event (a final usage given its cost), as
   * the events with that one replaced.
   */
  const relayScanned = (complete: Uint8Array, emit: (bytes: Uint8Array) => void): void => {
    const events = decoder.decode(complete).split(/(?<=\r?\n\r?\n)/);
    let rewritten = false;
    const out = events.map((event) => {
      const replaced = scan(event);
      if (typeof replaced !== "string") return event;
      rewritten = true;
      return replaced;
    });
    emit(rewritten ? encoder.encode(out.join("")) : complete);
  };
  const finishBig = (): void => {
    if (big !== null) onOversized?.(big.name, big.tail);
    big = null;
  };

  const relay: NativeRelay = {
    push(chunk, emit) {
      if (big !== null) {
        // The blank line that ends it may straddle two chunks.
        const straddles = big.tail.at(-1) === 0x0a && chunk[0] === 0x0a;
        const end = straddles ? 1 : endOfEventAt(chunk, 0);
        const part = chunk.subarray(0, end);
        emit(part);
        big.tail = tailOf(big.tail, part);
        if (end === chunk.length && !straddles && !/\n\r?\n$/.test(decoder.decode(part.subarray(Math.max(0, part.length - 4))))) return;
        finishBig();
        if (end < chunk.length) relay.push(chunk.subarray(end), emit);
        return;
      }
      const bytes = held === null ? chunk : concatBytes(held, chunk);
      held = null;
      const end = endOfLastEvent(bytes);
      if (end < bytes.length && bytes.length - end <= MAX_HELD_BYTES) {
        held = bytes.slice(end);
        if (end === 0) return;
        relayScanned(bytes.subarray(0, end), emit);
        return;
      }
      // Whole events, or one too long to hold: the whole events scanned, the start of the long one relayed as is.
      if (end > 0) relayScanned(bytes.subarray(0, end), emit);
      if (end < bytes.length) emit(bytes.subarray(end));
      if (end < bytes.length) {
        const partial = bytes.subarray(end);
        big = { name: sseEventName(decoder.decode(partial.subarray(0, 200))), tail: tailOf(new Uint8Array(0), partial) };
      }
    },
    end(emit) {
      if (held !== null && held.length > 0) relayScanned(held, emit);
      held = null;
      finishBig();
    },
    discardPartial() {
      held = null;
      big = null;
    },
    heldText: () => (held === null ? "" : decoder.decode(held)),
  };
  return relay;
}
