import type { UpstreamRequest } from "../providers/types.ts";
import type { Attempt, Plan } from "./plan.ts";
import { failureToError, isRetryable, type AttemptFailure } from "./upstream-errors.ts";

export interface Executed {
  readonly attempt: Attempt;
  /** The upstream's 2xx response; its body is still unread. */
  readonly response: Response;
  /** How many upstream calls were made, the successful one included. */
  readonly attempts: number;
  readonly failures: readonly AttemptFailure[];
}

const TIMED_OUT = "switchyard: time to first byte exceeded";

async function callOnce(attempt: Attempt, request: UpstreamRequest, ttfbMs: number): Promise<Response | AttemptFailure> {
  const provider = attempt.provider.name;
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(TIMED_OUT), ttfbMs);
  try {
    const response = await fetch(request.url, { ...request.init, signal: controller.signal });
    if (response.ok) return response;
    const detail = await attempt.adapter.readError(response);
    return { kind: "status", provider, status: response.status, detail, retryAfter: response.headers.get("retry-after") };
  } catch (err) {
    if (controller.signal.aborted && controller.signal.reason === TIMED_OUT) return { kind: "timeout", provider, afterMs: ttfbMs };
    return { kind: "network", provider, message: err instanceof Error ? err.message : String(err) };
  } finally {
    // Only the wait for the headers is bounded here; the body has its own idle timeout.
    clearTimeout(timer);
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
  build: (attempt: Attempt) => UpstreamRequest,
  defaultTtfbMs: number,
): Promise<Executed> {
  const failures: AttemptFailure[] = [];
  for (const attempt of plan.attempts) {
    const outcome = await callOnce(attempt, build(attempt), attempt.ttfbTimeoutMs ?? defaultTtfbMs);
    if (outcome instanceof Response) return { attempt, response: outcome, attempts: failures.length + 1, failures };
    failures.push(outcome);
    if (!isRetryable(outcome)) break;
  }
  const last = failures[failures.length - 1];
  if (last === undefined) throw new Error("executePlan: a plan always has at least one attempt");
  const error = failureToError(last);
  error.headers["x-switchyard-attempts"] = String(failures.length);
  throw error;
}
