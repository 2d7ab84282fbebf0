import { GatewayError } from "../http/errors.ts";
import { nanosToUsd, usdToNanos, type Nanos } from "../metering/types.ts";
import type { Plan } from "../routing/plan.ts";
import type { BudgetStatus } from "./ledger-types.ts";

/** Dollars for people: cents for large amounts, enough digits to see a fraction of a cent otherwise. */
export function formatUsd(nanos: Nanos): string {
  const usd = nanosToUsd(nanos);
  if (Math.abs(usd) >= 1) return `$${usd.toFixed(2)}`;
  return `$${Number(usd.toFixed(6)).toString()}`;
}

const PER: Record<string, string> = { day: "per UTC day", month: "per UTC month", total: "in total" };

function budgetLine(status: BudgetStatus): string {
  return `the ${status.budget.mode} budget of '${status.scope}' (${formatUsd(usdToNanos(status.budget.limitUsd))} ${PER[status.budget.period] ?? ""})`;
}

/** 402: a hard budget the request's worst case does not fit. */
export function budgetRefusal(status: BudgetStatus, worst: Nanos): GatewayError {
  const limit = usdToNanos(status.budget.limitUsd);
  const left = Math.max(0, limit - status.spentNanos - status.reservedNanos - status.leasedNanos);
  const resets = status.resetsAt === null ? "" : ` It resets at ${status.resetsAt}.`;
  return new GatewayError(
    402,
    `This request could cost up to ${formatUsd(worst)} and ${budgetLine(status)} has ${formatUsd(left)} left ` +
      `(${formatUsd(status.spentNanos)} spent, ${formatUsd(status.reservedNanos)} held by requests in flight` +
      `${status.leasedNanos > 0 ? `, ${formatUsd(status.leasedNanos)} leased to gateway instances` : ""}).${resets} ` +
      "A lower max_tokens lowers the worst case; an admin can raise the budget.",
    { code: "budget_exceeded", headers: { "x-switchyard-budget-scope": status.scope } },
  );
}

/**
 * 402: only targets nothing bounds, under a hard budget or a per-request cap: no price at all, or
 * (`why`) none for what the request asks, such as a service tier the price map has no rates for.
 */
export function unpricedRefusal(plan: Plan, why: (attempt: Plan["attempts"][number]) => string | undefined): GatewayError {
  const targets = plan.attempts.map((a) => {
    const reason = why(a);
    return `${a.provider.name}/${a.model}${reason === undefined ? "" : ` at ${reason}`}`;
  });
  return new GatewayError(
    402,
    `No price is known for ${targets.join(", ")}, so a hard budget cannot bound what this request would cost. ` +
      "An admin can set its price (PUT /admin/prices) or allow unpriced models on this key (allowUnpriced).",
    { code: "model_unpriced", param: "model" },
  );
}

/** 402: the worst case is above the key's `maxCostPerRequestUsd`; says which max_tokens would fit, when one would. */
export function perRequestCapRefusal(p: { worst: Nanos; worstModel: string }, cap: number, body: Readonly<Record<string, unknown>>): GatewayError {
  const hasCap = body.max_tokens !== undefined || body.max_completion_tokens !== undefined;
  const hint = hasCap ? "Send a shorter prompt or a lower max_tokens." : "Set max_tokens: without it the worst case assumes the model's longest answer.";
  return new GatewayError(
    402,
    `This request could cost up to ${formatUsd(p.worst)} on ${p.worstModel}, above this key's limit of ${formatUsd(usdToNanos(cap))} per request. ${hint}`,
    { code: "request_cost_limit", param: hasCap ? "max_tokens" : null },
  );
}

/** The `x-switchyard-budget-warning` header: budgets at or past their alert share (80 % unless set), most used first. */
export function budgetWarnings(statuses: ReadonlyArray<BudgetStatus | null>): string | null {
  const lines: Array<{ used: number; text: string }> = [];
  for (const status of statuses) {
    if (status === null) continue;
    const limit = usdToNanos(status.budget.limitUsd);
    const used = (status.spentNanos + status.reservedNanos) / limit;
    if (used * 100 < (status.budget.alertAtPercent ?? 80)) continue;
    lines.push({ used, text: `${status.scope} ${Math.floor(used * 100)}% of ${formatUsd(limit)} ${status.budget.period} (${status.budget.mode})` });
  }
  if (lines.length === 0) return null;
  return lines.sort((a, b) => b.used - a.used).map((l) => l.text).join(", ");
}
