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
 * near its expiry (settings' leaseTtlMs, 30 s, less a margin for the exchange and clocks);
 * an unrenewed lease goes back to the budget.
 *
 * What the slice still holds here: the last answer, less the worst cases of
 * the requests admitted on it since the exchange that answered was sent
 * (those the ledger has not been told of yet).
 */
import { withinMs } from "../config/within-ms.ts";
import type { BackgroundWork } from "../routing/health.ts";
import type { AnnouncedRequest, BudgetStatus, SpendRecord } from "./ledger-types.ts";
import type { Nanos } from "../metering/types.ts";

/** A slice is used here until this long before its lease's expiry (the exchange's own time, clocks that differ), a third of a short TTL. */
const LEASE_MARGIN_MS = 5_000;
const marginOf = (ttlMs: number): number => Math.min(LEASE_MARGIN_MS, ttlMs / 3);
/** An exchange waits this long for others to join it: a busy scope's ledger then hears from an isolate a few dozen times a second at most. */
export const EXCHANGE_BATCH_MS = 40;
/**
 * An exchange not answered within this is taken as failed (and sent again with its batch id, which
 * makes that safe). Well inside the 30 s a Worker's background work may outlive its response.
 */
const EXCHANGE_TIMEOUT_MS = 4_000;
/** A failed exchange is sent again this long after (or with the next one, if sooner)… */
const EXCHANGE_RETRY_MS = 2_000;
/** …this many times, after which its records are logged as unsaved (a call the ledger always refuses must not block the scope). */
const MAX_RESENDS = 5;
/** Records waiting while exchanges fail, at most: past this the oldest are logged as unsaved. */
const MAX_PENDING_RECORDS = 10_000;
/** A timer, flight or idle check older than this was cut with the request that carried it (its promise never settles): it is ignored. */
const STALE_MS = 2 * EXCHANGE_TIMEOUT_MS + EXCHANGE_BATCH_MS + 2_000;
/** A pending exchange is taken into a newer request's lifetime at most this often. */
const CARRIER_MS = 1_000;
/** While an exchange is out, at most this share of what was asked for is admitted on the slice (the ledger keeps that much of it). */
const IN_FLIGHT_SHARE = 0.25;
/** The slice asked for covers this long of what the scope has admitted lately, and at least a few of its largest requests. */
const SLICE_HORIZON_MS = 2_000;
const SLICE_MIN_REQUESTS = 4;
/** A refill is asked for once the slice has less than this share of what was last asked left. */
const LOW_WATER_SHARE = 0.5;
/** A slice nothing was admitted on for this long goes back to the budget (an idle isolate holds nobody's money). */
const IDLE_RETURN_MS = 2_000;

/** This isolate's name as a lease holder: made at its first use (a Worker may not draw random values at startup). */
let holder: string | null = null;
export const holderId = (): string => (holder ??= crypto.randomUUID());

/** What one exchange carries; the ledger's answer. */
export interface ExchangeCall {
  readonly announced: readonly AnnouncedRequest[];
  readonly records: readonly SpendRecord[];
  readonly released: readonly string[];
  readonly want: Nanos;
  /** What the holder may still admit on its current lease while this exchange is in flight: the ledger keeps that much of it. */
  readonly keep: Nanos;
}
export interface ExchangeReply {
  readonly lease: Nanos;
  readonly status: BudgetStatus | null;
}

/**
 * Makes the call to the scope's ledger (ledger-client.ts); throws when it could not be made.
 * `batchId` names the call: sent again, it changes nothing twice. `leaseTtlMs`: how long the leases
 * it asks for last (config/settings.ts).
 */
export interface Exchanger {
  (scope: string, call: ExchangeCall, batchId: string): Promise<ExchangeReply>;
  readonly leaseTtlMs: number;
}

interface Window {
  start: number;
  admitted: Nanos;
  largest: Nanos;
}

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
  /** An exchange that failed, to be sent again (first, with its batch id) before anything new. */
  failed: { readonly batchId: string; readonly call: ExchangeCall; tries: number } | null = null;
  /** What was admitted (by worst case) and the largest worst case, in this horizon and the one before: the slice asked for. */
  current: Window = { start: 0, admitted: 0, largest: 0 };
  previous: Window = { start: 0, admitted: 0, largest: 0 };
  lastAdmitAt = 0;
  lastWant: Nanos = 0;
  /** The exchange in flight and when it left; what may be admitted while it is out (`keep`), and the slice's margin. */
  inFlight: Promise<void> | null = null;
  inFlightAt = 0;
  flightAllowance: Nanos = 0;
  marginMs = LEASE_MARGIN_MS;
  timer: Promise<void> | null = null;
  timerAt = 0;
  /** When a request last took the pending exchange into its own lifetime (`waitUntil`). */
  carrierAt = 0;
  idleCheckAt = 0;
  /** Bumped when an admin change drops the slice: an answer to an exchange sent before it is not applied. */
  generation = 0;

  /** The slice is used no more (given back, failed, or dropped by an admin change). */
  dropSlice(): void {
    this.slice = 0;
    this.usableUntil = 0;
  }

  /** An admission not yet announced gives its amount back (its request was admitted again, or failed). */
  dropUnannounced(id: string): void {
    const unannounced = this.unannounced.get(id);
    if (unannounced === undefined) return;
    this.unannounced.delete(id);
    this.unannouncedNanos -= unannounced.nanos;
  }

  /** What the slice has left, an exchange in flight aside. */
  onSlice(now: number): Nanos {
    return now < this.usableUntil ? this.slice - this.sendingNanos - this.unannouncedNanos : 0;
  }

  left(now: number): Nanos {
    const onSlice = this.onSlice(now);
    if (onSlice <= 0 || !this.flying(now)) return onSlice;
    // While an exchange is out, only what the ledger was told it keeps, and never past the slice's margin.
    return now - this.inFlightAt > this.marginMs ? 0 : Math.min(onSlice, this.flightAllowance - this.unannouncedNanos);
  }

  flying(now: number): boolean {
    return this.inFlight !== null && now - this.inFlightAt < STALE_MS;
  }

  timerSet(now: number): boolean {
    return this.timer !== null && now - this.timerAt < STALE_MS;
  }

  admitted(now: number, nanos: Nanos): void {
    this.roll(now);
    this.current.admitted += nanos;
    this.current.largest = Math.max(this.current.largest, nanos);
    this.lastAdmitAt = now;
  }

  want(now: number): Nanos {
    this.roll(now);
    const largest = Math.max(this.current.largest, this.previous.largest);
    const want = Math.max(this.current.admitted, this.previous.admitted, largest * SLICE_MIN_REQUESTS);
    return Math.min(want, Number.MAX_SAFE_INTEGER);
  }

  roll(now: number): void {
    if (now - this.current.start < SLICE_HORIZON_MS) return;
    this.previous = now - this.current.start < 2 * SLICE_HORIZON_MS ? this.current : { start: now, admitted: 0, largest: 0 };
    this.current = { start: now, admitted: 0, largest: 0 };
  }

  hasNews(): boolean {
    return this.unannounced.size > 0 || this.records.length > 0 || this.released.length > 0 || this.failed !== null;
  }

  /** Whether the ledger may hold something of this isolate's for the scope: a slice, or news not yet sent. */
  holdsAnything(): boolean {
    const now = Date.now();
    return this.slice > 0 || this.hasNews() || this.flying(now) || this.timerSet(now);
  }
}

