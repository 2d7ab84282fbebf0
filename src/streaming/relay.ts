import type { StreamTranslator, Usage } from "../providers/types.ts";
import { encoder } from "./bytes.ts";
import type { PeekedStream } from "./first-event.ts";
import { errorEvent } from "./openai-events.ts";

/**
 * How a relayed stream ended, for the request log and settling its spend.
 * `usage` is what the provider reported so far (complete only for `completed`);
 * `pieces` counts the events written to the client (a streamed delta carries
 * at least one token), from which a stream without usage is estimated.
 */
export type StreamEnd = (
  | { kind: "completed"; usage: Usage | null }
  | { kind: "upstream_error"; usage: Usage | null; message: string }
  | { kind: "client_cancelled"; usage: Usage | null }
) & { pieces: number };

export interface RelayOptions {
  /** Longest silence from the upstream between two chunks before giving up. */
  idleTimeoutMs: number;
  provider: string;
  onEnd(end: StreamEnd): void;
  /** How a failure after the commit point is told to the client; OpenAI's `data: {"error":…}` by default. */
  errorEvent?: ((message: string, code: string) => Uint8Array) | undefined;
  /** Sees each piece written to the client (heartbeats aside): a key that logs bodies keeps them. */
  onChunk?: ((bytes: Uint8Array) => void) | undefined;
}


