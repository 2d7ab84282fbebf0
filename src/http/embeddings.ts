import type { Context } from "hono";
import { settingsFor } from "../config/settings.ts";
import type { AppEnv } from "../env.ts";
import { executePlan } from "../routing/execute.ts";
import { healthView } from "../routing/health.ts";
import { allowedPlan } from "./allowed-plan.ts";
import { readJsonRequest } from "./body.ts";
import { admitRequest, captureBodies, chargedAnswer, meteredRun, runOptions } from "./metered.ts";
import { embeddingsRequestSchema } from "./schemas.ts";
import { answeredLogEntry } from "./upstream-response.ts";
import { validate } from "./validate.ts";

/** POST /v1/embeddings */
export async function embeddings(c: Context<AppEnv>): Promise<Response> {
  // When the request arrived: its record's time and its ledgers' day are the same instant.
  const started = c.var.startedAt;
  const settings = settingsFor(c.env);
  const { body, bytes, text } = await readJsonRequest(c.req.raw, settings);
  captureBodies(c, text);
  const request = validate(embeddingsRequestSchema, body);
  c.set("requestFacts", { endpoint: "embeddings", requested: request.model, stream: false });
  const planned = await allowedPlan(c.env, c.var.gatewayKey, request.model, "embeddings", healthView(c.env, c.executionCtx));
  const meter = await admitRequest(c, planned, { body, bytes, purpose: "embeddings", started, bodyUser: request.user });
  const executed = await meteredRun(meter, (plan) =>
    executePlan(plan, meter.gated((a) => a.adapter.embeddingsRequest(a.provider, { body, upstreamModel: a.model })), runOptions(c, meter, plan, false)),
  );
  const { attempt } = executed;
  return chargedAnswer(executed, (upstream) => attempt.adapter.readEmbeddingsResponse(upstream, { body, upstreamModel: attempt.model }), {
    meter,
    log: answeredLogEntry(c, executed, { endpoint: "embeddings", model: request.model, stream: false }),
    started,
    sink: c,
    purpose: "embeddings",
    costInBody: true,
  });
}
