/**
 * The isolate's side of budget leases (issue 16): per scope with a hard
 * budget, a slice of what the budget has left, granted by its SpendLedger
 * (durable/spend-ledger.ts exchange). A request whose worst case fits the
 * slice is admitted here, with no Durable Object call on its path; anything
 * else is reserved on its own (ledger-client.ts reserveOn), as before, so
 * the last dollar stays exact.
 *
 * Everything the ledger must learn goes in one background exchange per scope
 * at a time, batched for EXCHANGE_BATCH_MS: the requests admitted on the slice
 * (each becomes a reservation of its own there, so a holder that dies leaves
 * them to expire and be charged like any other), the requests that finished
 * (booked as a settle), the ones that failed (released), and the slice it
 * wants next, sized from what it has admitted lately. The ledger answers the
 * slice it may hold: shrunk as the budget nears its limit, or after an admin
 * lowered it, down to nothing. A slice is used here only until its lease is
 * near its expiry (LEASE_TTL_MS, less a margin for the exchange and clocks);
 * an unrenewed lease goes back to the budget.
 *
 * What the slice still holds here: the last answer, less the worst cases of
 * the requests admitted on it since the exchange that answered was sent
 * (those the ledger has not been told of yet).
 */
import type { BackgroundWork } from "../routing/health.ts";
import type { AnnouncedRequest, BudgetStatus, SpendRecord } from "./ledger-types.ts";
import type { Nanos } from "../metering/types.ts";

/** A lease not renewed for this long goes back to the budget. */
export const LEASE_TTL_MS = 30_000;
/** A slice is used here until this long before its lease's expiry (the exchange's own time, clocks that differ). */
const LEASE_MARGIN_MS = 5_000;
/** An exchange waits this long for others to join it: a busy scope's ledger then hears from an isolate a few dozen times a second at most. */
export const EXCHANGE_BATCH_MS = 40;
/** The slice asked for covers this long of what the scope has admitted lately, and at least a few of its largest requests. */
const SLICE_HORIZON_MS = 2_000;
const SLICE_MIN_REQUESTS = 4;
/** A refill is asked for once the slice has less than this share of what was last asked left. */
const LOW_WATER_SHARE = 0.5;

/** This isolate's name as a lease holder: made at its first use (a Worker may not draw random values at startup). */
let holder: string | null = null;
export const holderId = (): string => (holder ??= crypto.randomUUID());

/** What one exchange carries; the ledger's answer. */
export interface ExchangeCall {
  readonly announced: readonly AnnouncedRequest[];
  readonly records: readonly SpendRecord[];
  readonly released: readonly string[];
  readonly want: Nanos;
}
export interface ExchangeReply {
  readonly lease: Nanos;
  readonly status: BudgetStatus | null;
}

/** Makes the call to the scope's ledger (with retries and batch id: ledger-client.ts); throws when it could not be made. */
export type Exchanger = (scope: string, call: ExchangeCall) => Promise<ExchangeReply>;

class ScopeLease {
  /** The lease as the ledger last answered it. */
  slice: Nanos = 0;
  /** Local time until which the slice may be used. */
  usableUntil = 0;
  /** Admitted on the slice since the last exchange was sent: not yet known to the ledger. */
  readonly unannounced = new Map<string, AnnouncedRequest>();
  unannouncedNanos = 0;
  /** Announced in the exchange in flight, whose answer will account for them. */
  sendingNanos = 0;
  records: SpendRecord[] = [];
  released: string[] = [];
  /** The largest worst case seen, and what was admitted (by worst case) in the current horizon. */
  largest: Nanos = 0;
  admittedSince = 0;
  admittedNanos = 0;
  lastWant: Nanos = 0;
  inFlight: Promise<void> | null = null;
  timer: Promise<void> | null = null;

  left(now: number): Nanos {
    return now < this.usableUntil ? this.slice - this.sendingNanos - this.unannouncedNanos : 0;
  }

  want(now: number): Nanos {
    if (now - this.admittedSince > SLICE_HORIZON_MS) {
      this.admittedSince = now;
      this.admittedNanos = 0;
    }
    return Math.max(this.admittedNanos, this.largest * SLICE_MIN_REQUESTS);
  }

  hasNews(): boolean {
    return this.unannounced.size > 0 || this.records.length > 0 || this.released.length > 0;
  }
}

const leases = new Map<string, ScopeLease>();

/** Whether this isolate keeps a lease on `scope` (its spend then goes through exchanges). */
export const holdsLease = (scope: string): boolean => leases.has(scope);

function leaseOf(scope: string): ScopeLease {
  let lease = leases.get(scope);
  if (lease === undefined) {
    lease = new ScopeLease();
    leases.set(scope, lease);
  }
  return lease;
}

