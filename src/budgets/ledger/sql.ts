/**
 * The SpendLedger's SQLite schema and its counter statements. Counters are
 * kept per period key (day, month, total: src/budgets/ledger/rules.ts),
 * model and end user, so one table answers the budget check (sum of a period),
 * the admin totals and the usage report grouped either way. They are written by
 * UsageTotals (totals.ts), summed per transaction.
 */
import type { PeriodSpend, UsageGroupBy, UsageQuery, UsageReport, UsageRow } from "../ledger-types.ts";
import { periodWindow, type PeriodWindow } from "./rules.ts";
import type { Nanos } from "../../metering/types.ts";

export const SCHEMA = `
CREATE TABLE IF NOT EXISTS ledger_meta (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
-- Requests in flight: their worst-case cost, until settled, released or expired.
CREATE TABLE IF NOT EXISTS reservations (
  id TEXT PRIMARY KEY,
  nanos INTEGER NOT NULL,
  model TEXT NOT NULL,
  end_user TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
);
-- Reserved ids already settled, released or expired, so that doing it twice changes nothing (for as
-- long as rules.ts says). expired_nanos is set while the charge is the alarm's worst case,
-- which a late settle replaces. One index per kind of row, each in the order they are forgotten in.
-- A record settled without a reservation ("plain") gets no row here: settled_batches makes its batch
-- idempotent instead.
CREATE TABLE IF NOT EXISTS finished (
  id TEXT PRIMARY KEY,
  finished_at INTEGER NOT NULL,
  at INTEGER NOT NULL,
  model TEXT NOT NULL,
  end_user TEXT NOT NULL,
  expired_nanos INTEGER
);
DROP INDEX IF EXISTS finished_by_time;
CREATE INDEX IF NOT EXISTS finished_ordinary ON finished (finished_at) WHERE expired_nanos IS NULL;
CREATE INDEX IF NOT EXISTS finished_expired ON finished (finished_at) WHERE expired_nanos IS NOT NULL;
-- Settle batches already booked, by the id the isolate gives each batch (and reuses when it retries
-- it), so that a retried batch changes nothing. Remembered as long as finished ids (FINISHED_MEMORY_MS).
-- A table of its own rather than prefixed ids in finished: finished then holds reserved ids only,
-- so a scope without a budget has none, and settle needs no look-up to know a plain record is new.
CREATE TABLE IF NOT EXISTS settled_batches (
  id TEXT PRIMARY KEY,
  settled_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS settled_batches_by_time ON settled_batches (settled_at);
-- Settled spend per period key ('2026-11-24', '2026-11', 'total'), model and end user ('' for none).
CREATE TABLE IF NOT EXISTS usage (
  period TEXT NOT NULL,
  model TEXT NOT NULL,
  end_user TEXT NOT NULL,
  nanos INTEGER NOT NULL,
  requests INTEGER NOT NULL,
  prompt_tokens INTEGER NOT NULL,
  completion_tokens INTEGER NOT NULL,
  estimated INTEGER NOT NULL,
  unpriced INTEGER NOT NULL,
  PRIMARY KEY (period, model, end_user)
) WITHOUT ROWID;
-- Alerts delivered, per budget period key and level (percent and the spend it meant).
CREATE TABLE IF NOT EXISTS alerts_sent (
  period TEXT NOT NULL,
  percent INTEGER NOT NULL,
  at_nanos INTEGER NOT NULL,
  sent_at INTEGER NOT NULL,
  PRIMARY KEY (period, percent, at_nanos)
) WITHOUT ROWID;
`;

export function spentIn(sql: SqlStorage, key: string): Nanos {
  return sql.exec<{ n: number }>("SELECT COALESCE(SUM(nanos), 0) AS n FROM usage WHERE period = ?", key).one().n;
}

export interface PeriodCounts {
  readonly spentNanos: Nanos;
  readonly requests: number;
  readonly estimatedRequests: number;
  readonly unpricedRequests: number;
}

export function countsIn(sql: SqlStorage, key: string): PeriodCounts {
  return sql
    .exec<{ spentNanos: number; requests: number; estimatedRequests: number; unpricedRequests: number }>(
      `SELECT COALESCE(SUM(nanos), 0) AS spentNanos, COALESCE(SUM(requests), 0) AS requests,
              COALESCE(SUM(estimated), 0) AS estimatedRequests, COALESCE(SUM(unpriced), 0) AS unpricedRequests
       FROM usage WHERE period = ?`,
      key,
    )
    .one();
}

/** A period's counters grouped by model or by user, most expensive first. */
export function usageRows(sql: SqlStorage, key: string, groupBy: UsageGroupBy): UsageRow[] {
  const column = groupBy === "model" ? "model" : "end_user";
  return sql
    .exec<{ key: string; costNanos: number; requests: number; promptTokens: number; completionTokens: number; estimatedRequests: number; unpricedRequests: number }>(
      `SELECT ${column} AS key, SUM(nanos) AS costNanos, SUM(requests) AS requests, SUM(prompt_tokens) AS promptTokens,
              SUM(completion_tokens) AS completionTokens, SUM(estimated) AS estimatedRequests, SUM(unpriced) AS unpricedRequests
       FROM usage WHERE period = ? GROUP BY ${column}
       HAVING SUM(requests) != 0 OR SUM(nanos) != 0
       ORDER BY costNanos DESC, key`,
      key,
    )
    .toArray();
}

