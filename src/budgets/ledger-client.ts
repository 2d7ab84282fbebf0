/**
 * The isolate's side of the SpendLedger Durable Objects (DESIGN.md "Reserve,
 * then settle"). Only scopes with a budget are reserved on, concurrently: one
 * round of Durable Object calls before forwarding, none at all for a request
 * no budget covers. Every request's actual spend goes to every scope it
 * belongs to after the response, in batches, in the background.
 *
 * Which scopes have a budget: this isolate remembers what each ledger last
 * answered (a reservation or a settle both return the scope's status). A scope
 * it has not heard of is reserved on, which is how a budget is found; a scope
 * heard to have none is skipped until that is HEARD_TTL_MS old or a settle
 * (which follows every request) says otherwise. An admin change of an existing
 * budget is pushed to its ledger, so it binds the next reservation everywhere;
 * a budget on a scope that had none binds other isolates from their next
 * settle on that scope (within HEARD_TTL_MS at most).
 */
import type { BackgroundWork } from "../routing/health.ts";
import { IsolateCache } from "../config/isolate-cache.ts";
import type { Env } from "../env.ts";
import { GatewayError } from "../http/errors.ts";
import type { BudgetStatus, ReserveAnswer, ReserveRequest, SpendRecord } from "./ledger-types.ts";
import { usdToNanos } from "../metering/types.ts";

export type Ledgers = NonNullable<Env["SPEND_LEDGER"]>;

const HEARD_TTL_MS = 30_000;
/** Settles wait this long for others to join their batch: a hot key's ledger then takes a few calls a second per isolate, not one per request. */
export const SETTLE_BATCH_MS = 25;
/** Records sent without waiting for the batch window. */
const SETTLE_BATCH_MAX = 256;
/** A failed settle is tried again once, after this long, before its records are logged as unsaved. */
const SETTLE_RETRY_MS = 1_000;

const heard = new IsolateCache<BudgetStatus | null>(HEARD_TTL_MS, 10_000);

export const ledgerOf = (ns: Ledgers, scope: string) => ns.get(ns.idFromName(scope));

/** What this isolate last heard of a scope's budget: a status, null (no budget), or undefined (not heard). */
export const heardOf = (scope: string): BudgetStatus | null | undefined => heard.get(scope);

/** An admin change in this isolate: the next request asks the ledger again. */
export function forgetScope(scope: string): void {
  heard.delete(scope);
}

export function remember(scope: string, status: BudgetStatus | null): void {
  heard.set(scope, status);
}

export interface ScopeAnswer {
  readonly scope: string;
  readonly answer: ReserveAnswer;
}

/**
 * Reserves `request` on each of `scopes` that may have a budget, concurrently.
 * `held` hears of each reservation as soon as its ledger has made it, so that
 * the caller can give them all back even when another scope's call fails. A
 * ledger that cannot be reached fails the request (503): admitting it
 * unchecked could overspend a hard budget. A refusal from a scope this isolate
 * still owes settles to (its batch has not gone, or has not been answered:
 * the requests before this one hold their worst case there until it lands) is
 * asked again once those settles are in, so that a request is refused only when
 * the budget cannot hold it once every finished request here has settled.
 */
export async function reserveOn(ns: Ledgers, ctx: BackgroundWork, scopes: readonly string[], request: ReserveRequest, held: (scope: string) => void): Promise<ScopeAnswer[]> {
  const asked = scopes.filter((scope) => heard.get(scope) !== null);
  if (asked.length === 0) return [];
  const settled = await Promise.allSettled(
    asked.map(async (scope) => {
      let answer = await ledgerOf(ns, scope).reserve(scope, request);
      if (!answer.admitted) {
        const owed = settlesOwed(ns, ctx, scope);
        if (owed !== null) {
          await owed;
          answer = await ledgerOf(ns, scope).reserve(scope, request);
        }
      }
      remember(scope, answer.status);
      if (answer.admitted && answer.status !== null) held(scope);
      return { scope, answer };
    }),
  );
  const answers: ScopeAnswer[] = [];
  for (const result of settled) {
    if (result.status === "fulfilled") answers.push(result.value);
    else {
      console.error(JSON.stringify({ msg: "ledger_unreachable", error: String(result.reason) }));
      throw new GatewayError(503, "The gateway could not check this request against its budgets; try again shortly.", { code: "budget_unavailable" });
    }
  }
  return answers;
}

