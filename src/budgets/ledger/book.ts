/**
 * A SpendLedger's book (the Durable Object in src/durable/spend-ledger.ts is
 * its host): one budget scope's budget (pushed by the admin API, so a change
 * applies to the very next request), the reservations of requests in flight
 * (reservations.ts), the leases isolates hold (leases.ts, issue 16) and the
 * settled spend per day, month and total, by model and end user. Rules live in
 * rules.ts, the schema and its statements in sql.ts, the summing of counters in
 * totals.ts, the records of one transaction in state.ts.
 *
 * Everything is in SQLite; memory holds only exact copies kept in step by the
 * code that writes them (the budget, the reservations, the leases, the current
 * period's spend and sent alerts), so the hot `reserve` needs one write
 * statement and no read. Every write path is synchronous up to its first
 * await, which makes check-and-reserve atomic however many calls arrive at once.
 */
import {
  budgetSchema,
  type Budget,
  type BudgetStatus,
  type LeaseAnswer,
  type LeaseExchange,
  type LedgerTotals,
  type ReserveAnswer,
  type ReserveRequest,
  type SpendRecord,
  type UsageQuery,
  type UsageReport,
} from "../ledger-types.ts";
import { usdToNanos, type Nanos } from "../../metering/types.ts";
import {
  alertKey,
  alertThresholds,
  assertBatchId,
  assertExchange,
  assertNanos,
  budgetStatus,
  contains,
  EXPIRED_MEMORY_MS,
  FINISHED_MEMORY_MS,
  fitsLimit,
  leaseGrant,
  nextPruneAt,
  normaliseRecord,
  periodWindow,
  PRUNE_BATCH_ROWS,
  rejectedRecordLog,
  reportedNanos,
} from "./rules.ts";
import { SCHEMA, finishedAmong, forgetFinished, periodTotals, rememberBatch, spentIn, usageReport } from "./sql.ts";
import { UsageTotals } from "./totals.ts";
import { BudgetAlerts } from "./alerts.ts";
import { Changes, recordDelta, type CurrentPeriod } from "./state.ts";
import { LEASES_SCHEMA, LeaseBook } from "./leases.ts";
import { ReservationBook } from "./reservations.ts";

/** What the book needs of the Durable Object that hosts it. */
export interface LedgerHost {
  readonly sql: SqlStorage;
  transactionSync<T>(fn: () => T): T;
  waitUntil(promise: Promise<unknown>): void;
  /** Makes sure the alarm runs at `at` or sooner (Infinity: nothing asked). */
  alarmBy(at: number): Promise<void>;
  /** Sets the alarm at `at` when none is set (remembered rows only need one to be forgotten some time). */
  alarmIfNone(at: number): Promise<void>;
}

export class LedgerBook {
  readonly #host: LedgerHost;
  #scope: string | null = null;
  #budget: Budget | null = null;
  #limitNanos: Nanos = 0;
  readonly #reservations = new ReservationBook();
  readonly #leases = new LeaseBook();
  #current: CurrentPeriod | null = null;
  readonly #alerts = new BudgetAlerts();
  /** Calls answered since the object started (memory only: for GET /admin/budgets/:scope and the benchmark). */
  readonly #calls = { reserve: 0, settle: 0, exchange: 0, release: 0 };

  /** Opens the book on its storage (inside the host's blockConcurrencyWhile). */
  constructor(host: LedgerHost) {
    this.#host = host;
    const sql = host.sql;
    sql.exec(SCHEMA);
    sql.exec(LEASES_SCHEMA);
    for (const { key, value } of sql.exec<{ key: string; value: string }>("SELECT key, value FROM ledger_meta")) {
      if (key === "scope") this.#scope = value;
      if (key === "budget") this.#useBudget(budgetSchema.parse(JSON.parse(value)));
    }
    this.#reservations.load(sql);
    this.#leases.load(sql);
  }

