/**
 * The SpendLedger's SQLite schema and its counter statements. Counters are
 * kept per period key (day, month, total: src/durable/spend-ledger-rules.ts),
 * model and end user, so one table answers the budget check (sum of a period),
 * the admin totals and the usage report grouped either way.
 */
import type { UsageGroupBy, UsageRow } from "../budgets/ledger-types.ts";
import type { Nanos } from "../metering/types.ts";
import { periodKeysOf } from "./spend-ledger-rules.ts";

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
-- Ids already settled, released or expired, so that doing it twice changes nothing (for as long as
-- spend-ledger-rules.ts says). expired_nanos is set while the charge is the alarm's worst case, which a
-- late settle replaces. One index per kind of row, each in the order they are forgotten in.
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

/** What one request adds to (or, negated, takes back from) the counters. */
export interface UsageDelta {
  readonly nanos: Nanos;
  readonly requests: number;
  readonly promptTokens: number;
  readonly completionTokens: number;
  readonly estimated: number;
  readonly unpriced: number;
}

export const negate = (d: UsageDelta): UsageDelta => ({
  nanos: -d.nanos,
  requests: -d.requests,
  promptTokens: -d.promptTokens,
  completionTokens: -d.completionTokens,
  estimated: -d.estimated,
  unpriced: -d.unpriced,
});

/** The charge of a reservation that expired unsettled: its worst case, one estimated request, tokens unknown. */
export const expiryCharge = (nanos: Nanos): UsageDelta => ({ nanos, requests: 1, promptTokens: 0, completionTokens: 0, estimated: 1, unpriced: 0 });

/** Adds `d` to the day, month and total counters of `at` for this model and user: one statement. */
export function addUsage(sql: SqlStorage, at: number, model: string, user: string, d: UsageDelta): readonly string[] {
  const keys = periodKeysOf(at);
  const values = [d.nanos, d.requests, d.promptTokens, d.completionTokens, d.estimated, d.unpriced];
  sql.exec(
    `INSERT INTO usage (period, model, end_user, nanos, requests, prompt_tokens, completion_tokens, estimated, unpriced)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?), (?, ?, ?, ?, ?, ?, ?, ?, ?), (?, ?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (period, model, end_user) DO UPDATE SET
       nanos = nanos + excluded.nanos, requests = requests + excluded.requests,
       prompt_tokens = prompt_tokens + excluded.prompt_tokens, completion_tokens = completion_tokens + excluded.completion_tokens,
       estimated = estimated + excluded.estimated, unpriced = unpriced + excluded.unpriced`,
    ...keys.flatMap((key) => [key, model, user, ...values]),
  );
  return keys;
}

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

/** When the oldest finished id of each kind finished (null: none of that kind). Each is one step down its index. */
export interface OldestFinished {
  readonly ordinary: number | null;
  readonly expired: number | null;
}

export function oldestFinished(sql: SqlStorage): OldestFinished {
  return sql
    .exec<{ ordinary: number | null; expired: number | null }>(
      `SELECT (SELECT finished_at FROM finished WHERE expired_nanos IS NULL ORDER BY finished_at LIMIT 1) AS ordinary,
              (SELECT finished_at FROM finished WHERE expired_nanos IS NOT NULL ORDER BY finished_at LIMIT 1) AS expired`,
    )
    .one();
}

/**
 * Forgets at most `limit` finished ids, oldest first: ordinary ones finished at or before
 * `ordinaryCutoff`, expiry-charged ones at or before `expiredCutoff`. Each statement walks its own
 * index from its start, so the work is proportional to what is deleted. Returns how many were.
 */
export function forgetFinished(sql: SqlStorage, ordinaryCutoff: number, expiredCutoff: number, limit: number): number {
  let left = limit;
  for (const [kind, cutoff] of [["IS NULL", ordinaryCutoff], ["IS NOT NULL", expiredCutoff]] as const) {
    if (left <= 0) break;
    sql.exec(
      `DELETE FROM finished WHERE rowid IN
         (SELECT rowid FROM finished WHERE expired_nanos ${kind} AND finished_at <= ? ORDER BY finished_at LIMIT ?)`,
      cutoff, left,
    );
    left -= sql.exec<{ n: number }>("SELECT changes() AS n").one().n;
  }
  return limit - left;
}
