import type { Context } from "hono";
import { settingsFor } from "../config/settings.ts";
import type { AppEnv } from "../env.ts";
import { logRequest } from "../observability/request-log.ts";
import { executePlan } from "../routing/execute.ts";
import { readJsonObject } from "./body.ts";
import { chatRequestSchema } from "./schemas.ts";
import { validate } from "./validate.ts";
import { answerHeaders, answeredLogEntry, readAnswer, streamedAnswer } from "./upstream-response.ts";
import { allowedPlan } from "./allowed-plan.ts";
import { healthView } from "../routing/health.ts";
import { healthReporter } from "../routing/health-reporting.ts";

/** POST /v1/chat/completions: OpenAI Chat Completions in, OpenAI out, any provider behind. */
export async function chatCompletions(c: Context<AppEnv>): Promise<Response> {
  const started = Date.now();
  const settings = settingsFor(c.env);
  const body = await readJsonObject(c.req.raw, settings.maxRequestBytes);
  const request = validate(chatRequestSchema, body);
  const plan = await allowedPlan(c.env, c.var.gatewayKey, request.model, "chat", healthView(c.env, c.executionCtx));
  const stream = request.stream === true;

  const executed = await executePlan(
    plan,
    (a) => a.adapter.chatRequest(a.provider, { body, upstreamModel: a.model, stream }),
    { deadlineMs: settings.upstreamTimeoutMs, stream, onCall: healthReporter(c.env, c.executionCtx, plan) },
  );
  const { attempt } = executed;
  const log = answeredLogEntry(c, executed, { endpoint: "chat", model: request.model, stream });

  if (executed.stream === null) {
    const answer = await readAnswer(executed, attempt.adapter.readChatResponse);
    logRequest({ ...log, usage: answer.usage, durationMs: Date.now() - started });
    return new Response(answer.body, { status: 200, headers: answerHeaders(executed, "application/json") });
  }

  const translator = () => attempt.adapter.chatStream(attempt.provider, { clientWantsUsage: request.stream_options?.include_usage === true, model: attempt.model });
  return streamedAnswer(c, executed, translator, { ...log, started });
}