const leases = new Map<string, ScopeLease>();

/** Whether this isolate keeps lease state on `scope` (its spend then goes through exchanges). */
export const holdsLease = (scope: string): boolean => leases.has(scope);

/** Whether this isolate holds a slice of `scope`'s budget or owes its ledger news (a refused reservation is asked again without them). */
export const holdsStake = (scope: string): boolean => leases.get(scope)?.holdsAnything() ?? false;

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
  lease.admitted(now, request.nanos);
  // Admitted again (a degraded request's cheaper worst case): its earlier, unannounced admission gives way.
  const before = lease.unannounced.get(request.id)?.nanos ?? 0;
  const fits = request.nanos > 0 && lease.left(now) + before >= request.nanos;
  if (fits) {
    lease.unannouncedNanos += request.nanos - before;
    lease.unannounced.set(request.id, request);
  }
  if (fits || lease.left(now) < lease.want(now) * LOW_WATER_SHARE) schedule(scope, lease, ctx, exchange);
  return fits;
}

/**
 * A request admitted on the slice is asked again (degraded to a cheaper worst case): an admission
 * not yet announced gives its amount back; an announced one stays a reservation, which the new
 * admission's (on the slice or on its own, with the same id) replaces.
 */
export function readmitOnLease(scope: string, id: string): void {
  leases.get(scope)?.dropUnannounced(id);
}