/** SSE events ended in `bytes` (blank lines: `\n\n` or `\n\r\n`); at least 1 for a write that ends none (a binary or split event). */
function eventsIn(bytes: Uint8Array): number {
  let count = 0;
  let i = bytes.indexOf(0x0a);
  while (i !== -1) {
    const next = bytes[i + 1];
    if (next === 0x0a || (next === 0x0d && bytes[i + 2] === 0x0a)) count++;
    i = bytes.indexOf(0x0a, i + 1);
  }
  return Math.max(count, 1);
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** Bytes the relay may queue ahead of a slow client before it stops reading upstream. */
const QUEUE_BYTES = 64 * 1024;
/** An SSE comment: clients ignore it; writing it finds out whether the client is still there. */
const HEARTBEAT = encoder.encode(":\n\n");
const MAX_HEARTBEAT_MS = 15_000;

/** The relayed stream, and a promise that settles once the relay has finished (for `waitUntil`). */
export interface Relay {
  readable: ReadableStream<Uint8Array>;
  done: Promise<void>;
}

/**
 * Relays an upstream event stream to the client chunk by chunk, through the
 * adapter's translator. A pump reads upstream and writes to the runtime's
 * native `IdentityTransformStream` as soon as bytes arrive, pausing while a slow
 * client leaves more than QUEUE_BYTES unread. (Measured on workerd, the native
 * sink costs ~10 % less CPU per stream than a JavaScript ReadableStream; see
 * bench/README.md.)
 *
 * Once bytes have reached the client a failure can no longer be a status code,
 * so it is sent as an SSE error event and the stream closes: never a silent
 * truncation. A client disconnect cancels the upstream read, which closes that
 * connection. One re-armed timer watches both sides: a provider silent for
 * `idleTimeoutMs` ends the stream with an error event; during shorter silences
 * an SSE comment is written, which keeps proxies from dropping the connection
 * and reveals a client that has gone; a client that reads nothing for
 * `idleTimeoutMs` while data waits for it is let go.
 */
export function relayStream(upstream: PeekedStream, translator: StreamTranslator, options: RelayOptions): Relay {
  const { reader } = upstream;
  const output = new IdentityTransformStream({ highWaterMark: QUEUE_BYTES });
  const writer = output.writable.getWriter();
  let ended = false;
  let paused = false; // the pump is waiting for the client to read
  let clientProgressAt = 0; // while paused: when the client was last seen taking bytes
  let queueSeen: number | null = null;
  let lastChunkAt = Date.now();
  let lastWriteAt = lastChunkAt;
  let idleTimer = 0;
  let idleExpired = false;
  const heartbeatMs = Math.min(Math.max(options.idleTimeoutMs / 4, 1), MAX_HEARTBEAT_MS);

  let pieces = 0;
  const finish = (end: DistributiveOmit<StreamEnd, "pieces">): void => {
    if (ended) return;
    ended = true;
    clearTimeout(idleTimer);
    options.onEnd({ ...end, pieces });
  };

  const letClientGo = (): void => {
    reader.cancel("client stopped reading").catch(() => {});
    writer.abort("client stopped reading").catch(() => {});
    finish({ kind: "client_cancelled", usage: translator.usage() });
  };

  const watch = (): void => {
    if (ended) return;
    const now = Date.now();
    if (paused) {
      // Waiting on a slow client is not the provider's silence; but a client that takes nothing is gone.
      if (writer.desiredSize !== queueSeen) {
        queueSeen = writer.desiredSize;
        clientProgressAt = now;
      } else if (now - clientProgressAt >= options.idleTimeoutMs) {
        return letClientGo();
      }
    } else if (now - lastChunkAt >= options.idleTimeoutMs) {
      idleExpired = true;
      reader.cancel("idle timeout").catch(() => {});
      return;
    } else if (now - lastWriteAt >= heartbeatMs) {
      emit(HEARTBEAT);
    }
    idleTimer = setTimeout(watch, heartbeatMs);
  };

  // The client went away: the runtime cancels the response body, which errors the writer.
  writer.closed.catch(() => {
    finish({ kind: "client_cancelled", usage: translator.usage() });
    reader.cancel("client disconnected").catch(() => {});
  });

  // The newest write resolves once the client has read it (the queue is drained up to there).
  let lastWrite: Promise<void> = Promise.resolve();
  const emit = (bytes: Uint8Array): void => {
    if (bytes !== HEARTBEAT) {
      pieces += eventsIn(bytes);
      options.onChunk?.(bytes);
    }
    lastWriteAt = Date.now();
    lastWrite = writer.write(bytes);
    lastWrite.catch(() => {}); // a failed write means the client left: handled above
  };
  const close = (): void => {
    writer.close().catch(() => {});
  };
  const fail = (message: string, code: string): void => {
    reader.cancel(message).catch(() => {});
    translator.discardPartial();
    emit(options.errorEvent?.(message, code) ?? errorEvent(message, "upstream_error", code));
    close();
    finish({ kind: "upstream_error", usage: translator.usage(), message });
  };
  // The provider's error already went to the client, in its format: stop reading and close.
  const endedInBand = (): boolean => {
    const message = translator.inBandError?.() ?? null;
    if (message === null) return false;
    reader.cancel("the provider reported an error").catch(() => {});
    close();
    finish({ kind: "upstream_error", usage: translator.usage(), message });
    return true;
  };
  const timedOut = (): void =>
    fail(`The provider '${options.provider}' sent nothing for ${options.idleTimeoutMs} ms; the stream was closed.`, "upstream_stream_timeout");

  async function pump(): Promise<void> {
    idleTimer = setTimeout(watch, heartbeatMs);
    try {
      if (upstream.head.byteLength > 0) translator.push(upstream.head, emit);
      if (endedInBand()) return;
      for (;;) {
        const result = await reader.read();
        if (ended) return; // the client went away meanwhile
        if (result.done) break;
        lastChunkAt = Date.now();
        translator.push(result.value, emit);
        if (endedInBand()) return;
        if ((writer.desiredSize ?? 1) <= 0) {
          paused = true;
          clientProgressAt = Date.now();
          queueSeen = writer.desiredSize;
          // (`writer.ready` of an IdentityTransformStream is not relied on: workerd leaves it pending.)
          await lastWrite.catch(() => {});
          paused = false;
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
    if (endedInBand()) return;
    if (!translator.completed()) {
      return fail(`The provider '${options.provider}' closed the stream before the end of its answer.`, "upstream_stream_incomplete");
    }
    translator.end(emit);
    close();
    finish({ kind: "completed", usage: translator.usage() });
  }

  const done = pump().catch((err: unknown) => {
    // A bug in a translator must not leave the upstream open or the client hanging.
    reader.cancel(err).catch(() => {});
    writer.abort(err).catch(() => {});
    finish({ kind: "upstream_error", usage: translator.usage(), message: err instanceof Error ? err.message : String(err) });
  });
  return { readable: output.readable, done };
}
