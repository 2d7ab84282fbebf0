import type { Context } from "hono";
import { settingsFor } from "../config/settings.ts";
import type { AppEnv } from "../env.ts";
import { estimatedUsage } from "../metering/estimate.ts";
import { logRequest } from "../observability/request-log.ts";
import { executePlan } from "../routing/execute.ts";
import { healthView } from "../routing/health.ts";
import { healthReporter } from "../routing/health-reporting.ts";
import { allowedPlan } from "./allowed-plan.ts";
import { readJsonRequest } from "./body.ts";
import { admitRequest, chargeAnswer, chargeHeaders, costOfAttempt, meteredRun } from "./metered.ts";
import { withCostInBody } from "../providers/openai-compatible/usage-in-body.ts";
import { chatRequestSchema } from "./schemas.ts";
import { answerHeaders, answeredLogEntry, readAnswer, streamedAnswer } from "./upstream-response.ts";
import { validate } from "./validate.ts";

/** POST /v1/chat/completions: OpenAI Chat Completions in, OpenAI out, any provider behind. */
export async function chatCompletions(c: Context<AppEnv>): Promise<Response> {
  const started = Date.now();
  const settings = settingsFor(c.env);
  const { body, bytes } = await readJsonRequest(c.req.raw, settings.maxRequestBytes);
  const request = validate(chatRequestSchema, body);
  const health = healthView(c.env, c.executionCtx);
  const planned = await allowedPlan(c.env, c.var.gatewayKey, request.model, "chat", health);
  const meter = await admitRequest(c, planned, { body, bytes, purpose: "chat", started, bodyUser: request.user });
  const stream = request.stream === true;

  const executed = await meteredRun(meter, (plan) =>
    executePlan(plan, meter.gated((a) => a.adapter.chatRequest(a.provider, { body, upstreamModel: a.model, stream })), {
      deadlineMs: settings.upstreamTimeoutMs,
      stream,
      onCall: healthReporter(c.env, c.executionCtx, plan),
    }),
  );
  const { attempt } = executed;
  const log = answeredLogEntry(c, executed, { endpoint: "chat", model: request.model, stream });

  if (executed.stream === null) {
    const answer = await readAnswer(executed, attempt.adapter.readChatResponse).catch((err: unknown) => {
      meter.chargeUnread(attempt);
      throw err;
    });
    const charge = chargeAnswer(meter, executed, answer, bytes, "chat");
    logRequest({ ...log, usage: answer.usage, costUsd: charge.costUsd, costEstimated: charge.estimated, durationMs: Date.now() - started });
    const headers = answerHeaders(executed, "application/json", meter.headers);
    chargeHeaders(headers, charge);
    const out = charge.costUsd === null ? answer.body : withCostInBody(answer.body, charge.costUsd);
    return new Response(out, { status: 200, headers });
  }

  const clientWantsUsage = request.stream_options?.include_usage === true;
  const costOf = costOfAttempt(meter, executed);
  return streamedAnswer(c, executed, () => attempt.adapter.chatStream(attempt.provider, { clientWantsUsage, model: attempt.model, costOf }), {
    log: { ...log, started },
    headers: meter.headers,
    settle: (end) => meter.settle(attempt, end.usage, end.kind === "completed", (reported) => estimatedUsage(reported, bytes, end.pieces)),
    onFailure: () => meter.chargeUnread(attempt),
  });
}