/**
 * A request admitted on the slice failed before any provider could bill it: what it held comes back.
 * The ledger is told even when this admission was never announced: an earlier one of the same request
 * (before a degrade) may have been, and its reservation must not be left to expire and be charged.
 */
export function releaseOnLease(scope: string, id: string, ctx: BackgroundWork, exchange: Exchanger): void {
  const lease = leaseOf(scope);
  lease.dropUnannounced(id);
  lease.released.push(id);
  schedule(scope, lease, ctx, exchange);
}

/** A finished request's spend on a scope this isolate holds a lease on: booked at the next exchange. */
export function recordOnLease(scope: string, record: SpendRecord, ctx: BackgroundWork, exchange: Exchanger): void {
  const lease = leaseOf(scope);
  lease.records.push(record);
  if (lease.records.length > MAX_PENDING_RECORDS) {
    // Only while exchanges fail: what cannot be held is logged, to be replayed by hand.
    for (const dropped of lease.records.splice(0, lease.records.length - MAX_PENDING_RECORDS)) console.error(JSON.stringify({ msg: "spend_unsaved", scope, record: dropped }));
  }
  schedule(scope, lease, ctx, exchange);
}

/**
 * An admin changed the scope's budget in this isolate: its slice is used no more (the next request
 * reserves on its own and asks for a slice under the new budget; the ledger has it from its next exchange).
 */
export function forgetLease(scope: string): void {
  const lease = leases.get(scope);
  if (lease === undefined) return;
  lease.dropSlice();
  lease.generation++;
}

/**
 * Gives the slice back and tells the ledger everything pending, at once: a request this isolate
 * had to reserve on its own did not fit, and is asked again once nothing this isolate holds or owes
 * the scope stands in its way. Nothing is admitted on the slice meanwhile.
 */
export async function returnLease(scope: string, ctx: BackgroundWork, exchange: Exchanger): Promise<void> {
  const lease = leases.get(scope);
  if (lease === undefined || !lease.holdsAnything()) return;
  await send(scope, lease, exchange, true, ctx);
}

/**
 * The next exchange, EXCHANGE_BATCH_MS from the first news. A request that adds news while one is
 * pending also waits for it (`waitUntil`) when the last to do so did more than CARRIER_MS ago: the
 * send lives as long as a recent request, not only the one that opened it, without every request
 * of a busy scope being kept alive for it.
 */
function schedule(scope: string, lease: ScopeLease, ctx: BackgroundWork, exchange: Exchanger, delayMs = EXCHANGE_BATCH_MS): void {
  const now = Date.now();
  if (lease.timer !== null && lease.timerSet(now)) {
    if (now - lease.carrierAt > CARRIER_MS) {
      lease.carrierAt = now;
      ctx.waitUntil(lease.timer);
    }
    return;
  }
  lease.timerAt = now;
  lease.carrierAt = now;
  const timer = new Promise<void>((resolve) => setTimeout(resolve, delayMs)).then(async () => {
    if (lease.timer === timer) lease.timer = null;
    await send(scope, lease, exchange, false, ctx);
  });
  lease.timer = timer;
  ctx.waitUntil(timer);
}

/** A slice nothing is admitted on for IDLE_RETURN_MS goes back (checked once per quiet spell). */
function scheduleIdleCheck(scope: string, lease: ScopeLease, ctx: BackgroundWork, exchange: Exchanger): void {
  const now = Date.now();
  // One check at a time; one older than a quiet spell and its send was cut with its request.
  if (lease.slice === 0 || now - lease.idleCheckAt < IDLE_RETURN_MS + STALE_MS) return;
  lease.idleCheckAt = now;
  const check = async (): Promise<void> => {
    await new Promise((resolve) => setTimeout(resolve, IDLE_RETURN_MS));
    lease.idleCheckAt = 0;
    if (lease.slice > 0 && Date.now() - lease.lastAdmitAt >= IDLE_RETURN_MS) await send(scope, lease, exchange, true, ctx);
    // Still busy: the next exchange's end checks again.
  };
  ctx.waitUntil(check());
}

