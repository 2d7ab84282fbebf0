import type { Context } from "hono";
import { settingsFor } from "../config/settings.ts";
import type { AppEnv } from "../env.ts";
import { logRequest } from "../observability/request-log.ts";
import { executePlan } from "../routing/execute.ts";
import { readJsonObject } from "./body.ts";
import { embeddingsRequestSchema } from "./schemas.ts";
import { validate } from "./validate.ts";
import { answerHeaders, answeredLogEntry, readAnswer } from "./upstream-response.ts";
import { allowedPlan } from "./allowed-plan.ts";
import { healthView } from "../routing/health.ts";
import { healthReporter } from "../routing/health-reporting.ts";

/** POST /v1/embeddings */
export async function embeddings(c: Context<AppEnv>): Promise<Response> {
  const started = Date.now();
  const settings = settingsFor(c.env);
  const body = await readJsonObject(c.req.raw, settings.maxRequestBytes);
  const request = validate(embeddingsRequestSchema, body);
  const plan = await allowedPlan(c.env, c.var.gatewayKey, request.model, "embeddings", healthView(c.env, c.executionCtx));
  const executed = await executePlan(
    plan,
    (a) => a.adapter.embeddingsRequest(a.provider, { body, upstreamModel: a.model }),
    { deadlineMs: settings.upstreamTimeoutMs, stream: false, onCall: healthReporter(c.env, c.executionCtx, plan) },
  );
  const { attempt } = executed;
  const answer = await readAnswer(executed, (upstream) => attempt.adapter.readEmbeddingsResponse(upstream, { body, upstreamModel: attempt.model }));
  logRequest({
    ...answeredLogEntry(c, executed, { endpoint: "embeddings", model: request.model, stream: false }),
    usage: answer.usage,
    durationMs: Date.now() - started,
  });
  return new Response(answer.body, { status: 200, headers: answerHeaders(executed, "application/json") });
}