  /** Sets (or, with null, removes) the scope's budget; returns its status. Applies from the next reservation on. */
  async setBudget(scope: string, budget: Budget | null): Promise<BudgetStatus | null> {
    this.#useScope(scope, true);
    const next = budget === null ? null : budgetSchema.parse(budget);
    const now = Date.now();
    const sql = this.#host.sql;
    const changes = new Changes();
    this.#host.transactionSync(() => {
      // Only a hard budget is leased: a lease of a budget that is gone or soft is of nothing (its holders learn so at their next exchange).
      if (next === null || next.mode === "soft") changes.leases.push(...this.#leases.clear(sql));
      if (next === null) {
        sql.exec("DELETE FROM ledger_meta WHERE key = 'budget'");
        sql.exec("DELETE FROM alerts_sent");
        return;
      }
      sql.exec("INSERT OR REPLACE INTO ledger_meta (key, value) VALUES ('budget', ?)", JSON.stringify(next));
      // A delivered alert stays delivered only while its period and level (percent and the spend it
      // stands for) are unchanged: after a raised limit, 80 % means a new amount and is worth a new alert.
      const levels = alertThresholds(next);
      sql.exec(
        `DELETE FROM alerts_sent WHERE NOT (period = ? AND (${levels.map(() => "(percent = ? AND at_nanos = ?)").join(" OR ")}))`,
        periodWindow(next.period, now).key,
        ...levels.flatMap((t) => [t.percent, t.atNanos]),
      );
    });
    this.#apply(changes);
    this.#useBudget(next);
    this.#sendDueAlerts(now);
    return this.#statusAt(now);
  }

  /**
   * Reserves a request's worst case. Without a budget nothing is reserved (status null). A hard
   * budget admits only what fits beside the period's spend and every live reservation; a soft one
   * admits everything. Reserving a live id again replaces its amount; an id already settled,
   * released or expired is not reserved again.
   */
  async reserve(scope: string, req: ReserveRequest): Promise<ReserveAnswer> {
    this.#calls.reserve++;
    this.#useScope(scope, true);
    assertNanos(req.nanos, "reservation");
    if (!(req.ttlMs > 0)) throw new RangeError(`ttlMs must be positive, got ${req.ttlMs}`);
    const budget = this.#budget;
    if (budget === null) return { admitted: true, status: null };
    const now = Date.now();
    const current = this.#currentAt(now, budget);
    const others = this.#reservations.total - BigInt(this.#reservations.get(req.id)?.nanos ?? 0);
    if (budget.mode === "hard" && !fitsLimit(this.#limitNanos, current.spentNanos, others + this.#leases.total, req.nanos)) {
      return { admitted: false, status: budgetStatus(this.#scopeName(), budget, current.window, current.spentNanos, this.#reservations.total, this.#leases.total) };
    }
    const expiresAt = now + req.ttlMs;
    const stored = this.#reservations.insert(this.#host.sql, req.id, req.nanos, req.model, req.user ?? "", now, expiresAt);
    if (stored !== null) {
      this.#reservations.commit(req.id, stored);
      await this.#host.alarmBy(expiresAt);
    }
    return { admitted: true, status: this.#statusAt(now) };
  }

  /**
   * Books actual spend, in one transaction. `batchId` names this batch of records (the isolate makes
   * one per batch and reuses it when it retries): a batch booked before changes nothing, and the
   * call answers the status. A record whose id holds a live reservation, or an expiry charge, is
   * settled id by id: it ends the reservation (or takes the charge back) and books its cost, and an
   * id settled before changes nothing. Every other record is "plain" (all of them on a scope without
   * a budget): it is counted with no row of its own, its batch id being its idempotency, so the same
   * record in a NEW batch counts again; the isolate never sends one twice but in its batch's retry.
   * Costs count on the day, month and total of `record.at`, summed in memory and written once per
   * period, model and user. A record that cannot be booked even normalised (normaliseRecord) is
   * logged and skipped, and the others are booked.
   */
  async settle(scope: string, records: readonly SpendRecord[], batchId: string): Promise<BudgetStatus | null> {
    this.#calls.settle++;
    this.#useScope(scope, true);
    assertBatchId(batchId);
    const now = Date.now();
    const booked = this.#book(records, batchId, now, []);
    this.#sendDueAlerts(now);
    // Remembered rows keep an alarm set, to be forgotten in time.
    if (booked) await this.#host.alarmIfNone(now + FINISHED_MEMORY_MS);
    return this.#statusAt(now);
  }

  /**
   * One exchange with a lease holder (issue 16; LeaseExchange), in one transaction: its finished
   * requests are booked as a settle batch is; the requests it admitted on its lease that are still
   * in flight become reservations of their own; and its lease is set to what it asks for, within its
   * share of what the budget has left (leaseGrant), which keeps `spent + reserved + leased ≤ limit`.
   * A lowered limit shrinks the lease at the holder's next exchange, down to nothing. Without a hard
   * budget there is no lease: the records are booked and the answer says so. A retried exchange
   * (its batch booked before) changes nothing and answers the lease as it stands.
   */
  async exchange(scope: string, ex: LeaseExchange): Promise<LeaseAnswer> {
    this.#calls.exchange++;
    this.#useScope(scope, true);
    assertExchange(ex);
    const now = Date.now();
    const budget = this.#budget;
    const leased = budget !== null && budget.mode === "hard";
    const current = budget === null ? null : this.#currentAt(now, budget);
    const finishing = new Set(ex.records.map((r) => r.id));
    const booked = this.#book(ex.records, ex.batchId, now, ex.released, (sql, changes) => {
      if (!leased || current === null) return;
      for (const a of ex.announced) {
        if (finishing.has(a.id)) continue; // booked with its record: it needs no reservation
        const stored = this.#reservations.insert(this.#host.sql, a.id, a.nanos, a.model, a.user ?? "", now, now + ex.reservationTtlMs);
        if (stored !== null) changes.reserved.push([a.id, stored]);
      }
      const reserved = this.#reservations.totalAfter(changes);
      const own = this.#leases.nanosOf(ex.holder);
      const spent = BigInt(current.spentNanos) + BigInt(changes.spent.get(current.window.key) ?? 0);
      const available = BigInt(this.#limitNanos) - spent - reserved - (this.#leases.total - BigInt(own));
      // What the holder may admit while this call is out is backed by what is left of its lease (its already).
      const announced = ex.announced.reduce((sum, a) => sum + a.nanos, 0);
      const kept = Math.min(ex.keep, Math.max(0, own - announced));
      const grant = Math.max(kept, leaseGrant(ex.want, available, this.#leases.holders - (own > 0 ? 1 : 0)));
      changes.leases.push(this.#leases.write(sql, ex.holder, grant, now + ex.leaseTtlMs));
    });
    this.#sendDueAlerts(now);
    // The new lease's and reservations' expiries (earlier ones have their alarm already).
    if (leased) await this.#host.alarmBy(Math.min(now + ex.leaseTtlMs, ex.announced.length > 0 ? now + ex.reservationTtlMs : Infinity));
    if (booked) await this.#host.alarmIfNone(now + FINISHED_MEMORY_MS);
    return { lease: leased ? this.#leases.nanosOf(ex.holder) : 0, status: this.#statusAt(now) };
  }

  /**
   * Books a batch of records in one transaction (settle's rules); `more` runs in the same
   * transaction once they are counted. False when the batch was booked before (nothing changes).
   */
  #book(records: readonly SpendRecord[], batchId: string, now: number, released: readonly string[], more?: (sql: SqlStorage, changes: Changes) => void): boolean {
    // Which path a record takes is two look-ups in memory copies, so the hot case reads nothing.
    const byId: SpendRecord[] = [];
    const plain: SpendRecord[] = [];
    for (const input of records) {
      const checked = normaliseRecord(input);
      if (checked.rejected !== undefined) console.error(rejectedRecordLog(this.#scope, input, checked.rejected));
      else if (this.#reservations.settlesById(checked.record.id)) byId.push(checked.record);
      else plain.push(checked.record);
    }
    const changes = new Changes();
    const totals = new UsageTotals();
    const sql = this.#host.sql;
    let booked = false;
    this.#host.transactionSync(() => {
      if (!rememberBatch(sql, batchId, now)) return;
      booked = true;
      for (const r of byId) {
        if (this.#reservations.finish(sql, r.id, r.at, r.model, r.user ?? "", now, changes, totals)) totals.add(r.at, r.model, r.user ?? "", recordDelta(r));
      }
      // A plain-looking id may still be finished: settled or released after its reservation (a late
      // duplicate). Only a scope that reserves has such rows, and one statement checks the batch.
      const done = this.#reservations.anyFinished && plain.length > 0 ? finishedAmong(sql, plain.map((r) => r.id)) : null;
      for (const r of plain) {
        if (done === null || !done.has(r.id)) totals.add(r.at, r.model, r.user ?? "", recordDelta(r));
      }
      this.#releaseIn(sql, released, now, changes, totals);
      changes.spent = totals.write(sql);
      more?.(sql, changes);
    });
    this.#apply(changes);
    return booked;
  }

  /** Drops the reservations of requests that failed (no provider charged them); records no spend. Idempotent. */
  async release(scope: string, ids: readonly string[]): Promise<void> {
    this.#calls.release++;
    this.#useScope(scope, true);
    const now = Date.now();
    const changes = new Changes();
    const totals = new UsageTotals();
    const sql = this.#host.sql;
    this.#host.transactionSync(() => {
      this.#releaseIn(sql, ids, now, changes, totals);
      changes.spent = totals.write(sql);
    });
    this.#apply(changes);
    if (ids.length > 0) await this.#host.alarmIfNone(now + FINISHED_MEMORY_MS);
  }

  /** Ends the reservations of `ids` inside a transaction, booking nothing (an expiry charge is taken back). */
  #releaseIn(sql: SqlStorage, ids: readonly string[], now: number, changes: Changes, totals: UsageTotals): void {
    for (const id of ids) {
      const r = this.#reservations.get(id);
      this.#reservations.finish(sql, id, now, r?.model ?? "", r?.user ?? "", now, changes, totals);
    }
  }

  /** The budget's status now; null without a budget. */
  async status(scope: string): Promise<BudgetStatus | null> {
    this.#useScope(scope, false);
    const status = this.#statusAt(Date.now());
    return status === null ? null : { ...status, calls: { ...this.#calls } };
  }

  /** Settled spend of the current day, month and total, with or without a budget, and the budget's status. */
  async totals(scope: string): Promise<LedgerTotals> {
    this.#useScope(scope, false);
    const now = Date.now();
    return { ...periodTotals(this.#host.sql, scope, now), reservedNanos: reportedNanos(this.#reservations.total), status: this.#statusAt(now) };
  }

  /** A day's or month's spend grouped by model or by end user, most expensive first. */
  async usage(scope: string, query: UsageQuery): Promise<UsageReport> {
    this.#useScope(scope, false);
    return usageReport(this.#host.sql, scope, query);
  }

  /**
   * Charges reservations past their expiry at their worst case, as estimated requests: the isolate
   * that made them is gone and the provider may have billed the request. Then forgets at most
   * PRUNE_BATCH_ROWS finished ids and settled batch ids past their memory (FINISHED_MEMORY_MS, or
   * EXPIRED_MEMORY_MS for expiry-charged ids), and sets the alarm for whichever comes first: the next
   * expiry or the next prune (soon if this run left due rows behind). Remembered rows always keep an
   * alarm set: settle and release set one when there is none, and this run sets the next while any
   * remain.
   */
  async alarm(): Promise<void> {
    const now = Date.now();
    const sql = this.#host.sql;
    const changes = new Changes();
    const totals = new UsageTotals();
    let expired = 0;
    this.#host.transactionSync(() => {
      expired = this.#reservations.expire(sql, now, changes, totals);
      changes.spent = totals.write(sql);
      // An unrenewed lease goes back to the budget uncharged: its holder's admitted requests are reservations of their own.
      changes.leases.push(...this.#leases.expire(sql, now));
      const cutoff = now - FINISHED_MEMORY_MS;
      const forgotten = forgetFinished(sql, { ordinary: cutoff, expired: now - EXPIRED_MEMORY_MS, batches: cutoff }, PRUNE_BATCH_ROWS);
      changes.uncharged.push(...forgotten.expiredIds);
    });
    this.#apply(changes);
    if (expired > 0) {
      console.warn(JSON.stringify({ msg: "spend_ledger_reservations_expired", scope: this.#scope, count: expired }));
    }
    this.#sendDueAlerts(now);
    const oldest = this.#reservations.pruned(sql);
    await this.#host.alarmBy(Math.min(nextPruneAt(now, oldest), this.#reservations.nextExpiry(), this.#leases.nextExpiry()));
  }

  /** Brings the in-memory copies in step with a committed transaction. */
  #apply(changes: Changes): void {
    this.#reservations.apply(changes);
    this.#leases.apply(changes.leases);
    const current = this.#current;
    const delta = current === null ? undefined : changes.spent.get(current.window.key);
    if (current !== null && delta !== undefined) current.spentNanos += delta;
  }

  /** The budget's current period, read from SQLite once per period (and after a budget change). */
  #currentAt(now: number, budget: Budget): CurrentPeriod {
    if (this.#current !== null && contains(this.#current.window, now)) return this.#current;
    const sql = this.#host.sql;
    const window = periodWindow(budget.period, now);
    sql.exec("DELETE FROM alerts_sent WHERE period != ?", window.key); // alerts of past periods are never consulted again
    const sent = sql.exec<{ percent: number; at_nanos: number }>("SELECT percent, at_nanos FROM alerts_sent WHERE period = ?", window.key);
    const sentAlerts = new Set([...sent].map((r) => alertKey({ percent: r.percent, atNanos: r.at_nanos })));
    this.#current = { window, spentNanos: spentIn(sql, window.key), sentAlerts };
    return this.#current;
  }

  #statusAt(now: number): BudgetStatus | null {
    const budget = this.#budget;
    if (budget === null) return null;
    const current = this.#currentAt(now, budget);
    return budgetStatus(this.#scopeName(), budget, current.window, current.spentNanos, this.#reservations.total, this.#leases.total);
  }

  /** Starts a webhook delivery for each alert level the current period has reached and not yet delivered. */
  #sendDueAlerts(now: number): void {
    const budget = this.#budget;
    if (budget?.alertWebhook === undefined) return;
    const period = this.#currentAt(now, budget);
    this.#alerts.sendDue({ scope: this.#scopeName(), budget, period, sql: this.#host.sql, waitUntil: (p) => this.#host.waitUntil(p) });
  }

  #useBudget(budget: Budget | null): void {
    this.#budget = budget;
    this.#limitNanos = budget === null ? 0 : usdToNanos(budget.limitUsd);
    this.#current = null;
  }

  /** Remembers the scope's name (an object does not reliably know its own); a different name is a caller's bug. */
  #useScope(scope: string, persist: boolean): void {
    if (this.#scope === scope) return;
    if (this.#scope !== null) throw new Error(`SpendLedger for "${this.#scope}" was called as "${scope}"`);
    if (!persist) return;
    this.#host.sql.exec("INSERT OR REPLACE INTO ledger_meta (key, value) VALUES ('scope', ?)", scope);
    this.#scope = scope;
  }

  #scopeName(): string {
    return this.#scope ?? "";
  }
}