/**
 * Sends the exchange that failed again (its batch id makes that safe), asking for no lease: the
 * answer to a call this old is not the slice to use. False when it failed again; after MAX_RESENDS
 * its records are logged as unsaved and it is given up (a call the ledger always refuses must not
 * block the scope; its announced requests are backed by the old lease until that expires).
 */
async function resendFailed(scope: string, lease: ScopeLease, exchange: Exchanger): Promise<boolean> {
  const failed = lease.failed;
  if (failed === null) return true;
  try {
    await withinMs(exchange(scope, { ...failed.call, want: 0, keep: 0 }, failed.batchId), EXCHANGE_TIMEOUT_MS, "a lease exchange");
    lease.failed = null;
    return true;
  } catch {
    failed.tries++;
    if (failed.tries < MAX_RESENDS) return false;
    for (const record of failed.call.records) console.error(JSON.stringify({ msg: "spend_unsaved", scope, batchId: failed.batchId, record }));
    lease.failed = null;
    return true;
  }
}

/**
 * One exchange at a time per scope: a later one waits for the one in flight, whose answer it builds
 * on. `giveBack`: the slice is returned (nothing is admitted on it from now).
 */
async function send(scope: string, lease: ScopeLease, exchange: Exchanger, giveBack: boolean, ctx: BackgroundWork): Promise<void> {
  while (lease.inFlight !== null && lease.flying(Date.now())) await lease.inFlight;
  const generation = lease.generation;
  // Until this call says what it keeps, nothing is admitted on the slice.
  lease.flightAllowance = 0;
  const flight = (async (): Promise<void> => {
    if (giveBack) lease.dropSlice();
    if (!(await resendFailed(scope, lease, exchange))) {
      lease.dropSlice();
      return;
    }
    const now = Date.now();
    const want = giveBack ? 0 : lease.want(now);
    // Nothing to tell and a slice that still serves: no call.
    if (!giveBack && !lease.hasNews() && want === lease.lastWant && lease.onSlice(now) > 0) return;
    // What may be admitted on the slice while this call is out: a share of what is asked for, which the ledger keeps
    // (a larger share would keep a lease from shrinking, after a lowered limit, say).
    const keep = giveBack ? 0 : Math.max(0, Math.min(lease.onSlice(now), Math.ceil(want * IN_FLIGHT_SHARE)));
    lease.flightAllowance = keep;
    lease.sendingNanos = lease.unannouncedNanos;
    const call: ExchangeCall = { announced: [...lease.unannounced.values()], records: lease.records, released: lease.released, want, keep };
    lease.unannounced.clear();
    lease.unannouncedNanos = 0;
    lease.records = [];
    lease.released = [];
    lease.lastWant = want;
    const batchId = crypto.randomUUID();
    try {
      const reply = await withinMs(exchange(scope, call, batchId), EXCHANGE_TIMEOUT_MS, "a lease exchange");
      // An admin change since this call left dropped the slice: its answer is not used (the next exchange asks again).
      lease.slice = lease.generation === generation ? reply.lease : 0;
      lease.marginMs = marginOf(exchange.leaseTtlMs);
      lease.usableUntil = lease.slice > 0 ? now + exchange.leaseTtlMs - lease.marginMs : 0;
    } catch {
      // Sent again later with its batch id (the ledger books it once); meanwhile the slice is used no
      // more: the old lease, still the ledger's until it expires, backs what was admitted on it.
      lease.failed = { batchId, call, tries: 0 };
      lease.dropSlice();
    } finally {
      lease.sendingNanos = 0;
    }
  })();
  lease.inFlightAt = Date.now();
  lease.inFlight = flight;
  try {
    await flight;
  } finally {
    if (lease.inFlight === flight) lease.inFlight = null;
  }
  // What arrived meanwhile goes in the next one; a failed one is tried again; a quiet slice goes back.
  if (lease.failed !== null) schedule(scope, lease, ctx, exchange, EXCHANGE_RETRY_MS);
  else if (lease.hasNews()) schedule(scope, lease, ctx, exchange);
  scheduleIdleCheck(scope, lease, ctx, exchange);
}
