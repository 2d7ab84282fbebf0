/**
 * The contract between isolates and the SpendLedger Durable Object (one per
 * budget scope: `global`, `key:<id>`, `user:<keyId>:<user>`). Money is integer
 * nano-dollars (src/metering/types.ts). Shared by the ledger and its client.
 */
import * as z from "zod";
import type { Nanos } from "../metering/types.ts";

export const budgetPeriodSchema = z.enum(["day", "month", "total"]);
export type BudgetPeriod = z.infer<typeof budgetPeriodSchema>;

/** A budget as the admin API takes it (`PUT /admin/budgets/:scope`). */
export const budgetSchema = z.strictObject({
  limitUsd: z.number().positive().max(1e9),
  period: budgetPeriodSchema,
  /** hard: a request whose worst case does not fit is refused (402); soft: served, with warnings and alerts. */
  mode: z.enum(["hard", "soft"]).default("hard"),
  /** An alert goes out once per period when spend crosses this share of the limit (and again at 100 %). */
  alertAtPercent: z.number().min(1).max(100).optional(),
  /** Alias that serves requests once the budget is used up (soft), or instead of refusing them (hard). */
  degradeTo: z.string().min(1).max(64).optional(),
  /** Receives a JSON POST for each alert. */
  alertWebhook: z.url({ protocol: /^https?$/ }).optional(),
});
export type Budget = z.infer<typeof budgetSchema>;

/** A scope's budget and where its current period stands. */
export interface BudgetStatus {
  readonly scope: string;
  readonly budget: Budget;
  /** Settled spend in the current period. */
  readonly spentNanos: Nanos;
  /** Worst-case amounts of requests in flight. */
  readonly reservedNanos: Nanos;
  /** Slices of the budget held by isolates that admit requests on them without asking (leases, issue 16). */
  readonly leasedNanos: Nanos;
  /** ISO time the current period began (null for `total`). */
  readonly periodStart: string | null;
  /** ISO time the current period ends and spend starts from zero again (null for `total`). */
  readonly resetsAt: string | null;
  /** Calls the ledger has answered since its object started, by kind (status() only: what admission costs in round trips). */
  readonly calls?: Readonly<Record<"reserve" | "settle" | "exchange" | "release", number>>;
}

export interface ReserveRequest {
  /** The reservation id (the request id): settling and releasing name it, and doing either twice changes nothing. */
  readonly id: string;
  /** Worst-case cost. Reserving an id again replaces its amount (a degraded request reserves its cheaper worst case). */
  readonly nanos: Nanos;
  /** `provider/model` of the most expensive target, for an expired reservation's record. */
  readonly model: string;
  readonly user: string | null;
  /** After this long unsettled, the alarm expires the reservation and charges it (the isolate that made it is gone). */
  readonly ttlMs: number;
}

export type ReserveAnswer =
  /** Admitted (or no budget: nothing was reserved). `status` is the scope's budget after the reservation, null without one. */
  | { readonly admitted: true; readonly status: BudgetStatus | null }
  /** A hard budget the reservation does not fit: nothing was reserved. */
  | { readonly admitted: false; readonly status: BudgetStatus };

/**
 * Longest id of a settle batch. The SpendLedger's RPC is `settle(scope, records, batchId)`: the
 * isolate makes one id per batch (crypto.randomUUID()) and reuses it when it retries that batch, and
 * a batch id the ledger has booked before makes the whole call change nothing (it answers the
 * status). An empty or longer id is a caller's bug and throws.
 */
export const MAX_BATCH_ID = 128;

/**
 * One request's actual spend, written to every scope it belongs to, in a batch with others (see
 * MAX_BATCH_ID). A record whose id holds a reservation, or was charged when its reservation expired,
 * is settled id by id: settling that id again, in any batch, changes nothing (except that the first
 * settle after the expiry charge replaces it). Any other record is idempotent per batch only: sent
 * again in a NEW batch it counts again, which the isolate never does (a record goes out once, or
 * again in the retry of its own batch, which reuses the batch id).
 */
export interface SpendRecord {
  /** The request id; with a reservation, the reservation it settles. */
  readonly id: string;
  /** Epoch ms the request started: it decides the day and month the spend counts towards. */
  readonly at: number;
  /** `provider/model` that answered (or was last tried). */
  readonly model: string;
  /** The end user (`user` field or `x-switchyard-user`), if any. */
  readonly user: string | null;
  readonly nanos: Nanos;
  readonly promptTokens: number;
  readonly completionTokens: number;
  /** The provider reported no usage (stream cut, client gone, quirk): tokens and cost are the gateway's estimate. */
  readonly estimated: boolean;
  /** No price is known for the model: tokens are counted, cost is unknown (recorded as 0, flagged). */
  readonly unpriced: boolean;
}

