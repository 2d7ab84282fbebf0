import type { StreamTranslator, Usage } from "../providers/types.ts";
import { encoder } from "./bytes.ts";

/** How a relayed stream ended, for the request log (and, later, settling spend). */
export type StreamEnd =
  | { kind: "completed"; usage: Usage | null }
  | { kind: "upstream_error"; usage: Usage | null; message: string }
  | { kind: "client_cancelled"; usage: Usage | null };

export interface RelayOptions {
  /** Longest silence from the upstream between two chunks before giving up. */
  idleTimeoutMs: number;
  provider: string;
  onEnd(end: StreamEnd): void;
}

/** The SSE error event sent after the commit point, as OpenAI's SDKs expect it. */
export function sseErrorEvent(message: string, code: string): Uint8Array {
  const body = { error: { message, type: "upstream_error", param: null, code } };
  return encoder.encode(`data: ${JSON.stringify(body)}\n\n`);
}

/** Chunks the relay may queue ahead of a slow client before it stops reading upstream. */
const QUEUE_CHUNKS = 32;

/**
 * Relays an upstream event stream to the client chunk by chunk, through the
 * adapter's translator. A pump reads upstream and enqueues as soon as bytes
 * arrive (each chunk costs one wake-up of the isolate, the least a stream that
 * JavaScript must see can cost), pausing when a slow client lets the queue fill.
 *
 * Once bytes have reached the client a failure can no longer be a status code,
 * so it is sent as an SSE error event and the stream closes: never a silent
 * truncation. A client disconnect cancels the upstream read, which closes that
 * connection. Silence is watched by one re-armed timer, not a timer per read.
 */
export function relayStream(
  upstream: ReadableStream<Uint8Array>,
  translator: StreamTranslator,
  options: RelayOptions,
): ReadableStream<Uint8Array> {
  const reader = upstream.getReader();
  let ended = false;
  let lastChunkAt = Date.now();
  let idleTimer = 0;
  let idleExpired = false;
  let resumePump: (() => void) | null = null;

  const finish = (end: StreamEnd): void => {
    if (ended) return;
    ended = true;
    clearTimeout(idleTimer);
    options.onEnd(end);
  };

  const watchIdle = (): void => {
    // Waiting on a slow client is not the provider's silence.
    if (resumePump !== null) lastChunkAt = Date.now();
    const quietFor = Date.now() - lastChunkAt;
    if (quietFor < options.idleTimeoutMs) {
      idleTimer = setTimeout(watchIdle, options.idleTimeoutMs - quietFor);
      return;
    }
    idleExpired = true;
    reader.cancel("idle timeout").catch(() => {});
  };

  async function pump(controller: ReadableStreamDefaultController<Uint8Array>): Promise<void> {
    const emit = (bytes: Uint8Array): void => controller.enqueue(bytes);
    const fail = (message: string, code: string): void => {
      translator.discardPartial();
      emit(sseErrorEvent(message, code));
      controller.close();
      finish({ kind: "upstream_error", usage: translator.usage(), message });
    };
    const timedOut = (): void =>
      fail(`The provider '${options.provider}' sent nothing for ${options.idleTimeoutMs} ms; the stream was closed.`, "upstream_stream_timeout");

    idleTimer = setTimeout(watchIdle, options.idleTimeoutMs);
    try {
      for (;;) {
        const result = await reader.read();
        if (ended) return; // the client went away meanwhile
        if (result.done) break;
        lastChunkAt = Date.now();
        translator.push(result.value, emit);
        if ((controller.desiredSize ?? 1) <= 0) {
          await new Promise<void>((resolve) => (resumePump = resolve));
          lastChunkAt = Date.now();
        }
      }
    } catch (err) {
      if (ended) return;
      if (idleExpired) return timedOut();
      const why = err instanceof Error ? err.message : String(err);
      return fail(`The connection to '${options.provider}' broke mid-stream: ${why}`, "upstream_stream_error");
    }
    if (ended) return;
    if (idleExpired) return timedOut();
    if (!translator.completed()) {
      return fail(`The provider '${options.provider}' closed the stream before the end of its answer.`, "upstream_stream_incomplete");
    }
    translator.end(emit);
    controller.close();
    finish({ kind: "completed", usage: translator.usage() });
  }

  return new ReadableStream<Uint8Array>(
    {
      start(controller) {
        // Not awaited: `start` must return for the response to begin.
        void pump(controller);
      },
      pull() {
        const resume = resumePump;
        resumePump = null;
        resume?.();
      },
      cancel(reason) {
        finish({ kind: "client_cancelled", usage: translator.usage() });
        resumePump?.();
        return reader.cancel(reason).catch(() => {});
      },
    },
    { highWaterMark: QUEUE_CHUNKS },
  );
}
