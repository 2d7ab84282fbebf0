import type { Context } from "hono";
import { settingsFor } from "../config/settings.ts";
import type { AppEnv } from "../env.ts";
import { executePlan } from "../routing/execute.ts";
import { healthView } from "../routing/health.ts";
import { allowedPlan } from "./allowed-plan.ts";
import { readJsonRequest } from "./body.ts";
import { admitRequest, captureBodies, chargedAnswer, chargedStream, meteredRun, runOptions } from "./metered.ts";
import { chatRequestSchema } from "./schemas.ts";
import { answeredLogEntry } from "./upstream-response.ts";
import { validate } from "./validate.ts";

/** POST /v1/chat/completions: OpenAI Chat Completions in, OpenAI out, any provider behind. */
export async function chatCompletions(c: Context<AppEnv>): Promise<Response> {
  // When the request arrived: its record's time and its ledgers' day are the same instant.
  const started = c.var.startedAt;
  const settings = settingsFor(c.env);
  const { body, bytes, text } = await readJsonRequest(c.req.raw, settings);
  captureBodies(c, text);
  const request = validate(chatRequestSchema, body);
  const stream = request.stream === true;
  c.set("requestFacts", { endpoint: "chat", requested: request.model, stream });
  const health = healthView(c.env, c.executionCtx);
  const planned = await allowedPlan(c.env, c.var.gatewayKey, request.model, "chat", health);
  const meter = await admitRequest(c, planned, { body, bytes, purpose: "chat", started, bodyUser: request.user });

  const executed = await meteredRun(meter, (plan) =>
    executePlan(
      plan,
      meter.gated((a) => a.adapter.chatRequest(a.provider, { body, upstreamModel: a.model, stream, outputCap: meter.outputCapOf(a) })),
      runOptions(c, meter, plan, stream),
    ),
  );
  const { attempt } = executed;
  const answer = { meter, log: answeredLogEntry(c, executed, { endpoint: "chat", model: request.model, stream }), started, sink: c };

  if (executed.stream === null) {
    return chargedAnswer(executed, (upstream) => attempt.adapter.readChatResponse(upstream, attempt.provider), { ...answer, purpose: "chat", costInBody: true });
  }

  const clientWantsUsage = request.stream_options?.include_usage === true;
  const costOf = meter.costOf(attempt);
  return chargedStream(c, executed, () => attempt.adapter.chatStream(attempt.provider, { clientWantsUsage, model: attempt.model, costOf }), answer);
}
