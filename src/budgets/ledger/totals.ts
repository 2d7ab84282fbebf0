/**
 * What one SpendLedger transaction adds to the usage counters, summed in memory
 * and written as one upsert row per (period key, model, end user) it touches.
 * Every record used to cost its own three-row upsert; a batch of a hot scope
 * (its key, `global`) is mostly the same model and user, so summing first turns
 * a 50-record batch into one statement of three rows.
 */
import type { Nanos } from "../../metering/types.ts";
import { periodKeysOf } from "./rules.ts";

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

const DAY_MS = 86_400_000;

/**
 * Distinct (model, end user) rows one period keeps by name (issue 12: both are
 * client-chosen strings, and every row used to live forever). Past this, a
 * new end user is counted as OTHERS under its model; past twice this, as OTHERS
 * under OTHERS. The period's sums stay exact (budgets read only those): only
 * the names of the long tail are lost, and the request log keeps them.
 */
export const ROWS_PER_PERIOD = 1_000;
export const OTHERS = "(others)";
/** Day rows are kept this many days, month rows this many months (the `total` rows always: they are the budget's). */
export const DAY_ROWS_KEPT_DAYS = 100;
export const MONTH_ROWS_KEPT_MONTHS = 25;
/** Rows per upsert statement: 9 values each, inside a Durable Object's 100 bound parameters per statement. */
const ROWS_PER_STATEMENT = 11;

/** One counter row being summed: `period` is a day index (epoch days) while summing by day, a period key once expanded. */
interface Sum<P> {
  readonly period: P;
  readonly model: string;
  readonly user: string;
  nanos: number;
  requests: number;
  promptTokens: number;
  completionTokens: number;
  estimated: number;
  unpriced: number;
}

const sumOf = <P>(period: P, model: string, user: string, d: UsageDelta): Sum<P> => ({
  period, model, user,
  nanos: d.nanos, requests: d.requests, promptTokens: d.promptTokens, completionTokens: d.completionTokens, estimated: d.estimated, unpriced: d.unpriced,
});

/**
 * Adds `d` into `s` when every sum stays a safe integer (so stays exact); false, leaving `s` as it
 * was, when one would not. Only absurd amounts get there (a record may carry up to 2^53 - 1 nanos
 * or tokens): their rows are then written separately and SQLite adds them in 64-bit integers, as
 * it did when each record was its own statement.
 */
function merge(s: Sum<unknown>, d: UsageDelta): boolean {
  const next = [s.nanos + d.nanos, s.requests + d.requests, s.promptTokens + d.promptTokens, s.completionTokens + d.completionTokens, s.estimated + d.estimated, s.unpriced + d.unpriced];
  if (!next.every(Number.isSafeInteger)) return false;
  [s.nanos, s.requests, s.promptTokens, s.completionTokens, s.estimated, s.unpriced] = next as [number, number, number, number, number, number];
  return true;
}

/** A row's identity as one string: the length prefix keeps a model ending like a user's start from colliding with another pair. */
const rowKey = (period: string | number, model: string, user: string): string => `${period} ${model.length} ${model}${user}`;

const UPSERT_END = `
  ON CONFLICT (period, model, end_user) DO UPDATE SET
    nanos = nanos + excluded.nanos, requests = requests + excluded.requests,
    prompt_tokens = prompt_tokens + excluded.prompt_tokens, completion_tokens = completion_tokens + excluded.completion_tokens,
    estimated = estimated + excluded.estimated, unpriced = unpriced + excluded.unpriced`;
const upsertStatement = (rows: number): string =>
  `INSERT INTO usage (period, model, end_user, nanos, requests, prompt_tokens, completion_tokens, estimated, unpriced)
   VALUES ${Array.from({ length: rows }, () => "(?, ?, ?, ?, ?, ?, ?, ?, ?)").join(", ")}${UPSERT_END}`;

/**
 * Deltas summed by UTC day, model and user (one map lookup per record), then written to the day,
 * month and total counters they belong to. Records of several days (a batch crossing midnight, a
 * late settle) sum into their own day rows and share their month and total rows.
 */
