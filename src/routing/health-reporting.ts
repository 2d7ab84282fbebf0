import type { Env } from "../env.ts";
import type { CallRecord } from "./attempt.ts";
import { reportAttempt, type BackgroundWork } from "./health.ts";
import type { AttemptOutcome } from "./health-types.ts";
import { targetId } from "./health-types.ts";
import type { Attempt } from "./plan.ts";
import type { AttemptFailure } from "./upstream-errors.ts";

/** Statuses that are about the client's request, not the target's health: never reported (a client could otherwise mint a health record per junk model name). */
const CLIENT_STATUSES: ReadonlySet<number> = new Set([400, 404, 409, 413, 415, 422]);

function outcomeOf(failure: AttemptFailure | null): AttemptOutcome | null {
  if (failure === null) return "success";
  if (failure.kind === "timeout") return "timeout";
  if (failure.kind !== "status") return "failure";
  if (failure.status === 429) return "rate_limited";
  return CLIENT_STATUSES.has(failure.status) ? null : "failure";
}

/** The executor's `onCall`: every upstream call's outcome goes to its target's RouteHealth, batched, in the background. */
export function healthReporter(env: Env, ctx: BackgroundWork): (attempt: Attempt, record: CallRecord, failure: AttemptFailure | null) => void {
  return (attempt, record, failure) => {
    const outcome = outcomeOf(failure);
    if (outcome === null) return;
    reportAttempt(env, ctx, {
      target: targetId(attempt.provider.name, attempt.model),
      at: Date.now(),
      startedAt: record.startedAt,
      outcome,
      status: record.status,
      ttfbMs: record.ttfbMs,
      rateLimitHeaders: record.rateLimitHeaders,
    });
  };
}
