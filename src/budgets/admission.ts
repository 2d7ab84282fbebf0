/**
 * The admit and settle steps of one request (DESIGN.md "One request, one
 * path", "Reserve, then settle"): before forwarding, the plan's worst-case cost
 * is checked against the key's per-request cap and reserved on every scope with
 * a budget (one concurrent round of Durable Object calls); a budget or cap that
 * does not fit refuses the request (402) or degrades it to a cheaper alias.
 * After the answer, its actual cost replaces the reservations and is counted in
 * every scope; a request that failed releases them, except for what the
 * providers may bill of the calls it abandoned (charges.ts).
 */
import type { GatewayKey } from "../auth/gateway-key.ts";
import { settingsFor } from "../config/settings.ts";
import type { Env } from "../env.ts";
import { usdToNanos } from "../metering/types.ts";
import type { RequestBounds } from "../metering/worst-case.ts";
import type { CostOf, Usage } from "../providers/types.ts";
import type { Attempt, Plan } from "../routing/plan.ts";
import type { BackgroundWork } from "../routing/health.ts";
import { budgetRefusal, budgetWarnings, unpricedRefusal, perRequestCapRefusal } from "./admission-messages.ts";
import { RequestCharges, type Abandoned, type Charge } from "./charges.ts";
import { exchangerFor, releaseOn, reserveOn, type ScopeAnswer } from "./ledger-client.ts";
import { readmitOnLease, releaseOnLease } from "./lease-holder.ts";
import type { BudgetStatus } from "./ledger-types.ts";
import { priceRequest, withoutUnbounded, type Priced, type TargetBill } from "./request-pricing.ts";
import { meteredScopes } from "./budgeted-scopes.ts";

export type { Charge } from "./charges.ts";

export interface MeterRequest {
  readonly env: Env;
  readonly ctx: BackgroundWork;
  readonly key: GatewayKey;
  readonly requestId: string;
  readonly user: string | null;
  /** The client's body as sent (OpenAI or Anthropic format), and its size in UTF-8 bytes. */
  readonly body: Readonly<Record<string, unknown>>;
  readonly bodyBytes: number;
  /** What bounds the request's cost besides its prices (metering/worst-case.ts requestBounds), read once for budgets and limits. */
  readonly bounds: RequestBounds;
  readonly started: number;
  /** The plan for another alias, for a degraded request (no allow-list check: an admin chose it). */
  readonly replan: (alias: string) => Promise<Plan>;
}