/**
 * Admits `request` on the scope's slice when it fits (true: no ledger call needed); otherwise the
 * caller reserves it on its own. Either way a refill is asked for when the slice runs low.
 */
export function admitOnLease(scope: string, request: AnnouncedRequest, ctx: BackgroundWork, exchange: Exchanger): boolean {
  const lease = leaseOf(scope);
  const now = Date.now();
  lease.largest = Math.max(lease.largest, request.nanos);
  lease.want(now);
  lease.admittedNanos += request.nanos;
  const fits = lease.left(now) >= request.nanos;
  if (fits) {
    lease.unannouncedNanos += request.nanos - (lease.unannounced.get(request.id)?.nanos ?? 0);
    lease.unannounced.set(request.id, request);
  }
  if (fits || lease.left(now) < lease.want(now) * LOW_WATER_SHARE) schedule(scope, lease, ctx, exchange);
  return fits;
}

/** A request admitted on the slice failed before any provider could bill it: what it held comes back. */
export function releaseOnLease(scope: string, id: string, ctx: BackgroundWork, exchange: Exchanger): void {
  const lease = leaseOf(scope);
  const unannounced = lease.unannounced.get(id);
  if (unannounced !== undefined) {
    lease.unannounced.delete(id);
    lease.unannouncedNanos -= unannounced.nanos;
    return;
  }
  lease.released.push(id);
  schedule(scope, lease, ctx, exchange);
}

/** A finished request's spend on a scope this isolate holds a lease on: booked at the next exchange. */
export function recordOnLease(scope: string, record: SpendRecord, ctx: BackgroundWork, exchange: Exchanger): void {
  const lease = leaseOf(scope);
  lease.records.push(record);
  schedule(scope, lease, ctx, exchange);
}

/**
 * An admin changed the scope's budget in this isolate: its slice is used no more (the next request
 * reserves on its own and asks for a slice under the new budget; the ledger has it from its next exchange).
 */
export function forgetLease(scope: string): void {
  const lease = leases.get(scope);
  if (lease === undefined) return;
  lease.slice = 0;
  lease.usableUntil = 0;
}

/**
 * Gives the slice back and tells the ledger everything pending, at once: a request this isolate
 * had to reserve on its own did not fit, and is asked again once nothing this isolate holds or owes
 * the scope stands in its way.
 */
export async function returnLease(scope: string, ctx: BackgroundWork, exchange: Exchanger): Promise<void> {
  const lease = leases.get(scope);
  if (lease === undefined) return;
  if (lease.slice === 0 && !lease.hasNews() && lease.inFlight === null && lease.timer === null) return;
  await send(scope, lease, exchange, 0, ctx);
}

function schedule(scope: string, lease: ScopeLease, ctx: BackgroundWork, exchange: Exchanger): void {
  if (lease.timer !== null) return;
  lease.timer = new Promise<void>((resolve) => setTimeout(resolve, EXCHANGE_BATCH_MS)).then(async () => {
    lease.timer = null;
    await send(scope, lease, exchange, undefined, ctx);
  });
  ctx.waitUntil(lease.timer);
}

/** One exchange at a time per scope: a later one waits for the one in flight, whose answer it builds on. */
async function send(scope: string, lease: ScopeLease, exchange: Exchanger, want: Nanos | undefined, ctx: BackgroundWork): Promise<void> {
  while (lease.inFlight !== null) await lease.inFlight;
  const now = Date.now();
  const asked = want ?? lease.want(now);
  // Nothing to tell and a slice that still serves: no call (a return, with `want` 0, always goes).
  if (want === undefined && !lease.hasNews() && asked === lease.lastWant && lease.left(now) > 0) return;
  const announced = [...lease.unannounced.values()];
  const call: ExchangeCall = { announced, records: lease.records, released: lease.released, want: asked };
  lease.unannounced.clear();
  lease.sendingNanos = lease.unannouncedNanos;
  lease.unannouncedNanos = 0;
  lease.records = [];
  lease.released = [];
  lease.lastWant = asked;
  const sentAt = now;
  const flight = exchange(scope, call).then(
    (reply) => {
      lease.slice = reply.lease;
      lease.usableUntil = reply.lease > 0 ? sentAt + LEASE_TTL_MS - LEASE_MARGIN_MS : 0;
    },
    () => {
      // The ledger could not be told (ledger-client.ts logged the records as unsaved): the slice is
      // used no more, and its requests, never announced, are charged where their records land.
      lease.slice = 0;
      lease.usableUntil = 0;
    },
  ).finally(() => {
    lease.sendingNanos = 0;
    lease.inFlight = null;
  });
  lease.inFlight = flight;
  await flight;
  // What arrived meanwhile goes in the next one.
  if (lease.hasNews()) schedule(scope, lease, ctx, exchange);
}