/** Records a settle batch's id; false when it was booked before (its retry: nothing is to be done). */
export function rememberBatch(sql: SqlStorage, id: string, now: number): boolean {
  return sql.exec("INSERT INTO settled_batches (id, settled_at) VALUES (?, ?) ON CONFLICT (id) DO NOTHING RETURNING 1", id, now).toArray().length > 0;
}

/** Which of `ids` are finished: one statement for a whole batch (json_each binds the list as one value). */
export function finishedAmong(sql: SqlStorage, ids: readonly string[]): Set<string> {
  const rows = sql.exec<{ id: string }>("SELECT id FROM finished WHERE id IN (SELECT value FROM json_each(?))", JSON.stringify(ids));
  return new Set([...rows].map((r) => r.id));
}

/** The ids the alarm charged at their worst case and no settle or release has corrected yet. */
export function expiryChargedIds(sql: SqlStorage): string[] {
  return sql.exec<{ id: string }>("SELECT id FROM finished WHERE expired_nanos IS NOT NULL").toArray().map((r) => r.id);
}

/** When the oldest remembered row of each kind finished (null: none of that kind). Each is one step down its index. */
export interface OldestFinished {
  readonly ordinary: number | null;
  readonly expired: number | null;
  readonly batches: number | null;
}

export function oldestFinished(sql: SqlStorage): OldestFinished {
  return sql
    .exec<{ ordinary: number | null; expired: number | null; batches: number | null }>(
      `SELECT (SELECT finished_at FROM finished WHERE expired_nanos IS NULL ORDER BY finished_at LIMIT 1) AS ordinary,
              (SELECT finished_at FROM finished WHERE expired_nanos IS NOT NULL ORDER BY finished_at LIMIT 1) AS expired,
              (SELECT settled_at FROM settled_batches ORDER BY settled_at LIMIT 1) AS batches`,
    )
    .one();
}

/** Moments at or before which each kind of remembered row is forgotten. */
export interface ForgetCutoffs {
  readonly ordinary: number;
  readonly expired: number;
  readonly batches: number;
}

/** What one pruning run forgot: how many rows, and which expiry-charged ids (the ledger keeps those in memory). */
export interface Forgotten {
  readonly rows: number;
  readonly expiredIds: readonly string[];
}

/**
 * Forgets at most `limit` remembered rows, oldest first: ordinary finished ids, expiry-charged ones
 * and settled batch ids, each up to its cutoff. Each statement walks its own index from its start,
 * so the work is proportional to what is deleted.
 */
export function forgetFinished(sql: SqlStorage, cutoffs: ForgetCutoffs, limit: number): Forgotten {
  let left = limit;
  sql.exec(
    `DELETE FROM finished WHERE rowid IN
       (SELECT rowid FROM finished WHERE expired_nanos IS NULL AND finished_at <= ? ORDER BY finished_at LIMIT ?)`,
    cutoffs.ordinary, left,
  );
  left -= changedRows(sql);
  const expiredIds = left <= 0 ? [] : sql
    .exec<{ id: string }>(
      `DELETE FROM finished WHERE rowid IN
         (SELECT rowid FROM finished WHERE expired_nanos IS NOT NULL AND finished_at <= ? ORDER BY finished_at LIMIT ?)
       RETURNING id`,
      cutoffs.expired, left,
    )
    .toArray()
    .map((r) => r.id);
  left -= expiredIds.length;
  if (left > 0) {
    sql.exec(
      "DELETE FROM settled_batches WHERE rowid IN (SELECT rowid FROM settled_batches WHERE settled_at <= ? ORDER BY settled_at LIMIT ?)",
      cutoffs.batches, left,
    );
    left -= changedRows(sql);
  }
  return { rows: limit - left, expiredIds };
}

const changedRows = (sql: SqlStorage): number => sql.exec<{ n: number }>("SELECT changes() AS n").one().n;

/** Settled spend of the day, month and total `now` falls in. */
export function periodTotals(sql: SqlStorage, scope: string, now: number): { scope: string; day: PeriodSpend; month: PeriodSpend; total: PeriodSpend } {
  const spend = (window: PeriodWindow): PeriodSpend => ({ ...countsIn(sql, window.key), periodStart: window.periodStart });
  return { scope, day: spend(periodWindow("day", now)), month: spend(periodWindow("month", now)), total: spend(periodWindow("total", now)) };
}

/** A day's or month's spend grouped by model or by end user, most expensive first. */
export function usageReport(sql: SqlStorage, scope: string, query: UsageQuery): UsageReport {
  const window = periodWindow(query.period, query.at ?? Date.now());
  return { scope, period: query.period, periodStart: new Date(window.startMs).toISOString(), rows: usageRows(sql, window.key, query.groupBy) };
}
