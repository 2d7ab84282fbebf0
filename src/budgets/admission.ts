/**
 * The admit and settle steps of one request (DESIGN.md "One request, one
 * path", "Reserve, then settle"): before forwarding, the plan's worst-case cost
 * is checked against the key's per-request cap and reserved on every scope with
 * a budget (one concurrent round of Durable Object calls); a budget or cap that
 * does not fit refuses the request (402) or degrades it to a cheaper alias.
 * After the answer, its actual cost replaces the reservations and is counted in
 * every scope; a request that failed releases them.
 */
import type { GatewayKey } from "../auth/gateway-key.ts";
import { settingsFor } from "../config/settings.ts";
import type { Env } from "../env.ts";
import { costNanos } from "../metering/cost.ts";
import { priceOf } from "../metering/price-table.ts";
import { nanosToUsd, usdToNanos, type ModelPrice, type Nanos } from "../metering/types.ts";
import { outputTokenBound, worstCaseNanos } from "../metering/worst-case.ts";
import { estimatedUsage } from "../metering/estimate.ts";
import { postWebhook } from "../observability/webhook.ts";
import type { CostOf, Usage } from "../providers/types.ts";
import type { Attempt, Plan } from "../routing/plan.ts";
import { budgetRefusal, budgetWarnings, unpricedRefusal, perRequestCapRefusal } from "./admission-messages.ts";
import type { BackgroundWork } from "../routing/health.ts";
import { recordSpend, releaseOn, reserveOn, type ScopeAnswer } from "./ledger-client.ts";
import type { BudgetStatus } from "./ledger-types.ts";
import { scopesOf } from "./scopes.ts";

export interface MeterRequest {
  readonly env: Env;
  readonly ctx: BackgroundWork;
  readonly key: GatewayKey;
  readonly requestId: string;
  readonly user: string | null;
  /** The client's body as sent (OpenAI or Anthropic format), and its size in UTF-8 bytes. */
  readonly body: Readonly<Record<string, unknown>>;
  readonly bodyBytes: number;
  /** The bound of the body's input tokens (metering/worst-case.ts `inputTokenBound`), computed once for budgets and limits. */
  readonly inputTokens: number;
  readonly started: number;
  /** The plan for another alias, for a degraded request (no allow-list check: an admin chose it). */
  readonly replan: (alias: string) => Promise<Plan>;
}

/** What the answer cost, for the response and the ledgers. */
export interface Charge {
  /** USD, or null when the model has no known price. */
  readonly costUsd: number | null;
  readonly estimated: boolean;
}

const label = (a: Attempt): string => `${a.provider.name}/${a.model}`;

interface Priced {
  readonly plan: Plan;
  readonly prices: Map<Attempt, ModelPrice | null>;
  /** The most the request could cost on any of its priced targets. */
  readonly worst: Nanos;
  readonly worstModel: string;
}

async function priced(env: Env, plan: Plan, body: Readonly<Record<string, unknown>>, inputTokens: number): Promise<Priced> {
  const found = await Promise.all(plan.attempts.map((a) => priceOf(env, a.provider.name, a.model)));
  const prices = new Map<Attempt, ModelPrice | null>();
  let worst = 0;
  let worstModel = label(plan.attempts[0]!);
  plan.attempts.forEach((attempt, i) => {
    const price = found[i] ?? null;
    prices.set(attempt, price);
    if (price === null) return;
    const nanos = worstCaseNanos(price, inputTokens, outputTokenBound(body, price));
    if (nanos > worst) {
      worst = nanos;
      worstModel = label(attempt);
    }
  });
  return { plan, prices, worst, worstModel };
}

/** A provider's count as the ledger stores it: a whole number of tokens (some report fractions, or garbage). */
const wholeTokens = (n: number): number => (Number.isFinite(n) ? Math.min(Number.MAX_SAFE_INTEGER, Math.max(0, Math.round(n))) : 0);

const throwUnpriced = (plan: Plan): never => {
  throw unpricedRefusal(plan);
};

/** The plan without its unpriced targets (a hard budget cannot bound them), or null if that leaves none. */
function withoutUnpriced(p: Priced): Priced | null {
  const attempts = p.plan.attempts.filter((a) => p.prices.get(a) !== null);
  if (attempts.length === 0) return null;
  return attempts.length === p.plan.attempts.length ? p : { ...p, plan: { ...p.plan, attempts } };
}

const hardBudgets = (answers: readonly ScopeAnswer[]): ScopeAnswer[] => answers.filter((a) => a.answer.status?.budget.mode === "hard");

