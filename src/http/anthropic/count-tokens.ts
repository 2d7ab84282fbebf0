import type { Context } from "hono";
import { settingsFor } from "../../config/settings.ts";
import type { AppEnv } from "../../env.ts";
import { nativeCallOf, nativeMessagesRequest } from "../../providers/anthropic/native.ts";
import { executePlan } from "../../routing/execute.ts";
import { readJsonObject } from "../body.ts";
import { invalidRequest } from "../errors.ts";
import { answerHeaders, answeredLogEntry } from "../upstream-response.ts";
import { USER_HEADER, endUserFor } from "../../budgets/scopes.ts";
import { targetLabel } from "../../budgets/request-pricing.ts";
import { RequestLimits, ruleNames } from "../../limits/admission.ts";
import { logRequest } from "../../observability/request-log.ts";
import { isObject } from "../../providers/json.ts";
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
  c.set("requestFacts", { endpoint: "count_tokens", requested: request.model, stream: false });
  const plan = await allowedPlan(c.env, c.var.gatewayKey, request.model, "chat", healthView(c.env, c.executionCtx));
  const attempts = plan.attempts.filter((a) => a.provider.preset.adapter === "anthropic");
  if (attempts.length === 0) {
    throw invalidRequest(`Token counting needs an Anthropic model; '${request.model}' is served by ${plan.attempts.map((a) => a.provider.name).join(", ")}.`, "model", "unsupported_endpoint");
  }
  // Counted against the key's request rules like any other call (it uses no model tokens, so no token rule).
  const user = endUserFor(c.var.gatewayKey, c.req.header(USER_HEADER), isObject(body.metadata) ? body.metadata.user_id : undefined);
  const models = ruleNames(plan.requested, attempts.map(targetLabel));
  const limits = await RequestLimits.admit({ env: c.env, ctx: c.executionCtx, key: c.var.gatewayKey, user, models, promptTokens: 0, tokens: false });
  const call = nativeCallOf(c.req, "/messages/count_tokens");
  const executed = await executePlan(
    { ...plan, attempts },
    (a) => nativeMessagesRequest(a.provider, body, a.model, call),
    { deadlineMs: settings.upstreamTimeoutMs, stream: false, onCall: healthReporter(c.env, c.executionCtx, plan) },
  ).catch((err: unknown) => {
    limits.refund();
    throw err;
  });
  executed.deadline.end();
  logRequest(c, {
    ...answeredLogEntry(c, executed, { endpoint: "count_tokens", model: request.model, stream: false }),
    durationMs: Date.now() - c.var.startedAt,
  });
  return new Response(executed.response.body, { status: 200, headers: answerHeaders(executed, "application/json", limits.headers) });
}
