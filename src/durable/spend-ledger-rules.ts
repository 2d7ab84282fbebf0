/**
 * The SpendLedger's rules, apart from its storage (src/durable/spend-ledger.ts):
 * which period a moment belongs to, whether a reservation fits a budget, which
 * alerts are due. Pure functions of their arguments, so they are tested directly.
 */
import type { Budget, BudgetAlert, BudgetPeriod, BudgetStatus } from "../budgets/ledger-types.ts";
import { nanosToUsd, usdToNanos, type Nanos } from "../metering/types.ts";

/** The `total` period's key: it never ends. */
export const TOTAL_KEY = "total";

/** Period keys: UTC day `2026-11-24`, UTC month `2026-11`, `total`. Their lengths differ, so they never collide. */
export function periodKey(period: BudgetPeriod, at: number): string {
  if (period === "total") return TOTAL_KEY;
  const iso = new Date(at).toISOString();
  return period === "day" ? iso.slice(0, 10) : iso.slice(0, 7);
}

/** The keys of the day, the month and the total a moment counts towards. */
export function periodKeysOf(at: number): readonly [day: string, month: string, total: string] {
  const iso = new Date(at).toISOString();
  return [iso.slice(0, 10), iso.slice(0, 7), TOTAL_KEY];
}

/** One period of a budget: its key and bounds (epoch ms, end exclusive; ±Infinity for `total`). */
export interface PeriodWindow {
  readonly key: string;
  readonly startMs: number;
  readonly endMs: number;
  /** ISO strings of the bounds, null for `total` (as BudgetStatus reports them). */
  readonly periodStart: string | null;
  readonly resetsAt: string | null;
}

export function periodWindow(period: BudgetPeriod, at: number): PeriodWindow {
  if (period === "total") return { key: TOTAL_KEY, startMs: -Infinity, endMs: Infinity, periodStart: null, resetsAt: null };
  const d = new Date(at);
  const [y, m, day] = [d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()];
  const startMs = period === "day" ? Date.UTC(y, m, day) : Date.UTC(y, m, 1);
  const endMs = period === "day" ? Date.UTC(y, m, day + 1) : Date.UTC(y, m + 1, 1);
  return {
    key: periodKey(period, at),
    startMs,
    endMs,
    periodStart: new Date(startMs).toISOString(),
    resetsAt: new Date(endMs).toISOString(),
  };
}

export const contains = (window: PeriodWindow, at: number): boolean => at >= window.startMs && at < window.endMs;

/** A hard budget admits a reservation only if what is spent, what is in flight and this one together stay within the limit. */
export const fitsLimit = (limitNanos: Nanos, spentNanos: Nanos, reservedNanos: Nanos, nanos: Nanos): boolean =>
  spentNanos + reservedNanos + nanos <= limitNanos;

export function budgetStatus(scope: string, budget: Budget, window: PeriodWindow, spentNanos: Nanos, reservedNanos: Nanos): BudgetStatus {
  return { scope, budget, spentNanos, reservedNanos, periodStart: window.periodStart, resetsAt: window.resetsAt };
}

/** An alert level: a share of the limit, and the spend (nanos) at which it is reached. */
export interface AlertThreshold {
  readonly percent: number;
  readonly atNanos: Nanos;
}

/**
 * The alert levels of a budget: `alertAtPercent` (if set) and 100 %. A sent alert
 * is remembered by its level's percent AND spend, so that a changed limit makes
 * the levels new (an alert about the old limit says nothing about the new one).
 */
export function alertThresholds(budget: Budget): AlertThreshold[] {
  const limitNanos = usdToNanos(budget.limitUsd);
  const percents = budget.alertAtPercent === undefined || budget.alertAtPercent === 100 ? [100] : [budget.alertAtPercent, 100];
  return percents.map((percent) => ({ percent, atNanos: Math.round((limitNanos * percent) / 100) }));
}

export const alertKey = (t: AlertThreshold): string => `${t.percent}@${t.atNanos}`;

/** Levels reached by `spentNanos` that are neither sent nor being sent. None without a webhook. */
export function dueAlerts(budget: Budget, spentNanos: Nanos, done: (key: string) => boolean): AlertThreshold[] {
  if (budget.alertWebhook === undefined) return [];
  return alertThresholds(budget).filter((t) => spentNanos >= t.atNanos && !done(alertKey(t)));
}

export function alertBody(scope: string, budget: Budget, threshold: AlertThreshold, spentNanos: Nanos, window: PeriodWindow): BudgetAlert {
  return {
    type: "budget_alert",
    scope,
    threshold: threshold.percent,
    limitUsd: budget.limitUsd,
    spentUsd: nanosToUsd(spentNanos),
    period: budget.period,
    periodStart: window.periodStart,
    mode: budget.mode,
  };
}

/** Amounts are integer nanos so that sums stay exact; anything else is a caller's bug. */
export function assertNanos(nanos: number, what: string): void {
  if (!Number.isSafeInteger(nanos) || nanos < 0) throw new RangeError(`${what} must be a non-negative integer number of nanos, got ${nanos}`);
}