/** The status whose budget asks for a degrade: a hard one that refused, or a soft one that is used up. */
function degradeAsked(answers: readonly ScopeAnswer[]): BudgetStatus | undefined {
  for (const { answer } of answers) {
    const status = answer.status;
    if (status === null || status.budget.degradeTo === undefined) continue;
    if (!answer.admitted) return status;
    if (status.budget.mode === "soft" && status.spentNanos + status.reservedNanos > usdToNanos(status.budget.limitUsd)) return status;
  }
  return undefined;
}

/** Something else the admit step counted, to correct once the answer's usage is known or to give back if it never comes. */
export interface AnswerHook {
  readonly headers: Readonly<Record<string, string>>;
  /** `attempt`: the target that answered. */
  settle(used: Usage, attempt: Attempt): void;
  refund(): void;
  /** Runs before each upstream call; a 4xx GatewayError makes the executor skip that target. */
  beforeCall?(attempt: Attempt): Promise<void>;
}

export class RequestMeter {
  readonly #request: MeterRequest;
  readonly #scopes: string[];
  #priced: Priced;
  /** Scopes holding a reservation for this request. */
  #reserved: string[] = [];
  readonly headers: Record<string, string> = {};
  #settled = false;
  readonly #hooks: AnswerHook[] = [];

  private constructor(request: MeterRequest, p: Priced) {
    this.#request = request;
    this.#scopes = scopesOf(request.key, request.user);
    this.#priced = p;
  }

  /** Admits the request on `plan` (possibly degraded, or without unpriced targets), or throws the 402 that refuses it. */
  static async admit(request: MeterRequest, plan: Plan): Promise<RequestMeter> {
    const meter = new RequestMeter(request, await priced(request.env, plan, request.body, request.inputTokens));
    await meter.#admit();
    return meter;
  }

  get plan(): Plan {
    return this.#priced.plan;
  }

  async #admit(): Promise<void> {
    const { key, env, inputTokens } = this.#request;
    let degraded = false;
    /** Re-plans on `alias`; false (and the request is refused as it would have been) when the alias cannot be planned now. */
    const degrade = async (alias: string, why: string): Promise<boolean> => {
      if (degraded) return false;
      degraded = true;
      const from = this.#priced.plan.requested;
      try {
        this.#priced = await priced(env, await this.#request.replan(alias), this.#request.body, inputTokens);
      } catch (err) {
        console.error(JSON.stringify({ msg: "degrade_failed", alias, why, error: String(err) }));
        return false;
      }
      this.headers["x-switchyard-degraded"] = `${from} -> ${alias} (${why})`;
      return true;
    };

