/**
 * The isolate's side of the SpendLedger Durable Objects (DESIGN.md "Reserve,
 * then settle"). Only scopes with a budget are reserved on, concurrently: one
 * round of Durable Object calls before forwarding, none at all for a request
 * no budget covers. Every request's actual spend goes to every scope it
 * belongs to after the response, in batches, in the background.
 *
 * Which scopes have a budget is known without asking a ledger (issue 16):
 * what each ledger last answered (a reservation or a settle both return the
 * scope's status), else the configuration the admin API writes beside it (KV
 * `budget:<scope>`, cached HEARD_TTL_MS). Only a hard budget is reserved on: a
 * soft one admits everything, and its warnings come from the status last
 * heard. An admin change of an existing budget is pushed to its ledger, so it
 * binds the next reservation everywhere; a budget on a scope that had none
 * binds other isolates once their cached configuration or their next settle on
 * that scope says so (within HEARD_TTL_MS, plus KV's propagation to their
 * location, up to a minute).
 */
import type { BackgroundWork } from "../routing/health.ts";
import { IsolateCache } from "../config/isolate-cache.ts";
import type { Env } from "../env.ts";
import { GatewayError } from "../http/errors.ts";
import { budgetSchema, type Budget, type BudgetStatus, type ReserveAnswer, type ReserveRequest, type SpendRecord } from "./ledger-types.ts";
import { usdToNanos } from "../metering/types.ts";
import { admitOnLease, forgetLease, holderId, holdsLease, holdsStake, recordOnLease, returnLease, type ExchangeCall, type Exchanger, type ExchangeReply } from "./lease-holder.ts";
import type { Settings } from "../config/settings.ts";

export type Ledgers = NonNullable<Env["SPEND_LEDGER"]>;

const HEARD_TTL_MS = 30_000;
/** Settles wait this long for others to join their batch: a hot key's ledger then takes a few calls a second per isolate, not one per request. */
export const SETTLE_BATCH_MS = 25;
/** Records sent without waiting for the batch window. */
const SETTLE_BATCH_MAX = 256;
/** A failed settle is tried again once, after this long, before its records are logged as unsaved. */
const SETTLE_RETRY_MS = 1_000;

const heard = new IsolateCache<BudgetStatus | null>(HEARD_TTL_MS, 10_000);
/** The budgets the admin API wrote to KV, by scope (null: none), as this isolate last read them. */
const configured = new IsolateCache<Budget | null>(HEARD_TTL_MS, 10_000);

/** KV's key for a scope's budget (written by the admin API beside the ledger's copy). */
export const BUDGET_PREFIX = "budget:";

/** A budget this isolate knows is there but cannot read (a record that does not parse): treated as hard, so its ledger is asked. */
const UNREADABLE_BUDGET: Budget = { limitUsd: 0, period: "day", mode: "hard" };

async function configuredBudget(kv: KVNamespace, scope: string): Promise<Budget | null> {
  const known = configured.get(scope);
  if (known !== undefined) return known;
  const raw = await kv.get(BUDGET_PREFIX + scope);
  let budget: Budget | null = null;
  if (raw !== null) {
    try {
      const parsed = budgetSchema.safeParse(JSON.parse(raw));
      // A record that does not parse is a budget all the same: its ledger, asked, has the one it enforces.
      budget = parsed.success ? parsed.data : UNREADABLE_BUDGET;
    } catch {
      budget = UNREADABLE_BUDGET;
    }
  }
  configured.set(scope, budget);
  return budget;
}

/** A scope's budget as this isolate knows it, without asking its ledger: what the ledger last said, else the configuration. */
export async function budgetOf(kv: KVNamespace, scope: string): Promise<Budget | null> {
  const status = heard.get(scope);
  if (status !== undefined) return status?.budget ?? null;
  return configuredBudget(kv, scope);
}

export const ledgerOf = (ns: Ledgers, scope: string) => ns.get(ns.idFromName(scope));

/** What this isolate last heard of a scope's budget: a status, null (no budget), or undefined (not heard). */
export const heardOf = (scope: string): BudgetStatus | null | undefined => heard.get(scope);

/** An admin change in this isolate: the next request reads the scope's budget again. */
export function forgetScope(scope: string): void {
  heard.delete(scope);
  configured.delete(scope);
  forgetLease(scope);
}

export function remember(scope: string, status: BudgetStatus | null): void {
  heard.set(scope, status);
}

/** A scope's status as last heard, or, before its ledger has answered here, its configured budget with nothing spent. */
function statusKnown(scope: string, budget: Budget | null): BudgetStatus {
  const status = heard.get(scope);
  if (status !== undefined && status !== null) return status;
  return { scope, budget: budget ?? UNREADABLE_BUDGET, spentNanos: 0, reservedNanos: 0, leasedNanos: 0, periodStart: null, resetsAt: null };
}

