/**
 * The frame of a stream translated for a client of another API (/v1/messages'
 * Anthropic events, /v1/responses' semantic events): the provider's stream
 * translator yields Chat Completions chunks, each handed to `handle` as JSON;
 * at the end, unless an error was already sent in-band, `finish` writes the
 * closing events. Usage and completion come from the inner translator.
 */
import type { Json } from "../providers/json.ts";
import type { StreamTranslator } from "../providers/types.ts";
import { sseJsonReader } from "./sse.ts";

export interface ClientStreamHooks {
  handle(chunk: Json, emit: (bytes: Uint8Array) => void): void;
  finish(emit: (bytes: Uint8Array) => void): void;
  /** The error sent in-band (it ends the stream as reported: nothing more is written), or null. */
  failed(): string | null;
}

export function clientStream(inner: StreamTranslator, hooks: ClientStreamHooks): StreamTranslator {
  const chunks = sseJsonReader(); // the inner translator's OpenAI chunks
  const translate = (emit: (b: Uint8Array) => void) => (bytes: Uint8Array): void => {
    chunks.push(bytes, (chunk) => hooks.handle(chunk, emit));
  };
  return {
    push(chunk, emit) {
      inner.push(chunk, translate(emit));
    },
    end(emit) {
      inner.end(translate(emit));
      chunks.end((chunk) => hooks.handle(chunk, emit));
      if (hooks.failed() === null) hooks.finish(emit);
    },
    discardPartial() {
      inner.discardPartial();
      chunks.discard();
    },
    usage: () => inner.usage(),
    // An error already sent in-band ends the stream as reported: the relay adds nothing.
    completed: () => hooks.failed() !== null || inner.completed(),
    inBandError: () => hooks.failed() ?? inner.inBandError?.() ?? null,
  };
}