    const cap = key.maxCostPerRequestUsd;
    if (cap !== undefined) {
      // A cap bounds what a request may cost: a model with no price cannot be shown to fit it.
      if (!key.allowUnpriced) this.#priced = withoutUnpriced(this.#priced) ?? throwUnpriced(this.#priced.plan);
      if (this.#priced.worst > usdToNanos(cap)) {
        const served = key.degradeTo !== undefined && (await degrade(key.degradeTo, "maxCostPerRequestUsd"));
        if (!served || this.#priced.worst > usdToNanos(cap)) throw perRequestCapRefusal(this.#priced, cap, this.#request.body);
      }
    }

    if (env.SPEND_LEDGER === undefined) return;
    // From the first reservation on, whatever refuses the request must also give its reservations back.
    try {
      let answers = await this.#reserve();
      const asked = degradeAsked(answers);
      if (asked?.budget.degradeTo !== undefined && (await degrade(asked.budget.degradeTo, `${asked.scope} budget`))) {
        answers = await this.#reserve();
      }
      for (const { answer } of answers) if (!answer.admitted) throw budgetRefusal(answer.status, this.#priced.worst);
      if (hardBudgets(answers).length > 0 && !key.allowUnpriced) {
        this.#priced = withoutUnpriced(this.#priced) ?? throwUnpriced(this.#priced.plan);
      }
      const warning = budgetWarnings(answers.map((a) => a.answer.status));
      if (warning !== null) this.headers["x-switchyard-budget-warning"] = warning;
    } catch (err) {
      this.release();
      throw err;
    }
  }

  /** One round of reservations; an admitted scope is remembered for settling or release. */
  async #reserve(): Promise<ScopeAnswer[]> {
    const ns = this.#request.env.SPEND_LEDGER;
    if (ns === undefined) return [];
    const { requestId, user, env } = this.#request;
    const ttlMs = settingsFor(env).reservationTtlMs;
    const request = { id: requestId, nanos: this.#priced.worst, model: this.#priced.worstModel, user, ttlMs };
    return reserveOn(ns, this.#scopes, request, (scope) => {
      if (!this.#reserved.includes(scope)) this.#reserved.push(scope);
    });
  }

  /**
   * A provider answered but its answer could not be read (a body that stalled or
   * broke, a stream nothing could relay): it has likely billed the request, so
   * it is charged as estimated, with the most output it could have produced.
   */
  chargeUnread(attempt: Attempt): Charge {
    const price = this.priceOf(attempt);
    const { body, bodyBytes } = this.#request;
    const output = price === null ? 0 : outputTokenBound(body, price);
    return this.settle(attempt, null, false, () => estimatedUsage(null, bodyBytes, output));
  }

  /** What a usage of `attempt` costs in USD, for the usage the client sees (null: unpriced). */
  costOf(attempt: Attempt): CostOf {
    const price = this.priceOf(attempt);
    return (usage) => (price === null ? null : nanosToUsd(costNanos(price, usage)));
  }

  /** The price of the target that answered (null: unpriced). */
  priceOf(attempt: Attempt): ModelPrice | null {
    return this.#priced.prices.get(attempt) ?? null;
  }

  /** `build` with every hook's `beforeCall` in front of it (outbound limits: a target without headroom is skipped). */
  gated<T>(build: (attempt: Attempt) => T | Promise<T>): (attempt: Attempt) => T | Promise<T> {
    const gates = this.#hooks.filter((hook) => hook.beforeCall !== undefined);
    if (gates.length === 0) return build; // nothing to wait for: the executor calls the adapter directly
    return async (attempt) => {
      for (const gate of gates) await gate.beforeCall?.(attempt);
      return build(attempt);
    };
  }

  /** Work that also ends with the request: rate limits' token corrections. Its headers join the answer's. */
  attach(hook: AnswerHook): void {
    this.#hooks.push(hook);
    Object.assign(this.headers, hook.headers);
  }

  /** The request failed before any provider answered (no provider bills an error): its reservations go. */
  release(): void {
    if (this.#settled) return;
    this.#settled = true;
    for (const hook of this.#hooks) hook.refund();
    const ns = this.#request.env.SPEND_LEDGER;
    if (ns !== undefined) releaseOn(ns, this.#request.ctx, this.#reserved, this.#request.requestId);
  }

  /**
   * Charges what `attempt` answered: the usage the provider reported for a
   * complete answer, or else (a cut stream, a client that left, no usage)
   * `estimate` of it, flagged as estimated. Written to every scope of the
   * request, in the background.
   */
  settle(attempt: Attempt, reported: Usage | null, complete: boolean, estimate: (reported: Usage | null) => Usage): Charge {
    const price = this.priceOf(attempt);
    const used = complete && reported !== null ? reported : estimate(reported);
    const estimated = used !== reported;
    const nanos = price === null ? null : costNanos(price, used);
    const { env, ctx, key, requestId, user, started } = this.#request;
    if (!this.#settled) for (const hook of this.#hooks) hook.settle(used, attempt);
    if (!this.#settled && env.SPEND_LEDGER !== undefined) {
      this.#settled = true;
      recordSpend(env.SPEND_LEDGER, ctx, this.#scopes, {
        id: requestId,
        at: started,
        model: label(attempt),
        user,
        nanos: nanos ?? 0,
        promptTokens: wholeTokens(used.prompt_tokens),
        completionTokens: wholeTokens(used.completion_tokens),
        estimated,
        unpriced: price === null,
      });
    }
    if (nanos !== null && key.maxCostPerRequestUsd !== undefined && nanos > usdToNanos(key.maxCostPerRequestUsd)) {
      costAnomaly(ctx, key, { requestId, model: label(attempt), costUsd: nanosToUsd(nanos), maxCostPerRequestUsd: key.maxCostPerRequestUsd });
    }
    return { costUsd: nanos === null ? null : nanosToUsd(nanos), estimated };
  }
}

/** A request that cost more than its key's cap allows (its worst case was under it, so the estimate failed): logged, and posted to the key's webhook. */
function costAnomaly(ctx: BackgroundWork, key: GatewayKey, detail: { requestId: string; model: string; costUsd: number; maxCostPerRequestUsd: number }): void {
  const alert = { type: "cost_anomaly", keyId: key.id, ...detail };
  console.warn(JSON.stringify({ msg: "cost_anomaly", ...alert }));
  if (key.alertWebhook === undefined) return;
  ctx.waitUntil(postWebhook(key.alertWebhook, alert).catch((err: unknown) => console.error(JSON.stringify({ msg: "alert_webhook_failed", error: String(err) }))));
}