export interface ScopeAnswer {
  readonly scope: string;
  readonly answer: ReserveAnswer;
}

/**
 * The calls lease holders make (lease-holder.ts), named by their batch id: one the holder sends again
 * after a failure changes nothing twice. Throws when the call failed (the holder sends it again).
 */
export function exchangerFor(ns: Ledgers, settings: Pick<Settings, "reservationTtlMs" | "leaseTtlMs">): Exchanger {
  // Made once per binding and settings (both last as long as the isolate's env), not per request.
  const made = exchangers.get(ns);
  if (made !== undefined && made.settings === settings) return made.exchanger;
  const { reservationTtlMs, leaseTtlMs } = settings;
  const exchange = async (scope: string, call: ExchangeCall, batchId: string): Promise<ExchangeReply> => {
    try {
      const answer = await ledgerOf(ns, scope).exchange(scope, { holder: holderId(), batchId, ...call, leaseTtlMs, reservationTtlMs });
      remember(scope, answer.status);
      return answer;
    } catch (err) {
      console.error(JSON.stringify({ msg: "ledger_exchange_failed", scope, batchId, error: String(err) }));
      throw err;
    }
  };
  const exchanger = Object.assign(exchange, { leaseTtlMs });
  exchangers.set(ns, { settings, exchanger });
  return exchanger;
}

const exchangers = new WeakMap<Ledgers, { settings: object; exchanger: Exchanger }>();

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
export async function reserveOn(
  ns: Ledgers,
  kv: KVNamespace,
  ctx: BackgroundWork,
  scopes: readonly string[],
  request: ReserveRequest,
  held: (scope: string, how: "reserved" | "leased") => void,
  exchange: Exchanger,
): Promise<ScopeAnswer[]> {
  const budgets = await Promise.all(scopes.map((scope) => budgetOf(kv, scope))).catch((err: unknown) => {
    // Which budgets bind cannot be read: admitting the request unchecked could overspend one.
    console.error(JSON.stringify({ msg: "budget_config_unreadable", error: String(err) }));
    throw new GatewayError(503, "The gateway could not check this request against its budgets; try again shortly.", { code: "budget_unavailable" });
  });
  const asked = scopes.flatMap((scope, i) => {
    const budget = budgets[i];
    return budget?.mode === "hard" ? [{ scope, budget }] : [];
  });
  // A soft budget admits everything: its status (for warnings and a degrade) is the one last heard, this request's worst case held in it.
  const soft: ScopeAnswer[] = scopes.flatMap((scope, i) => {
    const budget = budgets[i];
    if (budget?.mode !== "soft") return [];
    const status = statusKnown(scope, budget);
    return [{ scope, answer: { admitted: true as const, status: { ...status, reservedNanos: status.reservedNanos + request.nanos } } }];
  });
  if (asked.length === 0) return soft;
  const settled = await Promise.allSettled(
    asked.map(async ({ scope, budget }) => {
      // On this isolate's slice of the budget when it fits: no ledger call before forwarding.
      if (admitOnLease(scope, { id: request.id, nanos: request.nanos, model: request.model, user: request.user }, ctx, exchange)) {
        held(scope, "leased");
        return { scope, answer: { admitted: true as const, status: statusKnown(scope, budget) } };
      }
      let answer = await ledgerOf(ns, scope).reserve(scope, request);
      if (!answer.admitted) {
        // Asked again once what this isolate holds there is in: its own slice, and the settles it owes.
        const owed = settlesOwed(ns, ctx, scope);
        if (owed !== null || holdsStake(scope)) {
          await Promise.all([owed, returnLease(scope, ctx, exchange)]);
          answer = await ledgerOf(ns, scope).reserve(scope, request);
        }
      }
      remember(scope, answer.status);
      if (answer.admitted && answer.status !== null) held(scope, "reserved");
      return { scope, answer };
    }),
  );
  const answers: ScopeAnswer[] = [...soft];
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
export function recordSpend(ns: Ledgers, ctx: BackgroundWork, scopes: readonly string[], record: SpendRecord, settings: Pick<Settings, "reservationTtlMs" | "leaseTtlMs">): void {
  for (const scope of scopes) {
    // A scope this isolate holds a lease on hears of its spend at its next exchange.
    if (holdsLease(scope)) {
      recordOnLease(scope, record, ctx, exchangerFor(ns, settings));
      continue;
    }
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
  return limit - status.spentNanos - status.reservedNanos - status.leasedNanos < limit * NEAR_LIMIT_SHARE;
}