export class UsageTotals {
  readonly #byDay = new Map<string, Sum<number>>();
  /** Deltas that would have made a sum inexact: written row by row. */
  readonly #apart: Sum<number>[] = [];

  /** Adds what a request started at `at` (epoch ms) by `model` for `user` ("" for none) changes. */
  add(at: number, model: string, user: string, d: UsageDelta): void {
    const day = Math.floor(at / DAY_MS);
    const key = rowKey(day, model, user);
    const sum = this.#byDay.get(key);
    if (sum === undefined) this.#byDay.set(key, sumOf(day, model, user, d));
    else if (!merge(sum, d)) this.#apart.push(sumOf(day, model, user, d));
  }

  /** Writes the sums to the counters (inside the caller's transaction); returns the nanos added per period key. */
  write(sql: SqlStorage): Map<string, Nanos> {
    const rows = new Map<string, Sum<string>>();
    const apart: Sum<string>[] = [];
    for (const day of [...this.#byDay.values(), ...this.#apart]) {
      for (const period of periodKeysOf(day.period * DAY_MS)) {
        const key = rowKey(period, day.model, day.user);
        const row = rows.get(key);
        if (row === undefined) rows.set(key, sumOf(period, day.model, day.user, day));
        else if (!merge(row, day)) apart.push(sumOf(period, day.model, day.user, day));
      }
    }
    // A key may come twice (an apart row, a folded one): SQLite applies a multi-row upsert row by row, so the second adds to the first.
    const all = boundedRows(sql, [...rows.values(), ...apart]);
    const spent = new Map<string, Nanos>();
    for (const r of all) spent.set(r.period, (spent.get(r.period) ?? 0) + r.nanos);
    for (let i = 0; i < all.length; i += ROWS_PER_STATEMENT) {
      const chunk = all.slice(i, i + ROWS_PER_STATEMENT);
      sql.exec(
        upsertStatement(chunk.length),
        ...chunk.flatMap((r) => [r.period, r.model, r.user, r.nanos, r.requests, r.promptTokens, r.completionTokens, r.estimated, r.unpriced]),
      );
    }
    return spent;
  }
}

const rowExists = (sql: SqlStorage, r: Sum<string>): boolean =>
  sql.exec("SELECT 1 FROM usage WHERE period = ? AND model = ? AND end_user = ?", r.period, r.model, r.user).toArray().length > 0;

/**
 * The rows to write, each new one checked against ROWS_PER_PERIOD (and folded
 * into OTHERS past it). Rows that exist, the common case, cost one look-up
 * each; a period's rows are counted only when one of its rows is new. The
 * first row of a new day also forgets the day and month rows past their keeping.
 */
function boundedRows(sql: SqlStorage, rows: Array<Sum<string>>): Array<Sum<string>> {
  const counts = new Map<string, number>();
  return rows.map((r) => {
    if (rowExists(sql, r)) return r;
    let count = counts.get(r.period);
    if (count === undefined) {
      count = sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM usage WHERE period = ?", r.period).one().n;
      if (count === 0 && r.period.length === 10) forgetOldPeriods(sql, Date.parse(`${r.period}T00:00:00Z`));
    }
    const folded = count < ROWS_PER_PERIOD ? r : { ...r, user: OTHERS, model: count < 2 * ROWS_PER_PERIOD ? r.model : OTHERS };
    if (folded === r || !rowExists(sql, folded)) count++;
    counts.set(r.period, count);
    return folded;
  });
}

/** Deletes day rows older than DAY_ROWS_KEPT_DAYS and month rows older than MONTH_ROWS_KEPT_MONTHS before `day`. */
function forgetOldPeriods(sql: SqlStorage, day: number): void {
  if (!Number.isFinite(day)) return;
  const dayCutoff = new Date(day - DAY_ROWS_KEPT_DAYS * DAY_MS).toISOString().slice(0, 10);
  const at = new Date(day);
  const monthCutoff = new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth() - MONTH_ROWS_KEPT_MONTHS, 1)).toISOString().slice(0, 7);
  sql.exec("DELETE FROM usage WHERE length(period) = 10 AND period < ?", dayCutoff);
  sql.exec("DELETE FROM usage WHERE length(period) = 7 AND period < ?", monthCutoff);
}
