/**
 * The leases a SpendLedger has granted (issue 16): slices of a hard budget that
 * isolates admit requests on without asking (budgets/lease-holder.ts). The
 * ledger keeps `spent + reserved + leased ≤ limit`: a lease is granted only
 * out of what is left (rules.ts leaseGrant), and a request's
 * reservation (budgets/ledger-client.ts) must fit beside every lease. An
 * unrenewed lease expires and its slice goes back to the budget, uncharged:
 * what its holder had admitted was announced at its exchanges and is a
 * reservation of its own by then, expiring (and charged) as any other.
 *
 * In SQLite, with an exact copy in memory kept in step by the code that writes it.
 */
import type { Nanos } from "../../metering/types.ts";
import { HeldAmounts } from "./amounts.ts";

export const LEASES_SCHEMA = `
CREATE TABLE IF NOT EXISTS leases (
  holder TEXT PRIMARY KEY,
  nanos INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
);
`;

export interface Lease {
  readonly nanos: Nanos;
  readonly expiresAt: number;
}

/** A lease written in a transaction, applied to memory once it commits (null: gone). */
export type LeaseChange = readonly [holder: string, lease: Lease | null];

export class LeaseBook {
  readonly #leases = new HeldAmounts<Lease>();

  load(sql: SqlStorage): void {
    for (const r of sql.exec<{ holder: string; nanos: number; expires_at: number }>("SELECT holder, nanos, expires_at FROM leases")) {
      this.#leases.set(r.holder, { nanos: r.nanos, expiresAt: r.expires_at });
    }
  }

  get total(): bigint {
    return this.#leases.total;
  }

  /** How many holders hold a lease. */
  get holders(): number {
    return this.#leases.size;
  }

  nanosOf(holder: string): Nanos {
    return this.#leases.get(holder)?.nanos ?? 0;
  }

  /** The earliest expiry, Infinity with no lease. */
  nextExpiry(): number {
    return this.#leases.nextExpiry();
  }

  /** Sets a holder's lease in the caller's transaction (0 nanos removes it); apply the change once it commits. */
  write(sql: SqlStorage, holder: string, nanos: Nanos, expiresAt: number): LeaseChange {
    if (nanos === 0) {
      sql.exec("DELETE FROM leases WHERE holder = ?", holder);
      return [holder, null];
    }
    sql.exec(
      "INSERT INTO leases (holder, nanos, expires_at) VALUES (?, ?, ?) ON CONFLICT (holder) DO UPDATE SET nanos = excluded.nanos, expires_at = excluded.expires_at",
      holder, nanos, expiresAt,
    );
    return [holder, { nanos, expiresAt }];
  }

  /** Removes the leases past their expiry, in the caller's transaction: the changes to apply once it commits. */
  expire(sql: SqlStorage, now: number): LeaseChange[] {
    const gone = this.#leases.expiredAt(now);
    for (const [holder] of gone) sql.exec("DELETE FROM leases WHERE holder = ?", holder);
    return gone.map(([holder]) => [holder, null]);
  }

  /** Every lease removed (the budget was taken away, or made soft): no slice of it is held any more. */
  clear(sql: SqlStorage): LeaseChange[] {
    sql.exec("DELETE FROM leases");
    return this.#leases.ids().map((holder) => [holder, null]);
  }

  apply(changes: readonly LeaseChange[]): void {
    for (const [holder, lease] of changes) this.#leases.set(holder, lease);
  }
}
