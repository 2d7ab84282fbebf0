import { GatewayError } from "../http/errors.ts";
import type { UpstreamRequest } from "../providers/types.ts";
import { peekFirstEvent, type PeekedStream } from "../streaming/first-event.ts";
import type { Attempt, Plan } from "./plan.ts";
import { failureToError, isRetryable, type AttemptFailure } from "./upstream-errors.ts";

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

export interface Executed {
  readonly attempt: Attempt;
  /** The upstream's 2xx response; its body is unread, except for a stream (see `stream`). */
  readonly response: Response;
  /** For a stream: the body's reader, already past its first event (`head`), which was not an error. */
  readonly stream: PeekedStream | null;
  readonly deadline: AttemptDeadline;
  /** How many upstream calls were made, the successful one included. */
  readonly attempts: number;
  readonly failures: readonly AttemptFailure[];
}

const TIMED_OUT = "switchyard: upstream deadline exceeded";

/** A 200 in JSON where an event stream was asked for is an error (or a server that ignores `stream`). */
function isJson(response: Response): boolean {
  return response.headers.get("content-type")?.includes("application/json") === true;
}

/**
 * The attempt's deadline. A non-streamed answer is bounded as a whole by the
 * runtime's own timer (`AbortSignal.timeout`, nothing to clear); a stream needs a
 * timer that can be cleared once its first byte is in, or it would be cut later.
 */
function armDeadline(ms: number, stream: boolean): AttemptDeadline & { signal: AbortSignal } {
  if (!stream) {
    const signal = AbortSignal.timeout(ms);
    return { ms, signal, expired: () => signal.aborted && (signal.reason as { name?: string } | undefined)?.name === "TimeoutError", end: () => {} };
  }
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(TIMED_OUT), ms);
  return {
    ms,
    signal: controller.signal,
    expired: () => controller.signal.aborted && controller.signal.reason === TIMED_OUT,
    end: () => clearTimeout(timer),
  };
}

async function callOnce(
  attempt: Attempt,
  request: UpstreamRequest,
  ms: number,
  wantsEventStream: boolean,
): Promise<{ response: Response; deadline: AttemptDeadline; stream: PeekedStream | null } | AttemptFailure> {
  const provider = attempt.provider.name;
  const deadline = armDeadline(ms, wantsEventStream);
  try {
    const response = await fetch(request.url, { ...request.init, signal: deadline.signal });
    if (response.ok && !wantsEventStream) return { response, deadline, stream: null };
    if (response.ok && !isJson(response) && response.body !== null) {
      // Still within the deadline: an error as the first event fails this attempt, not the request.
      const { adapter } = attempt;
      const findFirst = adapter.firstStreamEvent === undefined ? undefined : (head: Uint8Array) => adapter.firstStreamEvent?.(head) ?? null;
      const stream = await peekFirstEvent(response.body, adapter.isStreamPreamble, findFirst);
      if (stream.ended && stream.firstEvent === null) {
        deadline.end();
        return { kind: "body", provider, message: "its stream ended before its first event" };
      }
      const error = stream.firstEvent === null ? null : adapter.streamError(stream.firstEvent);
      if (error === null) return { response, deadline, stream };
      stream.reader.cancel().catch(() => {});
      deadline.end();
      // An error that names its class (Bedrock's throttlingException, …) counts as that status.
      if (error.status !== undefined) return { kind: "status", provider, status: error.status, detail: error, retryAfter: error.retryAfter ?? null };
      return { kind: "stream_error", provider, detail: error };
    }
    const detail = await attempt.adapter.readError(response);
    deadline.end();
    if (response.ok) return { kind: "body", provider, message: `a stream was requested but it answered JSON: ${detail.message}` };
    // An adapter may reclassify a misleading status (see UpstreamErrorDetail.status).
    const status = detail.status ?? response.status;
    return { kind: "status", provider, status, detail, retryAfter: response.headers.get("retry-after") ?? detail.retryAfter ?? null };
  } catch (err) {
    deadline.end();
    if (deadline.expired()) return { kind: "timeout", provider, afterMs: ms };
    return { kind: "network", provider, message: err instanceof Error ? err.message : String(err) };
  }
}

/**
 * Runs the plan's attempts in order until one answers 2xx. A retryable failure
 * (unreachable, timeout, 408/409/429/5xx) moves on to the next attempt; a
 * client error returns at once. Nothing has been sent to the client yet, so
 * failing over is invisible to it.
 */
export async function executePlan(
  plan: Plan,
  build: (attempt: Attempt) => UpstreamRequest | Promise<UpstreamRequest>,
  options: { deadlineMs: number; stream: boolean },
): Promise<Executed> {
  const failures: AttemptFailure[] = [];
  let refusal: GatewayError | undefined;
  // A route's `timeoutMs` bounds the whole request: each attempt gets at most what is left of it.
  const giveUpAt = plan.timeoutMs === undefined ? Infinity : Date.now() + plan.timeoutMs;
  for (const attempt of plan.attempts) {
    const left = giveUpAt - Date.now();
    if (left <= 0) break;
    const ms = Math.min(attempt.ttfbTimeoutMs ?? options.deadlineMs, left);
    let request: UpstreamRequest;
    try {
      request = await build(attempt);
    } catch (err) {
      // This target cannot carry the request (an adapter refused a feature with a 4xx): another may.
      if (!(err instanceof GatewayError) || err.status >= 500) throw err;
      refusal ??= err;
      continue;
    }
    const outcome = await callOnce(attempt, request, ms, options.stream);
    if (!("kind" in outcome)) return { attempt, ...outcome, attempts: failures.length + 1, failures };
    failures.push(outcome);
    if (!isRetryable(outcome)) break;
  }
  // Only refusals: the client's request is the problem, and the first refusal says why.
  if (failures.length === 0 && refusal !== undefined) throw refusal;
  const last = failures[failures.length - 1] ?? { kind: "timeout", provider: plan.attempts[0]?.provider.name ?? "?", afterMs: plan.timeoutMs ?? 0 };
  const error = failureToError(last);
  error.headers["x-switchyard-attempts"] = String(failures.length);
  throw error;
}
