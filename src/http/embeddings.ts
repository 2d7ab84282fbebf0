import type { Context } from "hono";
import { assertModelAllowed } from "../auth/gateway-key.ts";
import { settingsFor } from "../config/settings.ts";
import type { AppEnv } from "../env.ts";
import { logRequest } from "../observability/request-log.ts";
import { executePlan } from "../routing/execute.ts";
import { planAttempts } from "../routing/plan.ts";
import { readJsonObject } from "./body.ts";
import { embeddingsRequestSchema } from "./schemas.ts";
import { validate } from "./validate.ts";
import { answerHeaders, readAnswer } from "./upstream-response.ts";

/** POST /v1/embeddings */
export async function embeddings(c: Context<AppEnv>): Promise<Response> {
  const started = Date.now();
  const body = await readJsonObject(c.req.raw, settingsFor(c.env).maxRequestBytes);
  const request = validate(embeddingsRequestSchema, body);
  const key = c.var.gatewayKey;
  assertModelAllowed(key, request.model);
  const plan = await planAttempts(c.env, request.model, "embeddings");
  const executed = await executePlan(
    plan,
    (a) => a.adapter.embeddingsRequest(a.provider, { body, upstreamModel: a.model }),
    { deadlineMs: settingsFor(c.env).upstreamTimeoutMs, stream: false },
  );
  const { attempt } = executed;
  const answer = await readAnswer(executed, attempt.adapter.readEmbeddingsResponse);
  logRequest({
    requestId: c.var.requestId,
    keyId: key.id,
    endpoint: "embeddings",
    requested: request.model,
    provider: attempt.provider.name,
    model: attempt.model,
    stream: false,
    attempts: executed.attempts,
    status: 200,
    outcome: "completed",
    usage: answer.usage,
    durationMs: Date.now() - started,
  });
  return new Response(answer.body, { status: 200, headers: answerHeaders(executed, "application/json") });
}
