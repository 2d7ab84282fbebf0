/**
 * The isolate's side of budget leases (src/budgets/lease-holder.ts) against a
 * real SpendLedger: what a holder admits while its exchange is in flight stays
 * backed by its lease, however another isolate reserves meanwhile; a failed
 * exchange is sent again with its batch id and books its records once.
 */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { admitOnLease, recordOnLease, type ExchangeCall, type Exchanger } from "../../src/budgets/lease-holder.ts";
import type { SpendLedger } from "../../src/durable/spend-ledger.ts";
import { usdToNanos } from "../../src/metering/types.ts";

type Stub = DurableObjectStub<SpendLedger>;
const MODEL = "openai/mock-model";
const usd = usdToNanos;

function newLedger(): { scope: string; stub: Stub } {
  const ns = env.SPEND_LEDGER;
  if (ns === undefined) throw new Error("wrangler.toml binds SPEND_LEDGER");
  const scope = `key:holder-${crypto.randomUUID()}`;
  return { scope, stub: ns.getByName(scope) };
}

/** An exchanger to the stub whose calls wait while `hold` is set, and that fails while `failing` is; the calls it saw. */
function gatedExchanger(stub: Stub) {
  const holder = `test-holder-${crypto.randomUUID()}`;
  const state = { hold: null as Promise<void> | null, failing: false, calls: [] as Array<{ call: ExchangeCall; batchId: string }> };
  const exchange = async (scope: string, call: ExchangeCall, batchId: string) => {
    state.calls.push({ call, batchId });
    if (state.hold !== null) await state.hold;
    if (state.failing) throw new Error("the ledger is unreachable");
    return stub.exchange(scope, { holder, batchId, ...call, leaseTtlMs: 30_000, reservationTtlMs: 60_000 });
  };
  const exchanger: Exchanger = Object.assign(exchange, { leaseTtlMs: 30_000 });
  return { exchanger, state };
}

/** A context for the background work, and a wait long enough for a batched exchange to go and come back (not for an idle slice's return, after 2 s). */
function context() {
  return {
    ctx: { waitUntil: (p: Promise<unknown>) => void p.catch(() => {}) },
    settled: (ms = 200): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms)),
  };
}

const request = (id: string, nanos: number) => ({ id, nanos, model: MODEL, user: null });

async function committed(stub: Stub, scope: string): Promise<number> {
  const s = await stub.status(scope);
  return (s?.spentNanos ?? 0) + (s?.reservedNanos ?? 0) + (s?.leasedNanos ?? 0);
}

describe("a lease holder", () => {
  it("keeps what it admits while an exchange is out backed by its lease: the budget is never committed past its limit", async () => {
    const { scope, stub } = newLedger();
    await stub.setBudget(scope, { limitUsd: 1, period: "day", mode: "hard" });
    const { exchanger, state } = gatedExchanger(stub);
    const { ctx, settled } = context();
    // No slice yet: the first request is reserved on its own (by the caller) and a slice is asked for, four of it,
    // within half of what is left.
    expect(admitOnLease(scope, request("r0", usd(0.2)), ctx, exchanger)).toBe(false);
    await settled();
    expect((await stub.status(scope))?.leasedNanos).toBe(usd(0.5));
    // Admitted on the slice; its exchange goes out and is held there. It may admit a quarter of what it asks for
    // (0.8) while the call is out: the ledger is told to keep that much.
    let open = (): void => {};
    state.hold = new Promise<void>((resolve) => (open = resolve));
    expect(admitOnLease(scope, request("r1", usd(0.2)), ctx, exchanger)).toBe(true);
    await new Promise((r) => setTimeout(r, 80));
    expect(state.calls.at(-1)?.call).toMatchObject({ announced: [{ id: "r1" }], keep: usd(0.2) });
    // Meanwhile: one more on the slice (no more: only what the ledger keeps), and another isolate reserves the rest.
    expect(admitOnLease(scope, request("r2", usd(0.2)), ctx, exchanger)).toBe(true);
    expect(admitOnLease(scope, request("r3", usd(0.1)), ctx, exchanger)).toBe(false);
    expect((await stub.reserve(scope, { id: "elsewhere", nanos: usd(0.5), model: MODEL, user: null, ttlMs: 60_000 })).admitted).toBe(true);
    // The exchange answers; the next one (announcing r2) is held in its turn.
    let openNext = (): void => {};
    state.hold = new Promise<void>((resolve) => (openNext = resolve));
    open();
    await settled();
    // r2 is not announced yet, but the lease still backs it: another isolate finds no room for $0.15.
    expect(await committed(stub, scope)).toBeLessThanOrEqual(usd(1));
    expect((await stub.reserve(scope, { id: "elsewhere-2", nanos: usd(0.15), model: MODEL, user: null, ttlMs: 60_000 })).admitted).toBe(false);
    state.hold = null;
    openNext();
    await settled();
    // r1 and r2 are reservations of their own now, backed by the lease that admitted them.
    expect(await committed(stub, scope)).toBeLessThanOrEqual(usd(1));
    expect((await stub.status(scope))?.reservedNanos).toBe(usd(0.5) + usd(0.4));
  });

  it("sends a failed exchange again with its batch id: its records are booked once", async () => {
    const { scope, stub } = newLedger();
    const { exchanger, state } = gatedExchanger(stub);
    const { ctx, settled } = context();
    const record = { id: "done-1", at: Date.now(), model: MODEL, user: null, nanos: 1_234, promptTokens: 1, completionTokens: 1, estimated: false, unpriced: false };
    state.failing = true;
    recordOnLease(scope, record, ctx, exchanger);
    await new Promise((r) => setTimeout(r, 80));
    state.failing = false;
    await settled(2_400); // the retry, after EXCHANGE_RETRY_MS
    const batches = state.calls.map((c) => c.batchId);
    expect(batches.length).toBeGreaterThanOrEqual(2);
    expect(batches[1]).toBe(batches[0]);
    expect((await stub.totals(scope)).day.spentNanos).toBe(1_234);
  });
});
