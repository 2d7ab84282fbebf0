import type { StreamTranslator, Usage } from "../providers/types.ts";
import { encoder } from "./bytes.ts";

/** How a relayed stream ended, for the request log (and, later, settling spend). */
export type StreamEnd =
  /** `sawEnd`: the upstream's own end marker arrived (e.g. `data: [DONE]`), not just a closed connection. */
  | { kind: "completed"; usage: Usage | null; sawEnd: boolean }
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

const IDLE = Symbol("idle");

/**
 * Relays an upstream event stream to the client chunk by chunk, through the
 * adapter's translator, pulling only as fast as the client reads. Once bytes
 * have reached the client a failure can no longer be a status code, so it is
 * sent as an SSE error event and the stream closes: never a silent truncation.
 * A client disconnect cancels the upstream read, which closes that connection.
 */
export function relayStream(
  upstream: ReadableStream<Uint8Array>,
  translator: StreamTranslator,
  options: RelayOptions,
): ReadableStream<Uint8Array> {
  const reader = upstream.getReader();
  let finished = false;
  const finish = (end: StreamEnd): void => {
    if (finished) return;
    finished = true;
    options.onEnd(end);
  };

  const readWithDeadline = (): Promise<ReadableStreamReadResult<Uint8Array> | typeof IDLE> => {
    let timer = 0;
    const idle = new Promise<typeof IDLE>((resolve) => {
      timer = setTimeout(() => resolve(IDLE), options.idleTimeoutMs);
    });
    return Promise.race([reader.read(), idle]).finally(() => clearTimeout(timer));
  };

  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        const emit = (bytes: Uint8Array): void => controller.enqueue(bytes);
        let emitted = false;
        const counting = (bytes: Uint8Array): void => {
          emitted = true;
          emit(bytes);
        };
        // Keep reading until something can be sent: a chunk may hold only part of an event.
        while (!emitted) {
          let result: ReadableStreamReadResult<Uint8Array> | typeof IDLE;
          try {
            result = await readWithDeadline();
          } catch (err) {
            translator.end(emit);
            const message = `The connection to '${options.provider}' broke mid-stream: ${err instanceof Error ? err.message : String(err)}`;
            emit(sseErrorEvent(message, "upstream_stream_error"));
            controller.close();
            finish({ kind: "upstream_error", usage: translator.usage(), message });
            return;
          }
          if (result === IDLE) {
            reader.cancel("idle timeout").catch(() => {});
            translator.end(emit);
            const message = `The provider '${options.provider}' sent nothing for ${options.idleTimeoutMs} ms; the stream was closed.`;
            emit(sseErrorEvent(message, "upstream_stream_timeout"));
            controller.close();
            finish({ kind: "upstream_error", usage: translator.usage(), message });
            return;
          }
          if (result.done) {
            translator.end(emit);
            controller.close();
            finish({ kind: "completed", usage: translator.usage(), sawEnd: translator.completed() });
            return;
          }
          translator.push(result.value, counting);
        }
      },
      async cancel(reason) {
        finish({ kind: "client_cancelled", usage: translator.usage() });
        await reader.cancel(reason).catch(() => {});
      },
    },
    { highWaterMark: 0 },
  );
}
