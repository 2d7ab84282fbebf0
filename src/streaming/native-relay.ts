/**
 * A provider's own event stream relayed to a client of the same API, byte for
 * byte, up to its last complete event: a partial event is held, so that an
 * error event the relay may have to add never lands inside one. Each complete
 * event is handed to `scan` as text (the few that carry usage or the end are
 * parsed there; the rest are not). Used by /v1/messages on Anthropic and
 * /v1/responses on OpenAI.
 */
import { concatBytes, decoder, endOfLastEvent } from "./bytes.ts";

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

export function nativeRelay(scan: (event: string) => void): NativeRelay {
  let held: Uint8Array | null = null;
  /** `complete` ends on an event boundary (ASCII), so it decodes on its own. */
  const scanAll = (complete: Uint8Array): void => {
    for (const event of decoder.decode(complete).split(/\r?\n\r?\n/)) scan(event);
  };
  return {
    push(chunk, emit) {
      const bytes = held === null ? chunk : concatBytes(held, chunk);
      held = null;
      const end = endOfLastEvent(bytes);
      if (end < bytes.length && bytes.length - end <= MAX_HELD_BYTES) {
        held = bytes.slice(end);
        if (end === 0) return;
        const complete = bytes.subarray(0, end);
        emit(complete);
        scanAll(complete);
        return;
      }
      emit(bytes); // whole events, or one too long to hold: relayed as is
      if (end > 0) scanAll(bytes.subarray(0, end));
    },
    end(emit) {
      if (held !== null && held.length > 0) {
        emit(held);
        scanAll(held);
      }
      held = null;
    },
    discardPartial() {
      held = null;
    },
    heldText: () => (held === null ? "" : decoder.decode(held)),
  };
}
