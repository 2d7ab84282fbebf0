/**
 * The SpendLedger's in-memory records (src/durable/spend-ledger.ts): a live reservation, the
 * budget's current period, and what one transaction changed, applied to the copies once it commits.
 */
import type { SpendRecord } from "../ledger-types.ts";
import type { Nanos } from "../../metering/types.ts";
import type { PeriodWindow } from "./rules.ts";
import type { UsageDelta } from "./totals.ts";
import type { LeaseChange } from "./leases.ts";

/** A live reservation, as the ledger keeps it in memory beside its row. */
export interface Reservation {
  nanos: Nanos;
  model: string;
  user: string;
  createdAt: number;
  expiresAt: number;
}

/** The budget's current period: its spend and the alerts already delivered in it. */
export interface CurrentPeriod {
  readonly window: PeriodWindow;
  spentNanos: Nanos;
  readonly sentAlerts: Set<string>;
}

/** What a transaction changed, applied to the in-memory copies only once it has committed. */
export class Changes {
  /** Reservations ended (settled, released or expired). */
  readonly ended: string[] = [];
  /** Ids the alarm charged at their worst case. */
  readonly expiryCharged: string[] = [];
  /** Expiry-charged ids corrected by a settle or release, or forgotten. */
  readonly uncharged: string[] = [];
  /** A row was added to `finished`. */
  finishedAny = false;
  spent: ReadonlyMap<string, Nanos> = new Map();
  /** Reservations made (a lease holder's announced requests). */
  readonly reserved: Array<readonly [id: string, reservation: Reservation]> = [];
  /** Leases set or removed. */
  readonly leases: LeaseChange[] = [];
}

export interface FinishedRow extends Record<string, SqlStorageValue> {
  at: number;
  model: string;
  end_user: string;
  expired_nanos: number | null;
}

export const recordDelta = (r: SpendRecord): UsageDelta => ({
  nanos: r.nanos,
  requests: 1,
  promptTokens: r.promptTokens,
  completionTokens: r.completionTokens,
  estimated: r.estimated ? 1 : 0,
  unpriced: r.unpriced ? 1 : 0,
});