/**
 * A request a lease holder admitted on its lease without asking the ledger: at the holder's next
 * exchange it becomes a reservation of its own (settled, released or expired like any other),
 * taken out of the lease.
 */
export interface AnnouncedRequest {
  readonly id: string;
  /** Its worst-case cost: what it took of the lease. */
  readonly nanos: Nanos;
  readonly model: string;
  readonly user: string | null;
}

/**
 * One exchange of a lease holder (an isolate) with a scope's ledger, in the background: the requests it
 * admitted on its lease since its last exchange, the requests it saw finish (booked as a settle
 * batch is, `batchId` making a retried exchange change nothing), and the lease it asks to hold now.
 */
export interface LeaseExchange {
  /** The holder's id: one per isolate, random (budgets/lease-holder.ts). */
  readonly holder: string;
  readonly batchId: string;
  readonly announced: readonly AnnouncedRequest[];
  readonly records: readonly SpendRecord[];
  /** Announced requests that failed before any provider could bill them: their reservations are dropped, nothing booked. */
  readonly released: readonly string[];
  /**
   * What the holder may still admit on its current lease while this exchange is in flight: the new
   * lease is at least this much of what is left of the old one (it was the holder's already), so that
   * nothing admitted meanwhile goes unbacked.
   */
  readonly keep: Nanos;
  /** The lease the holder would like to hold after this exchange (0 gives its lease back). */
  readonly want: Nanos;
  /** Unrenewed for this long, the lease goes back to the budget (its holder is taken for gone). */
  readonly leaseTtlMs: number;
  /** The announced requests' reservations expire (and are charged) after this long unsettled. */
  readonly reservationTtlMs: number;
}

export interface LeaseAnswer {
  /** The holder's lease now: what it may admit without asking (0: none). */
  readonly lease: Nanos;
  /** The budget as the ledger has it after the exchange (null: none; then no lease). */
  readonly status: BudgetStatus | null;
}

/** Longest lease holder id (ours are UUIDs). */
export const MAX_HOLDER_ID = 64;

export type UsageGroupBy = "model" | "user";

export interface UsageQuery {
  readonly period: "day" | "month";
  readonly groupBy: UsageGroupBy;
  /** A time inside the period to report (epoch ms); now by default. */
  readonly at?: number | undefined;
}

export interface UsageRow {
  /** The model (`provider/model`) or the user ("" for requests without one). */
  readonly key: string;
  readonly costNanos: Nanos;
  readonly requests: number;
  readonly promptTokens: number;
  readonly completionTokens: number;
  /** Requests whose usage was estimated, including reservations that expired unsettled. */
  readonly estimatedRequests: number;
  readonly unpricedRequests: number;
}

export interface UsageReport {
  readonly scope: string;
  readonly period: "day" | "month";
  readonly periodStart: string;
  readonly rows: readonly UsageRow[];
}

/** Settled spend of one period (`GET /admin/budgets/:scope` shows it with or without a budget). */
export interface PeriodSpend {
  readonly spentNanos: Nanos;
  readonly requests: number;
  readonly estimatedRequests: number;
  readonly unpricedRequests: number;
  /** ISO time the period began (null for `total`). */
  readonly periodStart: string | null;
}

/** Where a scope's spend stands now, budget or not. */
export interface LedgerTotals {
  readonly scope: string;
  readonly day: PeriodSpend;
  readonly month: PeriodSpend;
  readonly total: PeriodSpend;
  /** Worst-case amounts of requests in flight (only scopes with a budget reserve). */
  readonly reservedNanos: Nanos;
  /** The budget's status, null without a budget. */
  readonly status: BudgetStatus | null;
}

/** The JSON body POSTed to a budget's `alertWebhook`, once per period per threshold. */
export interface BudgetAlert {
  readonly type: "budget_alert";
  readonly scope: string;
  /** The percentage of the limit that spend reached (`alertAtPercent`, or 100). */
  readonly threshold: number;
  readonly limitUsd: number;
  readonly spentUsd: number;
  readonly period: BudgetPeriod;
  readonly periodStart: string | null;
  readonly mode: Budget["mode"];
}
