/**
 * What one request is charged, once it is over: the answer's cost from its
 * usage (or an estimate, never above the answering call's worst case), plus
 * the estimated input of every call a provider may bill without having
 * answered (a hedge that lost, a call abandoned at its deadline). Written to
 * each of the request's scopes as one spend record.
 */
import type { GatewayKey } from "../auth/gateway-key.ts";
import { settingsFor } from "../config/settings.ts";
import type { Env } from "../env.ts";
import { priceUsage, type CostPart } from "../metering/cost.ts";
import { estimatedUsage } from "../metering/estimate.ts";
import { inputTokensOn } from "../metering/input-bound.ts";
import { nanosCeil } from "../metering/money.ts";
import { nanosToUsd, usdToNanos, type Nanos } from "../metering/types.ts";
import { callTotal, DEFAULT_MAX_INPUT_TOKENS, type RequestBounds } from "../metering/worst-case.ts";
import { postWebhook } from "../observability/webhook.ts";
import type { Usage } from "../providers/types.ts";
import type { BackgroundWork } from "../routing/health.ts";
import type { Attempt } from "../routing/plan.ts";
import type { AbandonedWhy } from "../routing/execute.ts";
import type { AnswerHook } from "./admission.ts";
import { recordSpend } from "./ledger-client.ts";
import { targetLabel, type TargetBill } from "./request-pricing.ts";

/** A call that ended without an answer but may be billed: abandoned at its deadline, a hedge that lost the race, a 200 that could not be used. */
export interface Abandoned {
  readonly target: string;
  readonly why: AbandonedWhy;
}

/** Such a call's charge: its input, estimated (null: its model has no price). */
export interface AbandonedCharge extends Abandoned {
  readonly costUsd: number | null;
}

/** What the request was charged, for the response and its record. */
export interface Charge {
  /** USD in all (the answer and any abandoned calls), or null when the answering model has no known price. */
  readonly costUsd: number | null;
  /** Some of it is the gateway's estimate: the provider reported no (complete) usage, or calls were billed without an answer. */
  readonly estimated: boolean;
  /** The answer's cost by part, USD. */
  readonly parts: Readonly<Partial<Record<CostPart, number>>>;
  readonly abandoned: readonly AbandonedCharge[];
  /** What the answer reported that no price covers (a fee, a service tier): left out of the cost. */
  readonly unpriced: readonly string[];
  /** Nano-dollars written to the request's ledgers: the request log carries the same, so their sums agree exactly. */
  readonly nanos: Nanos;
  /** It cost more than its key's maxCostPerRequestUsd (a cost anomaly: its record is flagged, the key's webhook told). */
  readonly overCap: boolean;
}

interface Request {
  readonly env: Env;
  readonly ctx: BackgroundWork;
  readonly key: GatewayKey;
  readonly requestId: string;
  readonly user: string | null;
  readonly started: number;
  readonly bounds: RequestBounds;
}

/** A provider's count as the ledger stores it: a whole number of tokens (some report fractions, or garbage). */
const wholeTokens = (n: number): number => (Number.isFinite(n) ? Math.min(Number.MAX_SAFE_INTEGER, Math.max(0, Math.round(n))) : 0);

export class RequestCharges {
  readonly #request: Request;
  readonly #scopes: readonly string[];
  readonly #billOf: (attempt: Attempt) => TargetBill;
  readonly #hooks: () => readonly AnswerHook[];
  readonly #abandoned: Array<{ attempt: Attempt; why: Abandoned["why"] }> = [];
  #finished = false;
  /** What was written to the ledgers (null: nothing yet). */
  #charged: Nanos | null = null;

  constructor(request: Request, scopes: readonly string[], billOf: (attempt: Attempt) => TargetBill, hooks: () => readonly AnswerHook[]) {
    this.#request = request;
    this.#scopes = scopes;
    this.#billOf = billOf;
    this.#hooks = hooks;
  }

  /** Nano-dollars written to the request's ledgers, or null when nothing was charged. */
  get chargedNanos(): Nanos | null {
    return this.#charged;
  }