const throwUnpriced = (p: Priced): never => {
  throw unpricedRefusal(p.plan, (attempt) => p.bills.get(attempt)?.unbounded);
};

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
  /** Scopes whose lease, held by this isolate, the request was admitted on (lease-holder.ts). */
  #leased: string[] = [];
  readonly headers: Record<string, string> = {};
  readonly #hooks: AnswerHook[] = [];
  readonly #charges: RequestCharges;
  #degradedTo: string | null = null;

  private constructor(request: MeterRequest, scopes: string[], p: Priced) {
    this.#request = request;
    this.#scopes = scopes;
    this.#priced = p;
    this.#charges = new RequestCharges(request, this.#scopes, (attempt) => this.#billOf(attempt), () => this.#hooks);
  }

  /** Admits the request on `plan` (possibly degraded, or without unbounded targets), or throws the 402 that refuses it. */
  static async admit(request: MeterRequest, plan: Plan): Promise<RequestMeter> {
    const [scopes, priced] = await Promise.all([meteredScopes(request.env, request.key, request.user), priceRequest(request.env, plan, request.body, request.bounds)]);
    const meter = new RequestMeter(request, scopes, priced);
    await meter.#admit();
    return meter;
  }

  get plan(): Plan {
    return this.#priced.plan;
  }

  /** Nano-dollars this request wrote to its ledgers (an answer, or the calls a failed one abandoned); null: none. */
  get chargedNanos(): number | null {
    return this.#charges.chargedNanos;
  }

  /** The end user the request is attributed to. */
  get user(): string | null {
    return this.#request.user;
  }

  /** The alias a budget or the per-request cap degraded the request to, if any. */
  get degradedTo(): string | null {
    return this.#degradedTo;
  }

  async #admit(): Promise<void> {
    const { key, env, body, bounds } = this.#request;
    let degraded = false;
    /** Re-plans on `alias`; false (and the request is refused as it would have been) when the alias cannot be planned now. */
    const degrade = async (alias: string, why: string): Promise<boolean> => {
      if (degraded) return false;
      degraded = true;
      const from = this.#priced.plan.requested;
      try {
        this.#priced = await priceRequest(env, await this.#request.replan(alias), body, bounds);
      } catch (err) {
        console.error(JSON.stringify({ msg: "degrade_failed", alias, why, error: String(err) }));
        return false;
      }
      this.headers["x-switchyard-degraded"] = `${from} -> ${alias} (${why})`;
      this.#degradedTo = alias;
      return true;
    };

    const cap = key.maxCostPerRequestUsd;
    if (cap !== undefined) {
      // A cap bounds what a request may cost: a target nothing bounds cannot be shown to fit it.
      if (!key.allowUnpriced) this.#priced = withoutUnbounded(this.#priced) ?? throwUnpriced(this.#priced);
      if (this.#priced.worst > usdToNanos(cap)) {
        const served = key.degradeTo !== undefined && (await degrade(key.degradeTo, "maxCostPerRequestUsd"));
        if (!served || this.#priced.worst > usdToNanos(cap)) throw perRequestCapRefusal(this.#priced, cap, body);
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
        this.#priced = withoutUnbounded(this.#priced) ?? throwUnpriced(this.#priced);
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
    const { requestId, user, env, ctx } = this.#request;
    const ttlMs = settingsFor(env).reservationTtlMs;
    const request = { id: requestId, nanos: this.#priced.worst, model: this.#priced.worstModel, user, ttlMs };
    // Asked again (a degraded request's cheaper worst case): an unannounced admission on a slice gives way (an
    // announced one is a reservation, which the new admission, with the same id, replaces).
    for (const scope of this.#leased) readmitOnLease(scope, requestId);
    this.#leased = [];
    return reserveOn(ns, env.CONFIG, ctx, this.#scopes, request, (scope, how) => {
      const list = how === "leased" ? this.#leased : this.#reserved;
      if (!list.includes(scope)) list.push(scope);
    }, exchangerFor(ns, settingsFor(env)));
  }

  #releaseLeased(): void {
    const ns = this.#request.env.SPEND_LEDGER;
    if (ns === undefined) return;
    const exchange = exchangerFor(ns, settingsFor(this.#request.env));
    for (const scope of this.#leased) releaseOnLease(scope, this.#request.requestId, this.#request.ctx, exchange);
    this.#leased = [];
  }

  #billOf(attempt: Attempt): TargetBill {
    const bill = this.#priced.bills.get(attempt);
    if (bill === undefined) throw new Error(`no bill for ${attempt.provider.name}/${attempt.model}: not a target of this request's plan`);
    return bill;
  }

  /** The output cap of one choice on `attempt`: what its adapter sends when the body sets none, and what was reserved. */
  outputCapOf(attempt: Attempt): number {
    return this.#billOf(attempt).outputCap;
  }

  /**
   * A call that ended without an answer after the provider may have started on
   * it (a hedge that lost, a call abandoned at its deadline): the provider may
   * bill its input, so the request is charged that input, estimated.
   */
  abandoned(attempt: Attempt, why: Abandoned["why"]): void {
    this.#charges.abandoned(attempt, why);
  }

  /**
   * A provider answered but its answer could not be read (a body that stalled or
   * broke, a stream nothing could relay): it has likely billed the request, so
   * it is charged as estimated, with the most output it could have produced.
   */
  chargeUnread(attempt: Attempt): Charge {
    return this.#charges.settle(attempt, null, false, Infinity);
  }

  /** What a usage of `attempt` costs in USD, for the usage the client sees (null: unpriced); calls billed without an answer included. */
  costOf(attempt: Attempt): CostOf {
    return (usage) => this.#charges.costOf(attempt, usage);
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

  /**
   * The request failed before any provider answered (no provider bills an
   * error): its reservations go, or, when it abandoned calls a provider may
   * bill, are settled to what those calls are charged.
   */
  release(): void {
    if (this.#charges.settleAbandonedOnly()) return;
    if (!this.#charges.finish()) return;
    for (const hook of this.#hooks) hook.refund();
    const ns = this.#request.env.SPEND_LEDGER;
    if (ns !== undefined) releaseOn(ns, this.#request.ctx, this.#reserved, this.#request.requestId);
    this.#releaseLeased();
  }

  /**
   * Charges what `attempt` answered: the usage the provider reported for a
   * complete answer, or else (a cut stream, a client that left, no usage) an
   * estimate from what was sent and `produced` (output tokens seen: one per
   * streamed piece, or the answer's size), flagged as estimated and never above
   * the call's worst case. Written to every scope of the request, in the background.
   */
  settle(attempt: Attempt, reported: Usage | null, complete: boolean, produced: number): Charge {
    return this.#charges.settle(attempt, reported, complete, produced);
  }
}
