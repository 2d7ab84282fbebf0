/**
 * The SpendLedger's rules, apart from its storage (src/durable/spend-ledger.ts):
 * which period a moment belongs to, whether a reservation fits a budget, which
 * alerts are due. Pure functions of their arguments, so they are tested directly.
 */
import { MAX_BATCH_ID, MAX_HOLDER_ID, type Budget, type LeaseExchange, type BudgetAlert, type BudgetPeriod, type BudgetStatus, type SpendRecord } from "../ledger-types.ts";
import { nanosToUsd, usdToNanos, type Nanos } from "../../metering/types.ts";

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

/**
 * A hard budget admits a reservation only if what is spent, what is in flight and this one together
 * stay within the limit. In BigInt: the sum of many large reservations passes 2^53, where numbers
 * would round.
 */
export const fitsLimit = (limitNanos: Nanos, spentNanos: Nanos, reserved: bigint, nanos: Nanos): boolean =>
  BigInt(spentNanos) + reserved + BigInt(nanos) <= BigInt(limitNanos);

/** An exact sum of nanos as a number, saturated at the largest exact one (only reports read it). */
export const reportedNanos = (sum: bigint): Nanos => Number(sum > BigInt(Number.MAX_SAFE_INTEGER) ? BigInt(Number.MAX_SAFE_INTEGER) : sum);

export function budgetStatus(scope: string, budget: Budget, window: PeriodWindow, spentNanos: Nanos, reserved: bigint, leased: bigint): BudgetStatus {
  return { scope, budget, spentNanos, reservedNanos: reportedNanos(reserved), leasedNanos: reportedNanos(leased), periodStart: window.periodStart, resetsAt: window.resetsAt };
}

/**
 * The lease a holder gets: what it asks for, within its share of what the budget has left beside the
 * period's spend, the reservations and the other holders' leases (`available`, exact), shared with
 * the holders there are and one more (so a new holder, or a request reserved on its own, finds room):
 * a lease shrinks as the budget nears its limit, down to nothing, where every request is reserved
 * on its own and the last dollar is exact.
 */