  abandoned(attempt: Attempt, why: Abandoned["why"]): void {
    if (!this.#finished) this.#abandoned.push({ attempt, why });
  }

  /** The input the request sends `attempt`, estimated as an unreported prompt is: the input bound's estimate on its model, capped at the context window. */
  #promptEstimate(attempt: Attempt, bill: TargetBill): number {
    return Math.min(inputTokensOn(this.#request.bounds.input, attempt.model).estimate, bill.price?.maxInputTokens ?? DEFAULT_MAX_INPUT_TOKENS);
  }

  /** The abandoned calls' charges: each its estimated input at its target's price, never above that input's worst case. */
  #abandonedCharges(): { nanos: Nanos; charges: AbandonedCharge[] } {
    let nanos = 0;
    const charges = this.#abandoned.map(({ attempt, why }): AbandonedCharge => {
      const bill = this.#billOf(attempt);
      const target = targetLabel(attempt);
      if (bill.price === null) return { target, why, costUsd: null };
      const prompt = this.#promptEstimate(attempt, bill);
      let cost = priceUsage(bill.price, { prompt_tokens: prompt, completion_tokens: 0, total_tokens: prompt }).nanos;
      if (bill.worst !== null) cost = Math.min(cost, nanosCeil(bill.worst.input));
      nanos += cost;
      return { target, why, costUsd: nanosToUsd(cost) };
    });
    return { nanos, charges };
  }

  /** What `usage` on `attempt` costs in USD with the abandoned calls' charges, or null when its model has no price. */
  costOf(attempt: Attempt, usage: Usage): number | null {
    const price = this.#billOf(attempt).price;
    return price === null ? null : nanosToUsd(priceUsage(price, usage).nanos + this.#abandonedCharges().nanos);
  }

  /** Marks the request's charge as written; false if it already was (a request is charged once). */
  finish(): boolean {
    if (this.#finished) return false;
    this.#finished = true;
    return true;
  }

  /** A request that failed after abandoning calls a provider may bill: those are charged (true), and its reservations end with that charge. */
  settleAbandonedOnly(): boolean {
    if (this.#finished || this.#abandoned.length === 0) return false;
    const first = this.#abandoned[0]!.attempt;
    this.#record(first, { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 }, this.#abandonedCharges().nanos, true, false);
    this.#finished = true;
    for (const hook of this.#hooks()) hook.refund();
    return true;
  }

  settle(attempt: Attempt, reported: Usage | null, complete: boolean, produced: number): Charge {
    const bill = this.#billOf(attempt);
    const estimate = complete && reported !== null
      ? null
      : estimatedUsage(reported, { promptTokens: this.#promptEstimate(attempt, bill), outputTokens: produced, outputCap: bill.outputCap * this.#request.bounds.choices });
    const used = estimate ?? (reported as Usage);
    const costed = bill.price === null ? null : priceUsage(bill.price, used);
    let answer = costed?.nanos ?? null;
    // An estimate errs high, but never above what the call could have cost: that much was reserved for it.
    if (answer !== null && estimate !== null && bill.worst !== null) answer = Math.min(answer, nanosCeil(callTotal(bill.worst)));
    const abandoned = this.#abandonedCharges();
    const total = (answer ?? 0) + abandoned.nanos;
    const estimated = estimate !== null || abandoned.charges.length > 0;
    if (!this.#finished) {
      this.#finished = true;
      for (const hook of this.#hooks()) hook.settle(used, attempt);
      this.#record(attempt, used, total, estimated, bill.price === null);
    }
    const { key, ctx, requestId } = this.#request;
    const overCap = answer !== null && key.maxCostPerRequestUsd !== undefined && total > usdToNanos(key.maxCostPerRequestUsd);
    // With a request log, its consumer alerts (once, with the other anomalies); without one, this isolate does.
    if (overCap && key.maxCostPerRequestUsd !== undefined && this.#request.env.LOG_QUEUE === undefined) {
      costAnomaly(ctx, key, { requestId, model: targetLabel(attempt), costUsd: nanosToUsd(total), maxCostPerRequestUsd: key.maxCostPerRequestUsd });
    }
    const parts: Partial<Record<CostPart, number>> = {};
    for (const [part, nanos] of Object.entries(costed?.parts ?? {}) as Array<[CostPart, Nanos]>) parts[part] = nanosToUsd(nanos);
    return { costUsd: answer === null ? null : nanosToUsd(total), estimated, parts, abandoned: abandoned.charges, unpriced: costed?.unpriced ?? [], nanos: total, overCap };
  }

  /** Writes the request's spend to each of its scopes, in the background (batched: ledger-client.ts). */
  #record(attempt: Attempt, used: Usage, nanos: Nanos, estimated: boolean, unpriced: boolean): void {
    const { env, ctx, requestId, user, started } = this.#request;
    this.#charged = nanos;
    if (env.SPEND_LEDGER === undefined) return;
    recordSpend(env.SPEND_LEDGER, ctx, this.#scopes, {
      id: requestId,
      at: started,
      model: targetLabel(attempt),
      user,
      nanos,
      promptTokens: wholeTokens(used.prompt_tokens),
      completionTokens: wholeTokens(used.completion_tokens),
      estimated,
      unpriced,
    }, settingsFor(env));
  }
}

/** A request that cost more than its key's cap allows (its worst case was under it, so the estimate failed): logged, and posted to the key's webhook. */
function costAnomaly(ctx: BackgroundWork, key: GatewayKey, detail: { requestId: string; model: string; costUsd: number; maxCostPerRequestUsd: number }): void {
  const alert = { type: "cost_anomaly", keyId: key.id, ...detail };
  console.warn(JSON.stringify({ msg: "cost_anomaly", ...alert }));
  if (key.alertWebhook === undefined) return;
  ctx.waitUntil(postWebhook(key.alertWebhook, alert).catch((err: unknown) => console.error(JSON.stringify({ msg: "alert_webhook_failed", error: String(err) }))));
}
