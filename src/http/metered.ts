import type { Context } from "hono";
import { RequestMeter, type Charge } from "../budgets/admission.ts";
import { RequestLimits } from "../limits/admission.ts";
import { OutboundLimits } from "../limits/outbound.ts";
import { announceLimits } from "../limits/limiter.ts";
import { inputTokenBound } from "../metering/worst-case.ts";
import { USER_HEADER, endUserOf } from "../budgets/scopes.ts";
import type { AppEnv } from "../env.ts";
import { estimatedUsage, tokensInBytes } from "../metering/estimate.ts";
import type { CostOf, TranslatedBody } from "../providers/types.ts";
import { costNanos } from "../metering/cost.ts";
import { nanosToUsd } from "../metering/types.ts";
import type { Executed } from "../routing/execute.ts";
import { healthView } from "../routing/health.ts";
import { planAttempts, type Plan, type Purpose } from "../routing/plan.ts";

export interface MeteredRequest {
  readonly body: Readonly<Record<string, unknown>>;
  readonly bytes: number;
  readonly purpose: Purpose;
  readonly started: number;
  /** The body's own end-user field (`user`, or Anthropic's `metadata.user_id`). */
  readonly bodyUser: unknown;
}

/**
 * The admit step for an inbound request (DESIGN.md "admit"): its end user, then
 * rate limits and budgets at once (one concurrent round of Redis and ledger
 * calls). Whichever refuses, what the other counted is given back.
 */
export async function admitRequest(c: Context<AppEnv>, plan: Plan, request: MeteredRequest): Promise<RequestMeter> {
  const { env, executionCtx: ctx } = c;
  announceLimits(env);
  const key = c.var.gatewayKey;
  const user = endUserOf(c.req.header(USER_HEADER), request.bodyUser);
  const bound = inputTokenBound(request.body, request.bytes);
  const [budgets, limits] = await Promise.allSettled([
    RequestMeter.admit(
      {
        env,
        ctx,
        key,
        requestId: c.var.requestId,
        user,
        body: request.body,
        bodyBytes: request.bytes,
        started: request.started,
        replan: (alias) => planAttempts(env, alias, request.purpose, healthView(env, ctx)),
      },
      plan,
    ),
    RequestLimits.admit({ env, ctx, key, user, model: plan.requested, promptTokens: Number.isFinite(bound) ? bound : request.bytes }),
  ]);
  if (budgets.status === "rejected") {
    if (limits.status === "fulfilled") limits.value.refund();
    throw budgets.reason;
  }
  if (limits.status === "rejected") {
    budgets.value.release();
    throw limits.reason;
  }
  budgets.value.attach(limits.value);
  budgets.value.attach(new OutboundLimits(env, ctx, Number.isFinite(bound) ? bound : request.bytes));
  return budgets.value;
}

/** Runs the executor; a request that no provider answered holds no reservation after it. */
export async function meteredRun(meter: RequestMeter, run: (plan: Plan) => Promise<Executed>): Promise<Executed> {
  try {
    return await run(meter.plan);
  } catch (err) {
    meter.release();
    throw err;
  }
}

/** Charges a non-streamed answer: its usage, or an estimate from the request's and (for chat) the answer's sizes. */
export function chargeAnswer(meter: RequestMeter, executed: Executed, answer: TranslatedBody, requestBytes: number, purpose: Purpose): Charge {
  const answerBytes = typeof answer.body === "string" ? answer.body.length : answer.body.byteLength;
  const output = purpose === "embeddings" ? 0 : tokensInBytes(answerBytes); // vectors are not output tokens
  return meter.settle(executed.attempt, answer.usage, true, (reported) => estimatedUsage(reported, requestBytes, output));
}

/** What the answering target's usage costs, for the usage the client sees; null when it has no price. */
export function costOfAttempt(meter: RequestMeter, executed: Executed): CostOf {
  const price = meter.priceOf(executed.attempt);
  return (usage) => (price === null ? null : nanosToUsd(costNanos(price, usage)));
}

/** The cost headers of a non-streamed answer. */
export function chargeHeaders(headers: Headers, charge: Charge): void {
  if (charge.costUsd !== null) headers.set("x-switchyard-cost-usd", String(charge.costUsd));
  if (charge.estimated) headers.set("x-switchyard-cost-estimated", "true");
}
