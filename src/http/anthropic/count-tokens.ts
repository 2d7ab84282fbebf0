import type { Context } from "hono";
import { settingsFor } from "../../config/settings.ts";
import type { AppEnv } from "../../env.ts";
import { nativeMessagesRequest } from "../../providers/anthropic/native.ts";
import { executePlan } from "../../routing/execute.ts";
import { readJsonObject } from "../body.ts";
import { invalidRequest } from "../errors.ts";
import { answerHeaders } from "../upstream-response.ts";
import { validate } from "../validate.ts";
import { countTokensRequestSchema } from "./schema.ts";
import { allowedPlan } from "../allowed-plan.ts";
import { healthView } from "../../routing/health.ts";
import { healthReporter } from "../../routing/health-reporting.ts";

/**
 * POST /v1/messages/count_tokens (Claude Code and the Anthropic SDK use it to
 * size a context). Counting is the model's own tokenizer's business, so it goes
 * to the Anthropic targets of the plan (failing over among them) and is refused
 * when the plan has none, rather than answered with a guess.
 */
export async function countTokens(c: Context<AppEnv>): Promise<Response> {
  const settings = settingsFor(c.env);
  const body = await readJsonObject(c.req.raw, settings);
  const request = validate(countTokensRequestSchema, body);
  const plan = await allowedPlan(c.env, c.var.gatewayKey, request.model, "chat", healthView(c.env, c.executionCtx));
  const attempts = plan.attempts.filter((a) => a.provider.preset.adapter === "anthropic");
  if (attempts.length === 0) {
    throw invalidRequest(`Token counting needs an Anthropic model; '${request.model}' is served by ${plan.attempts.map((a) => a.provider.name).join(", ")}.`, "model", "unsupported_endpoint");
  }
  const beta = c.req.header("anthropic-beta") ?? null;
  const executed = await executePlan(
    { ...plan, attempts },
    (a) => {
      const upstream = nativeMessagesRequest(a.provider, body, a.model, beta);
      return { ...upstream, url: `${upstream.url}/count_tokens` };
    },
    { deadlineMs: settings.upstreamTimeoutMs, stream: false, onCall: healthReporter(c.env, c.executionCtx, plan) },
  );
  executed.deadline.end();
  return new Response(executed.response.body, { status: 200, headers: answerHeaders(executed, "application/json") });
}