export function leaseGrant(want: Nanos, available: bigint, otherHolders: number): Nanos {
  if (available <= 0n || want <= 0) return 0;
  const share = available / BigInt(otherHolders + 2);
  return Number(share < BigInt(want) ? share : BigInt(want));
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

/**
 * How long a settled or released reserved id, and a settled batch's id, is remembered, from the
 * moment it finished. Only stragglers of the same request or batch can still name it: the client
 * settles or releases a request once (never both, and it never reserves after either), so what may
 * follow is that call's single retry (about 1 s later, inside a waitUntil that lives at most 30 s)
 * or a call delayed in transit. The time a request runs (up to the reservation TTL, 15 min by
 * default) lies before its finish, so it does not count. An hour is a hundred times the straggler
 * window, and still holds every row of a scope reserving 1,000 requests/s to 3.6 M (a few hundred
 * MB): storage and pruning stay well inside a Durable Object's limits, where the former 2 days
 * meant 170 M rows. A scope without a budget keeps only its batch ids (one per settle call).
 */
export const FINISHED_MEMORY_MS = 60 * 60 * 1000;
/**
 * How long an id the alarm expired and charged at its worst case is remembered: the request may
 * still be running (a long stream whose isolate kept going) and settle late, replacing the charge;
 * that can come as long after expiry as the request lives. Such rows are rare (one per lost
 * reservation), so two days costs little.
 */
export const EXPIRED_MEMORY_MS = 2 * 24 * 60 * 60 * 1000;
/** Most finished ids one alarm run forgets: bounds its CPU time and its transaction (about 10 ms in workerd locally). */
export const PRUNE_BATCH_ROWS = 5_000;
/** A run that left due ids behind (it hit PRUNE_BATCH_ROWS) wakes again this soon, so a busy scope keeps up. */
export const PRUNE_AGAIN_MS = 1_000;
/** Otherwise forgetting waits at least this long, so that each run deletes many rows rather than a few. */
export const PRUNE_EVERY_MS = 5 * 60 * 1000;

/**
 * When the alarm should next forget finished ids and settled batch ids, given when the oldest of
 * each kind finished after a run: soon if due ones remain, else when the oldest falls due but not before PRUNE_EVERY_MS;
 * Infinity when none are left.
 */
export function nextPruneAt(
  now: number,
  oldest: { readonly ordinary: number | null; readonly expired: number | null; readonly batches: number | null },
): number {
  const due = Math.min(
    oldest.ordinary === null ? Infinity : oldest.ordinary + FINISHED_MEMORY_MS,
    oldest.expired === null ? Infinity : oldest.expired + EXPIRED_MEMORY_MS,
    oldest.batches === null ? Infinity : oldest.batches + FINISHED_MEMORY_MS,
  );
  if (due === Infinity) return Infinity;
  return due <= now ? now + PRUNE_AGAIN_MS : Math.max(due, now + PRUNE_EVERY_MS);
}

/** Amounts are integer nanos so that sums stay exact; anything else is a caller's bug. */
export function assertNanos(nanos: number, what: string): void {
  if (!Number.isSafeInteger(nanos) || nanos < 0) throw new RangeError(`${what} must be a non-negative integer number of nanos, got ${nanos}`);
}

/** A lease exchange as the ledger takes it: anything else is a caller's bug and throws. */
export function assertExchange(ex: LeaseExchange): void {
  if (typeof ex.holder !== "string" || ex.holder.length === 0 || ex.holder.length > MAX_HOLDER_ID) throw new TypeError(`holder must be a string of 1 to ${MAX_HOLDER_ID} characters`);
  assertBatchId(ex.batchId);
  assertNanos(ex.want, "want");
  assertNanos(ex.keep, "keep");
  if (!(ex.leaseTtlMs > 0) || !(ex.reservationTtlMs > 0)) throw new RangeError("leaseTtlMs and reservationTtlMs must be positive");
  for (const a of ex.announced) {
    assertNanos(a.nanos, "an announced request");
    if (typeof a.id !== "string" || a.id.length === 0 || a.id.length > MAX_RECORD_NAME) throw new TypeError("an announced request's id must be a non-empty string");
  }
}

/** A settle batch's id is the isolate's to make (a UUID): one that is empty, not a string or this long is a caller's bug. */
export function assertBatchId(batchId: unknown): asserts batchId is string {
  if (typeof batchId !== "string" || batchId.length === 0 || batchId.length > MAX_BATCH_ID) {
    throw new TypeError(`batchId must be a string of 1 to ${MAX_BATCH_ID} characters`);
  }
}

/** Longest request id or model name a record may carry (ours are far shorter: anything longer is garbage, not a name). */
export const MAX_RECORD_NAME = 512;
/** Longest end-user name a record may carry. */
export const MAX_RECORD_USER = 256;
/** The range `Date` accepts (±100,000,000 days around 1970): beyond it a record's day and month have no name. */
const MAX_DATE_MS = 8.64e15;

export type NormalisedRecord =
  | { readonly record: SpendRecord; readonly rejected?: undefined }
  | { readonly record?: undefined; readonly rejected: string };

const isName = (v: unknown, max: number): v is string => typeof v === "string" && v.length > 0 && v.length <= max;

/** A token count rounded to an integer and clamped to [0, MAX_SAFE_INTEGER]; null when it is not a number at all. */
function tokenCount(v: unknown): number | null {
  if (typeof v !== "number" || Number.isNaN(v)) return null;
  return Math.min(Math.max(Math.round(v), 0), Number.MAX_SAFE_INTEGER);
}

/**
 * A settled record made safe to book, or why it cannot be. Records come from providers' usage
 * reports (a fractional or absurd token count is theirs, not ours), so what can be normalised
 * without changing its meaning is: token counts are rounded and clamped, a fractional cost or
 * start time is rounded. A cost that is not a finite non-negative number, a start time that is
 * not a date, a missing or oversized id, model or user cannot be repaired: the record is rejected
 * (and only it: the other records of its batch are booked).
 */
export function normaliseRecord(input: unknown): NormalisedRecord {
  if (typeof input !== "object" || input === null) return { rejected: "not an object" };
  const r = input as Partial<Record<keyof SpendRecord, unknown>>;
  if (!isName(r.id, MAX_RECORD_NAME)) return { rejected: `id must be a string of 1 to ${MAX_RECORD_NAME} characters` };
  if (!isName(r.model, MAX_RECORD_NAME)) return { rejected: `model must be a string of 1 to ${MAX_RECORD_NAME} characters` };
  const user = r.user ?? null;
  if (user !== null && (typeof user !== "string" || user.length > MAX_RECORD_USER)) return { rejected: `user must be null or a string of at most ${MAX_RECORD_USER} characters` };
  if (typeof r.at !== "number" || !(Math.abs(r.at) <= MAX_DATE_MS)) return { rejected: "at must be epoch ms" };
  if (typeof r.nanos !== "number" || !(r.nanos >= 0)) return { rejected: "nanos must be a non-negative number" };
  const nanos = Math.round(r.nanos);
  if (!Number.isSafeInteger(nanos)) return { rejected: "nanos must be a safe integer" };
  const promptTokens = tokenCount(r.promptTokens);
  const completionTokens = tokenCount(r.completionTokens);
  if (promptTokens === null || completionTokens === null) return { rejected: "token counts must be numbers" };
  if (typeof r.estimated !== "boolean" || typeof r.unpriced !== "boolean") return { rejected: "estimated and unpriced must be booleans" };
  return {
    record: { id: r.id, at: Math.floor(r.at), model: r.model, user, nanos, promptTokens, completionTokens, estimated: r.estimated, unpriced: r.unpriced },
  };
}

/** A rejected record as a log line: numbers JSON cannot spell (NaN, Infinity) and bigints as text, long strings cut. */
export function rejectedRecordLog(scope: string | null, input: unknown, reason: string): string {
  return JSON.stringify({ msg: "spend_record_rejected", scope, reason, record: input }, (_key, v: unknown) => {
    if (typeof v === "bigint" || (typeof v === "number" && !Number.isFinite(v))) return String(v);
    if (typeof v === "string" && v.length > MAX_RECORD_NAME) return `${v.slice(0, MAX_RECORD_NAME)}… (${v.length} characters)`;
    return v;
  });
}