/** Drops a request's reservations (it failed: no provider charged it), in the background. */
export function releaseOn(ns: Ledgers, ctx: BackgroundWork, scopes: readonly string[], id: string): void {
  if (scopes.length === 0) return;
  const released = Promise.all(scopes.map((scope) => ledgerOf(ns, scope).release(scope, [id]))).catch((err: unknown) => {
    // Unreleased, the reservation expires by alarm and is charged: logged so an operator can tell why.
    console.error(JSON.stringify({ msg: "ledger_release_failed", id, error: String(err) }));
  });
  ctx.waitUntil(released);
}

/** Records waiting for their scope's next settle call; `sent` once they have gone ahead of their timer. */
interface Batch {
  readonly records: SpendRecord[];
  sent: boolean;
}
const batches = new Map<string, Batch>();
/** Settle calls made and not yet answered, per scope. */
const inFlight = new Map<string, Set<Promise<void>>>();

/**
 * Sends one batch to its scope's ledger. The batch gets one id, reused by its retry: the ledger books
 * a batch id once, so a retry after a settle that was booked but whose answer was lost counts
 * nothing twice. (Records without a reservation are idempotent only per batch: a record must never
 * be sent again in another batch.)
 */
async function settleBatch(ns: Ledgers, scope: string, records: SpendRecord[]): Promise<void> {
  const batchId = crypto.randomUUID();
  for (let attempt = 1; ; attempt++) {
    try {
      remember(scope, await ledgerOf(ns, scope).settle(scope, records, batchId));
      return;
    } catch (err) {
      if (attempt >= 2) {
        // The batch may have been booked after all (an answer lost): replaying these lines by hand
        // with their batchId is safe, as the ledger ignores a batch id it has booked (for an hour).
        for (const record of records) console.error(JSON.stringify({ msg: "spend_unsaved", scope, batchId, record, error: String(err) }));
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, SETTLE_RETRY_MS));
    }
  }
}

/** Sends `batch` now (it leaves the scope's open slot), counted in flight until its ledger answers. */
function send(ns: Ledgers, scope: string, batch: Batch): Promise<void> {
  batch.sent = true;
  if (batches.get(scope) === batch) batches.delete(scope);
  const calls = inFlight.get(scope) ?? new Set<Promise<void>>();
  inFlight.set(scope, calls);
  const call = settleBatch(ns, scope, batch.records).finally(() => {
    calls.delete(call);
    if (calls.size === 0 && inFlight.get(scope) === calls) inFlight.delete(scope);
  });
  calls.add(call);
  return call;
}

/** Until every settle this isolate owes `scope` has been answered: its open batch, sent now, and those already sent; null when it owes none. */
function settlesOwed(ns: Ledgers, ctx: BackgroundWork, scope: string): Promise<void> | null {
  const open = batches.get(scope);
  if (open !== undefined) ctx.waitUntil(send(ns, scope, open));
  const calls = inFlight.get(scope);
  return calls === undefined || calls.size === 0 ? null : Promise.all(calls).then(() => undefined);
}

/**
 * Writes a request's spend to each of its scopes. The request that opens a
 * scope's batch sends it (after SETTLE_BATCH_MS, under its own `waitUntil`, so
 * the call is made in a context that is still alive); records of other
 * requests that arrive meanwhile ride along.
 */
export function recordSpend(ns: Ledgers, ctx: BackgroundWork, scopes: readonly string[], record: SpendRecord): void {
  for (const scope of scopes) {
    const open = batches.get(scope);
    if (open !== undefined) {
      open.records.push(record);
      if (open.records.length >= SETTLE_BATCH_MAX || nearItsLimit(scope)) ctx.waitUntil(send(ns, scope, open));
      continue;
    }
    const batch: Batch = { records: [record], sent: false };
    batches.set(scope, batch);
    if (nearItsLimit(scope)) {
      ctx.waitUntil(send(ns, scope, batch));
      continue;
    }
    const sent = new Promise<void>((resolve) => setTimeout(resolve, SETTLE_BATCH_MS)).then(() => (batch.sent ? undefined : send(ns, scope, batch)));
    ctx.waitUntil(sent);
  }
}

/** The share of a hard budget left below which settles are not batched. */
const NEAR_LIMIT_SHARE = 0.25;

/**
 * Whether the scope's hard budget, as last heard, has less than a quarter of its limit left: then a
 * settle goes at once, not after the batch window, so that a request arriving at another isolate
 * right after this one finished is not refused for this one's worst case still held (the refusals
 * that matter happen near the limit, where every call is worth it).
 */
function nearItsLimit(scope: string): boolean {
  const status = heard.get(scope);
  if (status === null || status === undefined || status.budget.mode !== "hard") return false;
  const limit = usdToNanos(status.budget.limitUsd);
  return limit - status.spentNanos - status.reservedNanos < limit * NEAR_LIMIT_SHARE;
}
