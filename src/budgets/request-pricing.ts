/**
 * A request's prices before it is forwarded: for each target of its plan, the
 * price it is metered at, the output cap sent and reserved, and the most one
 * call could cost; for the whole plan, the most the request could cost across
 * every call it may make (metering/worst-case.ts requestWorstCase).
 */
import type { Env } from "../env.ts";
import { serviceTierOf } from "../metering/cost.ts";
import { priceOf } from "../metering/price-table.ts";
import { nanosCeil } from "../metering/money.ts";
import type { ModelPrice, Nanos } from "../metering/types.ts";
import { billableTiers, callTotal, callWorstCase, outputCap, requestWorstCase, type CallWorstCase, type RequestBounds } from "../metering/worst-case.ts";
import { PER_CALL_TOOL } from "../providers/openai-compatible/responses.ts";
import type { Attempt, Plan } from "../routing/plan.ts";

/** One target's part in a request's bill. */
export interface TargetBill {
  /** The price the target is metered at; null: unpriced (counted without a cost). */
  readonly price: ModelPrice | null;
  /** The output cap of one choice: sent upstream when the adapter writes one, and reserved. */
  readonly outputCap: number;
  /** The most one call could cost; null when nothing bounds it (no price, or no rates for the service tier asked for). */
  readonly worst: CallWorstCase | null;
  /** Why `worst` is null although there is a price (`service_tier priority`). */
  readonly unbounded?: string | undefined;
  /** Calls the plan may make to this target that a provider may bill (route `maxAttempts`; 1 otherwise). */
  readonly calls: number;
}

export interface Priced {
  readonly plan: Plan;
  readonly bills: ReadonlyMap<Attempt, TargetBill>;
  /** The most the request could cost across its bounded targets (nano-dollars, rounded up). */
  readonly worst: Nanos;
  /** The target whose answer could cost the most (`provider/model`), for messages and an expired reservation's record. */
  readonly worstModel: string;
}

export const targetLabel = (a: Attempt): string => `${a.provider.name}/${a.model}`;

/**
 * The service tier a request is billed at on `attempt`, by the worst case: the
 * one it asks for, or the provider's configured default when it asks for none
 * ("auto" included: OpenAI then serves the project's default tier).
 */
function askedTier(attempt: Attempt, body: Readonly<Record<string, unknown>>): string | undefined {
  const asked = attempt.adapter.requestedServiceTier?.(attempt.provider, body);
  return asked === undefined || asked === "auto" ? attempt.provider.defaultServiceTier : asked;
}


/**
 * A built-in tool the request offers a target that runs it (one serving the Responses API
 * natively) whose per-call fee the price does not have: nothing then bounds what its calls cost.
 * A web search is bounded where the price has its tool's fee (`fees.webSearchTool`, or
 * `fees.webSearchPreviewTool` for OpenAI's preview tool, by requestBounds).
 */
function unpricedTool(attempt: Attempt, price: ModelPrice, body: Readonly<Record<string, unknown>>): string | undefined {
  if (attempt.provider.preset.responsesPath === undefined || !Array.isArray(body.tools)) return undefined;
  for (const tool of body.tools) {
    const type = typeof tool === "object" && tool !== null && typeof (tool as { type?: unknown }).type === "string" ? (tool as { type: string }).type : "";
    const searchFee = type.startsWith("web_search_preview") ? (price.fees?.webSearchPreviewTool ?? price.fees?.webSearchTool) : price.fees?.webSearchTool;
    if (!PER_CALL_TOOL.test(type) || (type.startsWith("web_search") && searchFee !== undefined)) continue;
    return `its built-in tool ${type} (billed per call; no fee for it in the price table)`;
  }
  return undefined;
}

function billOf(attempt: Attempt, price: ModelPrice | null, body: Readonly<Record<string, unknown>>, requestBounds: RequestBounds, hedged: boolean): TargetBill {
  // A target that does not run OpenAI's built-in tools gets the request without them.
  const bounds = attempt.provider.preset.responsesPath === undefined ? (requestBounds.translated ?? requestBounds) : requestBounds;
  const cap = outputCap(body, price, attempt.adapter.outputCeiling?.(attempt.model));
  const calls = hedged ? 1 : (attempt.maxAttempts ?? 1);
  if (price === null) return { price, outputCap: cap, worst: null, calls };
  const tool = unpricedTool(attempt, price, body);
  if (tool !== undefined) return { price, outputCap: cap, worst: null, unbounded: tool, calls };
  const asked = askedTier(attempt, body);
  const tier = serviceTierOf(asked);
  const tiers = tier === undefined ? null : billableTiers(price, tier);
  if (tiers === null) return { price, outputCap: cap, worst: null, unbounded: `service_tier ${String(asked)}`, calls };
  // Only a model that bills reasoning apart (its own rate) is known to reason beyond the cap it is sent (Perplexity's deep research).
  const reasoningBeyondCap = attempt.provider.preset.usage === "reasoning-apart" && price.reasoning !== undefined;
  return { price, outputCap: cap, worst: callWorstCase({ model: attempt.model, price, tiers, outputCap: cap, reasoningBeyondCap }, bounds), calls };
}

/** Prices every target of `plan` (one KV read per model per 30 s at most: price-table.ts caches them). */
export async function priceRequest(env: Env, plan: Plan, body: Readonly<Record<string, unknown>>, bounds: RequestBounds): Promise<Priced> {
  const found = await Promise.all(plan.attempts.map((a) => priceOf(env, a.provider.name, a.model)));
  const hedged = plan.route?.route.hedgeAfterMs !== undefined && plan.attempts.length > 1;
  const bills = new Map<Attempt, TargetBill>();
  plan.attempts.forEach((attempt, i) => bills.set(attempt, billOf(attempt, found[i] ?? null, body, bounds, hedged)));
  return summarised(plan, bills);
}

/** The request's worst case over the targets that have one, and the target whose answer could cost the most. */
function summarised(plan: Plan, bills: ReadonlyMap<Attempt, TargetBill>): Priced {
  const bounded: Array<{ worst: CallWorstCase; calls: number }> = [];
  let worstModel = targetLabel(plan.attempts[0]!);
  let dearest = -1n;
  for (const attempt of plan.attempts) {
    const worst = bills.get(attempt)?.worst ?? null;
    if (worst === null) continue;
    bounded.push({ worst, calls: bills.get(attempt)?.calls ?? 1 });
    if (callTotal(worst) > dearest) {
      dearest = callTotal(worst);
      worstModel = targetLabel(attempt);
    }
  }
  return { plan, bills, worst: nanosCeil(requestWorstCase(bounded)), worstModel };
}

/** The plan without the targets nothing bounds (a hard budget or a per-request cap cannot admit them), or null if that leaves none. */
export function withoutUnbounded(p: Priced): Priced | null {
  const attempts = p.plan.attempts.filter((a) => p.bills.get(a)?.worst !== null);
  if (attempts.length === 0) return null;
  if (attempts.length === p.plan.attempts.length) return p;
  return summarised({ ...p.plan, attempts }, p.bills);
}
