import type { UpstreamRequest } from "../providers/types.ts";
import { peekFirstEvent, type PeekedStream } from "../streaming/first-event.ts";
import type { Attempt } from "./plan.ts";
import type { AttemptFailure } from "./upstream-errors.ts";

/**
 * The deadline of the answering attempt. It is still running when the plan
 * returns: a non-streamed answer must also arrive whole within it (a provider
 * sends it all at once), so the caller ends it after reading the body; a stream
 * ends it at once and relies on the relay's idle watchdog instead.
 */
export interface AttemptDeadline {
  readonly ms: number;
  expired(): boolean;
  end(): void;
}

/** An upstream call that answered 2xx (and, for a stream, whose first event was not an error). */
export interface Answered {
  readonly response: Response;
  readonly deadline: AttemptDeadline;
  /** For a stream: the body's reader, already past its first event. */
  readonly stream: PeekedStream | null;
}

/** What one upstream call met, for route health and the trail, whichever way it ended. */
export interface CallRecord {
  /** When the call started (epoch ms). */
  readonly startedAt: number;
  /** Time to first byte: to the response headers, or for a stream to its first event. Null without an answer. */
  readonly ttfbMs: number | null;
  readonly status: number | null;
  /** The upstream's response headers (route health reads its rate-limit headers from them, only when it reports). */
  readonly headers: Headers | null;
}

const TIMED_OUT = "switchyard: upstream deadline exceeded";

/** A 200 in JSON where an event stream was asked for is an error (or a server that ignores `stream`). */
function isJson(response: Response): boolean {
  return response.headers.get("content-type")?.includes("application/json") === true;
}

/**
 * The attempt's deadline, which `cancel` (a hedge that lost, a request that
 * gave up) also ends. A non-streamed answer is bounded as a whole by the
 * runtime's own timer; a stream needs a timer that can be cleared once its
 * first event is in, or it would be cut later.
 */
function armDeadline(ms: number, stream: boolean, cancel: AbortSignal | undefined): AttemptDeadline & { signal: AbortSignal } {
  if (!stream) {
    const timeout = AbortSignal.timeout(ms);
    const signal = cancel === undefined ? timeout : AbortSignal.any([timeout, cancel]);
    return { ms, signal, expired: () => timeout.aborted, end: () => {} };
  }
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(TIMED_OUT), ms);
  const signal = cancel === undefined ? controller.signal : AbortSignal.any([controller.signal, cancel]);
  return {
    ms,
    signal,
    expired: () => controller.signal.aborted && controller.signal.reason === TIMED_OUT,
    end: () => clearTimeout(timer),
  };
}

const DECIMAL = /^\d+(\.\d+)?$/;

/** `retry-after-ms`, else `retry-after` (seconds or an HTTP date), else a delay the provider put in its error body. */
export function retryAfterMs(headers: Headers | null, bodySeconds: string | undefined, now: number): number | null {
  const ms = headers?.get("retry-after-ms")?.trim();
  if (ms !== undefined && DECIMAL.test(ms)) return Number(ms);
  const value = (headers?.get("retry-after") ?? bodySeconds)?.trim();
  if (value === undefined || value === "") return null;
  if (DECIMAL.test(value)) return Number(value) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? null : Math.max(0, date - now);
}

/**
 * One upstream call, bounded by `ms` and by `cancel`. A stream is read up to
 * its first event before it counts as answered, so an error there is a failed
 * attempt (and the next target can still be tried), not a started stream.
 */
export async function callOnce(
  attempt: Attempt,
  request: UpstreamRequest,
  options: { ms: number; stream: boolean; cancel?: AbortSignal },
): Promise<{ result: Answered | AttemptFailure; record: CallRecord }> {
  const provider = attempt.provider.name;
  const started = Date.now();
  const deadline = armDeadline(options.ms, options.stream, options.cancel);
  let status: number | null = null;
  let headers: Headers | null = null;
  const record = (ttfb: boolean): CallRecord => ({ startedAt: started, ttfbMs: ttfb ? Date.now() - started : null, status, headers });
  try {
    const response = await fetch(request.url, { ...request.init, signal: deadline.signal });
    status = response.status;
    headers = response.headers;
    if (response.ok && !options.stream) return { result: { response, deadline, stream: null }, record: record(true) };
    if (response.ok && !isJson(response) && response.body !== null) {
      const { adapter } = attempt;
      const findFirst = adapter.firstStreamEvent === undefined ? undefined : (head: Uint8Array) => adapter.firstStreamEvent?.(head) ?? null;
      const stream = await peekFirstEvent(response.body, adapter.isStreamPreamble, findFirst);
      if (stream.ended && stream.firstEvent === null) {
        deadline.end();
        return { result: { kind: "body", provider, message: "its stream ended before its first event" }, record: record(false) };
      }
      const error = stream.firstEvent === null ? null : adapter.streamError(stream.firstEvent);
      if (error === null) return { result: { response, deadline, stream }, record: record(true) };
      stream.reader.cancel().catch(() => {});
      deadline.end();
      // An error that names its class (Bedrock's throttlingException, …) counts as that status.
      if (error.status !== undefined) {
        status = error.status;
        const wait = retryAfterMs(null, error.retryAfter, Date.now());
        return { result: { kind: "status", provider, status: error.status, detail: error, retryAfter: error.retryAfter ?? null, retryAfterMs: wait }, record: record(false) };
      }
      return { result: { kind: "stream_error", provider, detail: error }, record: record(false) };
    }
    const detail = await attempt.adapter.readError(response);
    deadline.end();
    if (response.ok) return { result: { kind: "body", provider, message: `a stream was requested but it answered JSON: ${detail.message}` }, record: record(false) };
    // An adapter may reclassify a misleading status (see UpstreamErrorDetail.status).
    status = detail.status ?? response.status;
    const retryAfter = response.headers.get("retry-after") ?? detail.retryAfter ?? null;
    const wait = retryAfterMs(response.headers, detail.retryAfter, Date.now());
    return { result: { kind: "status", provider, status, detail, retryAfter, retryAfterMs: wait }, record: record(false) };
  } catch (err) {
    deadline.end();
    if (deadline.expired()) return { result: { kind: "timeout", provider, afterMs: options.ms }, record: record(false) };
    if (options.cancel?.aborted === true) return { result: { kind: "cancelled", provider }, record: record(false) };
    return { result: { kind: "network", provider, message: err instanceof Error ? err.message : String(err) }, record: record(false) };
  }
}
