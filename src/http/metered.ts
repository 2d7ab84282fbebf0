import type { Context } from "hono";
import { RequestMeter } from "../budgets/admission.ts";
import { RequestLimits, ruleNames } from "../limits/admission.ts";
import { targetLabel } from "../budgets/request-pricing.ts";
import { OutboundLimits } from "../limits/outbound.ts";
import { announceLimits } from "../limits/limiter.ts";
import { inputBound } from "../metering/input-bound.ts";
import { requestBounds } from "../metering/worst-case.ts";
import { USER_HEADER, endUserFor } from "../budgets/scopes.ts";
import type { AppEnv } from "../env.ts";
import { tokensInBytes } from "../metering/estimate.ts";
import { BodyCapture } from "../observability/bodies.ts";
import { encoder } from "../streaming/bytes.ts";
import { chargeFields, logRequest, type RecordSink, type RequestLogEntry } from "../observability/request-log.ts";
import { bodyOfPieces, withCostInBody } from "../providers/openai-compatible/usage-in-body.ts";
import type { StreamTranslator, TranslatedBody } from "../providers/types.ts";
import type { ExecuteOptions, Executed } from "../routing/execute.ts";
import { healthReporter } from "../routing/health-reporting.ts";
import { settingsFor } from "../config/settings.ts";
import { healthView } from "../routing/health.ts";
import { planAttempts, type Plan, type Purpose } from "../routing/plan.ts";
import { answerHeaders, readAnswer, streamedAnswer } from "./upstream-response.ts";

export interface MeteredRequest {
  readonly body: Readonly<Record<string, unknown>>;
  readonly bytes: number;
  readonly purpose: Purpose;
  readonly started: number;
  /** The body's own end-user field (`user`, or Anthropic's `metadata.user_id`). */
  readonly bodyUser: unknown;
  /** The Responses API's `max_tool_calls` (bounds its built-in tools' calls: worst-case.ts requestBounds). */
  readonly maxToolCalls?: number | undefined;
  /**
   * The body as seen by a target that does not run the request's server-side tools (a /v1/responses
   * request translated for a provider other than OpenAI, without them): its worst case is bounded by
   * this instead, so tools it never gets neither make its input unbounded nor multiply it.
   */
  readonly translatedBody?: Readonly<Record<string, unknown>> | undefined;
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
  const user = endUserFor(c.var.gatewayKey, c.req.header(USER_HEADER), request.bodyUser);
  c.set("endUser", user);
  const input = await inputBound(request.body, request.bytes);
  const translated = request.translatedBody;
  const bounds = {
    ...requestBounds(request.body, input, request.maxToolCalls),
    ...(translated !== undefined && { translated: requestBounds(translated, await inputBound(translated, request.bytes)) }),
  };
  const promptTokens = Number.isFinite(input.tokens) ? input.tokens : request.bytes;
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
        bounds,
        started: request.started,
        replan: (alias) => planAttempts(env, alias, request.purpose, healthView(env, ctx)),
      },
      plan,
    ),
    RequestLimits.admit({ env, ctx, key, user, models: ruleNames(plan.requested, plan.attempts.map(targetLabel)), promptTokens }),
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
  c.set("meter", budgets.value);
  // Only a plan with a target that carries its provider's limits has anything to count before each call.
  if (budgets.value.plan.attempts.some((a) => a.limits !== undefined)) budgets.value.attach(new OutboundLimits(env, ctx, promptTokens));
  return budgets.value;
}

/** Starts keeping the request's bodies when its key logs them (observability/bodies.ts). */
export function captureBodies(c: Context<AppEnv>, requestText: string): void {
  const mode = c.var.gatewayKey.logBodies;
  if (mode === "all" || mode === "anomalies") c.set("bodies", new BodyCapture(mode, requestText));
}

/** How the executor runs a metered request's plan: its deadline, route health's reports, and the calls it abandons charged. */
export function runOptions(c: Context<AppEnv>, meter: RequestMeter, plan: Plan, stream: boolean): ExecuteOptions {
  return {
    deadlineMs: settingsFor(c.env).upstreamTimeoutMs,
    stream,
    onCall: healthReporter(c.env, c.executionCtx, plan),
    onAbandoned: (attempt, why) => meter.abandoned(attempt, why),
  };
}

/** Runs the executor; a request that no provider answered holds no reservation after it (but what its abandoned calls are charged). */
export async function meteredRun(meter: RequestMeter, run: (plan: Plan) => Promise<Executed>): Promise<Executed> {
  try {
    return await run(meter.plan);
  } catch (err) {
    meter.release();
    throw err;
  }
}

/** What the answer paths need besides the executed call: its request and how to log it. */
export interface AnswerContext {
  readonly meter: RequestMeter;
  readonly log: RequestLogEntry;
  readonly started: number;
  readonly sink: RecordSink;
}

/**
 * A non-streamed answer, read (an answer that cannot be read is charged as
 * estimated: the provider has billed it), charged from its usage or an
 * estimate, logged, and sent with the cost in its header and, for OpenAI
 * bodies, in its usage (`costInBody`).
 */
export async function chargedAnswer(
  executed: Executed,
  read: (upstream: Response) => Promise<TranslatedBody>,
  answer: AnswerContext & { readonly purpose: Purpose; readonly costInBody: boolean },
): Promise<Response> {
  const { meter, log, started } = answer;
  const body = await readAnswer(executed, read).catch((err: unknown) => {
    meter.chargeUnread(executed.attempt);
    throw err;
  });
  const answerBytes = typeof body.body === "string" ? body.body.length : body.body.byteLength;
  const output = answer.purpose === "embeddings" ? 0 : tokensInBytes(answerBytes); // vectors are not output tokens
  const charge = meter.settle(executed.attempt, body.usage, true, output);
  const pieces = answer.costInBody && charge.costUsd !== null ? withCostInBody(body, charge.costUsd) : null;
  const capture = answer.sink.var.bodies;
  if (capture !== undefined) for (const piece of pieces ?? [typeof body.body === "string" ? encoder.encode(body.body) : body.body]) capture.add(piece);
  logRequest(answer.sink, { ...log, ...chargeFields(charge), usage: body.usage, durationMs: Date.now() - started });
  const headers = answerHeaders(executed, "application/json", meter.headers);
  if (charge.costUsd !== null) headers.set("x-switchyard-cost-usd", String(charge.costUsd));
  if (charge.estimated) headers.set("x-switchyard-cost-estimated", "true");
  const out = pieces === null ? body.body : bodyOfPieces(pieces);
  return new Response(out, { status: 200, headers });
}

/** A committed stream, relayed and charged when it ends: its usage, or what was streamed before a cut or a disconnect. */
export function chargedStream(
  c: Context<AppEnv>,
  executed: Executed,
  makeTranslator: () => StreamTranslator,
  answer: AnswerContext & { readonly errorEvent?: ((message: string, code: string) => Uint8Array) | undefined },
): Response {
  const { meter } = answer;
  const { attempt } = executed;
  return streamedAnswer(c, executed, makeTranslator, {
    log: { ...answer.log, started: answer.started },
    headers: meter.headers,
    settle: (end) => meter.settle(attempt, end.usage, end.kind === "completed", end.pieces),
    onFailure: () => meter.chargeUnread(attempt),
    errorEvent: answer.errorEvent,
  });
}


