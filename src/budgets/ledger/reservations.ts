/**
 * A SpendLedger's reservations (book.ts): requests in flight with their worst
 * case, in SQLite, with an exact copy in memory kept in step by the code that
 * writes them (the live reservations and their sum, the ids charged at expiry,
 * whether any id is finished), so the hot `reserve` needs one write statement
 * and no read, and a settle tells the records it must settle id by id from the
 * rest without a read.
 *
 * Writes happen in the caller's transaction and name what they changed in a
 * `Changes`; `apply` brings memory in step once that transaction commits.
 */
import type { Nanos } from "../../metering/types.ts";
import { HeldAmounts } from "./amounts.ts";
import { expiryChargedIds, oldestFinished, type OldestFinished } from "./sql.ts";
import type { Changes, FinishedRow, Reservation } from "./state.ts";
import { expiryCharge, negate, type UsageTotals } from "./totals.ts";

export class ReservationBook {
  readonly #live = new HeldAmounts<Reservation>();
  /** Ids in `finished` with an expiry charge a late settle or release replaces (rare: one per lost reservation). */
  readonly #expiryCharged = new Set<string>();
  /**
   * False only while `finished` is empty, as it stays on a scope that never reserves (no budget): a
   * plain record there is new without a look-up. Set by any finish, recomputed by each alarm run.
   */
  #anyFinished = false;

  load(sql: SqlStorage): void {
    const rows = sql.exec<{ id: string; nanos: number; model: string; end_user: string; created_at: number; expires_at: number }>(
      "SELECT id, nanos, model, end_user, created_at, expires_at FROM reservations",
    );
    for (const r of rows) this.#live.set(r.id, { nanos: r.nanos, model: r.model, user: r.end_user, createdAt: r.created_at, expiresAt: r.expires_at });
    for (const id of expiryChargedIds(sql)) this.#expiryCharged.add(id);
    this.#anyFinished = sql.exec<{ any: number }>("SELECT EXISTS (SELECT 1 FROM finished) AS any").one().any === 1;
  }

  get total(): bigint {
    return this.#live.total;
  }

  get anyFinished(): boolean {
    return this.#anyFinished;
  }

  get(id: string): Reservation | undefined {
    return this.#live.get(id);
  }

  /** Whether a record with this id is settled id by id: it holds a live reservation, or an expiry charge. */
  settlesById(id: string): boolean {
    return this.#live.has(id) || this.#expiryCharged.has(id);
  }

  /** The earliest expiry, Infinity with none. */
  nextExpiry(): number {
    return this.#live.nextExpiry();
  }

  /** Writes a reservation (replacing a live one's amount; never one for an id already finished); what it holds, or null when the id is finished. */
  insert(sql: SqlStorage, id: string, nanos: Nanos, model: string, user: string, now: number, expiresAt: number): Reservation | null {
    const stored = sql
      .exec<{ created_at: number }>(
        `INSERT INTO reservations (id, nanos, model, end_user, created_at, expires_at)
         SELECT ?, ?, ?, ?, ?, ? WHERE NOT EXISTS (SELECT 1 FROM finished WHERE id = ?)
         ON CONFLICT (id) DO UPDATE SET nanos = excluded.nanos, model = excluded.model, end_user = excluded.end_user, expires_at = excluded.expires_at
         RETURNING created_at`,
        id, nanos, model, user, now, expiresAt, id,
      )
      .toArray()[0];
    return stored === undefined ? null : { nanos, model, user, createdAt: stored.created_at, expiresAt };
  }

  /** A reservation `insert` wrote outside a batch (`reserve`: one statement, applied at once). */
  commit(id: string, reservation: Reservation): void {
    this.#live.set(id, reservation);
  }

  /**
   * Marks `id` finished and ends its reservation; false when it was finished before. A finish after
   * the alarm charged the reservation takes that charge back (into `totals`) and returns true (the
   * caller then books what really happened: the actual cost, or nothing for a release).
   */
  finish(sql: SqlStorage, id: string, at: number, model: string, user: string, now: number, changes: Changes, totals: UsageTotals): boolean {
    const fresh = sql
      .exec("INSERT INTO finished (id, finished_at, at, model, end_user) VALUES (?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING RETURNING 1", id, now, at, model, user)
      .toArray().length > 0;
    if (fresh) {
      changes.finishedAny = true;
      if (this.#live.has(id)) {
        sql.exec("DELETE FROM reservations WHERE id = ?", id);
        changes.ended.push(id);
      }
      return true;
    }
    if (!this.#expiryCharged.has(id)) return false;
    // Still read: the same id may come twice in one batch, and the first has already corrected it.
    const prior = sql.exec<FinishedRow>("SELECT at, model, end_user, expired_nanos FROM finished WHERE id = ?", id).one();
    if (prior.expired_nanos === null) return false;
    totals.add(prior.at, prior.model, prior.end_user, negate(expiryCharge(prior.expired_nanos)));
    sql.exec("UPDATE finished SET expired_nanos = NULL, finished_at = ?, at = ?, model = ?, end_user = ? WHERE id = ?", now, at, model, user, id);
    changes.uncharged.push(id);
    return true;
  }

  /**
   * Charges the reservations past their expiry at their worst case, as estimated requests (the
   * isolate that made them is gone, and the provider may have billed them); how many.
   */
  expire(sql: SqlStorage, now: number, changes: Changes, totals: UsageTotals): number {
    const expired = this.#live.expiredAt(now);
    for (const [id, r] of expired) {
      sql.exec("DELETE FROM reservations WHERE id = ?", id);
      sql.exec(
        "INSERT INTO finished (id, finished_at, at, model, end_user, expired_nanos) VALUES (?, ?, ?, ?, ?, ?)",
        id, now, r.createdAt, r.model, r.user, r.nanos,
      );
      changes.ended.push(id);
      changes.expiryCharged.push(id);
      totals.add(r.createdAt, r.model, r.user, expiryCharge(r.nanos));
    }
    return expired.length;
  }

  /** After a prune: the oldest finished rows left, and whether any is. */
  pruned(sql: SqlStorage): OldestFinished {
    const oldest = oldestFinished(sql);
    this.#anyFinished = oldest.ordinary !== null || oldest.expired !== null;
    return oldest;
  }

  /** Brings memory in step with a committed transaction's reservation changes. */
  apply(changes: Changes): void {
    if (changes.finishedAny) this.#anyFinished = true;
    for (const id of changes.expiryCharged) this.#expiryCharged.add(id);
    for (const id of changes.uncharged) this.#expiryCharged.delete(id);
    for (const id of changes.ended) this.#live.set(id, null);
    for (const [id, r] of changes.reserved) this.#live.set(id, r);
  }

  /** What the reservations will sum to once `changes` are applied (a lease is sized inside the transaction). */
  totalAfter(changes: Changes): bigint {
    let total = this.#live.total;
    for (const id of changes.ended) total -= BigInt(this.#live.get(id)?.nanos ?? 0);
    for (const [id, r] of changes.reserved) total += BigInt(r.nanos) - BigInt(this.#live.get(id)?.nanos ?? 0);
    return total;
  }

}
