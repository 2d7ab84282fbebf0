import type { Env } from "../env.ts";
import type { CallRecord } from "./attempt.ts";
import { rateLimitHeaders, reportAttempt, type BackgroundWork } from "./health.ts";
import type { AttemptOutcome } from "./health-types.ts";
import { targetId } from "./health-types.ts";
import type { Attempt, Plan } from "./plan.ts";
import { CLIENT_STATUSES, type AttemptFailure } from "./upstream-errors.ts";


function outcomeOf(failure: AttemptFailure | null): AttemptOutcome | null {
  if (failure === null) return "success";
  if (failure.kind === "timeout") return "timeout";
  if (failure.kind !== "status") return "failure";
  if (failure.status === 429) return "rate_limited";
  // A refusal of the request says nothing of the target; a route target's 404 does (a retired or misnamed model).
  return CLIENT_STATUSES.has(failure.status) && failure.status !== 404 ? null : "failure";
}

/**
 * The executor's `onCall` for a plan from a route: each upstream call's outcome
 * goes to its target's RouteHealth, batched, in the background. Direct
 * `provider/model` plans are not reported: planning does not consult health for
 * them, and a client could otherwise create a health record per made-up name.
 */
export function healthReporter(env: Env, ctx: BackgroundWork, plan: Plan): ((attempt: Attempt, record: CallRecord, failure: AttemptFailure | null) => void) | undefined {
  if (plan.route === null || env.ROUTE_HEALTH === undefined) return undefined;
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
      rateLimitHeaders: record.headers === null ? {} : rateLimitHeaders(record.headers),
    });
  };
}
