/**
 * Budget leases at the ledger (issue 16): simulated lease holders race on one
 * hard budget through the SpendLedger's `exchange` and `reserve`, as
 * budgets/lease-holder.ts does (a request is admitted on the holder's slice
 * when it fits, else reserved on its own), with random worst cases and actual
 * costs, holders dying mid-lease and the limit lowered mid-run. Every run:
 * settled spend within the limit, the ledger's totals equal to the sum of what
 * each request cost (and the worst case of what a dead holder left in
 * flight), to the nano-dollar, and nothing reserved or leased once the
 * leases and reservations have expired.
 */
import { env, runDurableObjectAlarm } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { AnnouncedRequest, LeaseExchange, SpendRecord } from "../../src/budgets/ledger-types.ts";
import type { SpendLedger } from "../../src/durable/spend-ledger.ts";
import { leaseGrant } from "../../src/budgets/ledger/rules.ts";
import { usdToNanos } from "../../src/metering/types.ts";

type Stub = DurableObjectStub<SpendLedger>;
const MODEL = "openai/mock-model";
const LEASE_TTL_MS = 150;
const RESERVATION_TTL_MS = 300;

function newLedger(): { scope: string; stub: Stub } {
  const ns = env.SPEND_LEDGER;
  if (ns === undefined) throw new Error("wrangler.toml binds SPEND_LEDGER");
  const scope = `key:lease-${crypto.randomUUID()}`;
  return { scope, stub: ns.getByName(scope) };
}

/** A small seeded generator, so that a failing run can be replayed. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1_664_525 + 1_013_904_223) >>> 0;
    return s / 2 ** 32;
  };
}

const record = (id: string, nanos: number): SpendRecord => ({ id, at: Date.now(), model: MODEL, user: null, nanos, promptTokens: 10, completionTokens: 5, estimated: false, unpriced: false });

/** One simulated isolate: its slice as last answered, and what it admitted on it since its last exchange. */
class Holder {
  readonly id = crypto.randomUUID();
  slice = 0;
  alive = true;
  unannounced: AnnouncedRequest[] = [];
  /** Admitted (on the slice or reserved) and not finished: id → worst case. */
  readonly inFlight = new Map<string, number>();
  finished: SpendRecord[] = [];

  constructor(private readonly stub: Stub, private readonly scope: string) {}

  left(): number {
    return this.slice - this.unannounced.reduce((sum, r) => sum + r.nanos, 0);
  }

  async admit(id: string, worst: number): Promise<boolean> {
    if (this.left() >= worst) {
      this.unannounced.push({ id, nanos: worst, model: MODEL, user: null });
      this.inFlight.set(id, worst);
      return true;
    }
    const answer = await this.stub.reserve(this.scope, { id, nanos: worst, model: MODEL, user: null, ttlMs: RESERVATION_TTL_MS });
    if (answer.admitted) this.inFlight.set(id, worst);
    return answer.admitted;
  }

  finish(id: string, cost: number): void {
    this.inFlight.delete(id);
    this.finished.push(record(id, cost));
  }

  async exchange(want: number): Promise<void> {
    const ex: LeaseExchange = {
      holder: this.id, batchId: crypto.randomUUID(), announced: this.unannounced, records: this.finished, released: [],
      want, keep: 0, leaseTtlMs: LEASE_TTL_MS, reservationTtlMs: RESERVATION_TTL_MS,
    };
    this.unannounced = [];
    this.finished = [];
    this.slice = (await this.stub.exchange(this.scope, ex)).lease;
  }
}

describe("leases at the ledger", () => {
  it("a lease is at most its share of what is left, and nothing at or past the limit", () => {
    expect(leaseGrant(1_000, 10_000n, 0)).toBe(1_000);
    expect(leaseGrant(100_000, 10_000n, 0)).toBe(5_000); // half, with no other holder
    expect(leaseGrant(100_000, 10_000n, 3)).toBe(2_000); // a fifth, with three others
    expect(leaseGrant(100_000, 0n, 0)).toBe(0);
    expect(leaseGrant(100_000, -5n, 0)).toBe(0);
  });

  for (const seed of [1, 2, 3]) {
    it(`8 holders racing, 2 of them dying and the limit lowered mid-run, never overspend and leave the books exact (seed ${seed})`, async () => {
      const rand = random(seed);
      const { scope, stub } = newLedger();
      const limit = usdToNanos(2);
      await stub.setBudget(scope, { limitUsd: 2, period: "day", mode: "hard" });
      const holders = Array.from({ length: 8 }, () => new Holder(stub, scope));
      const costs = new Map<string, number>(); // what each finished request cost
      const dead = new Set<Holder>();
      let lowered: { limit: number; committed: number } | null = null;
      let n = 0;
      let refused = 0;
      for (let round = 0; round < 24; round++) {
        if (round === 4) {
          // Two holders die with requests in flight and slices held.
          for (const h of holders.slice(0, 2)) {
            h.alive = false;
            dead.add(h);
          }
        }
        if (round === 10) {
          const before = await stub.status(scope);
          const committed = (before?.spentNanos ?? 0) + (before?.reservedNanos ?? 0) + (before?.leasedNanos ?? 0);
          await stub.setBudget(scope, { limitUsd: 1.5, period: "day", mode: "hard" });
          lowered = { limit: usdToNanos(1.5), committed };
        }
        await Promise.all(holders.filter((h) => h.alive).map(async (h) => {
          for (let k = 0; k < 4; k++) {
            const id = `r${seed}-${n++}`;
            if (!(await h.admit(id, 1_000_000 + Math.floor(rand() * 20_000_000)))) refused++;
          }
          for (const [id, worst] of [...h.inFlight]) {
            if (rand() < 0.6) {
              const cost = Math.floor(worst * rand());
              costs.set(id, cost);
              h.finish(id, cost);
            }
          }
          await h.exchange(Math.floor(rand() * 200_000_000));
        }));
        const status = await stub.status(scope);
        const current = lowered?.limit ?? limit;
        // Settled spend within the limit in force; a lowered one binds what is admitted after it.
        expect(status?.spentNanos ?? 0).toBeLessThanOrEqual(Math.max(current, lowered?.committed ?? 0));
        expect((status?.spentNanos ?? 0) + (status?.reservedNanos ?? 0) + (status?.leasedNanos ?? 0)).toBeLessThanOrEqual(Math.max(current, lowered?.committed ?? 0));
      }
      // The living finish everything and give their slices back.
      for (const h of holders.filter((x) => x.alive)) {
        for (const [id, worst] of [...h.inFlight]) {
          const cost = Math.floor(worst / 2);
          costs.set(id, cost);
          h.finish(id, cost);
        }
        await h.exchange(0);
      }
      // The dead: what they announced is charged at its worst case when its reservation expires; what they had not announced was never told.
      let expiredNanos = 0;
      const deadIds = new Set<string>();
      for (const h of dead) {
        const unannounced = new Set(h.unannounced.map((r) => r.id));
        for (const [id, worst] of h.inFlight) if (!unannounced.has(id)) {
          expiredNanos += worst;
          deadIds.add(id);
        }
      }
      await new Promise((resolve) => setTimeout(resolve, RESERVATION_TTL_MS + 50));
      await runDurableObjectAlarm(stub);
      const status = await stub.status(scope);
      expect([status?.reservedNanos, status?.leasedNanos]).toEqual([0, 0]);
      const settled = [...costs.values()].reduce((a, b) => a + b, 0);
      expect(status?.spentNanos).toBe(settled + expiredNanos);
      expect(status?.spentNanos ?? 0).toBeLessThanOrEqual(Math.max(lowered?.limit ?? limit, lowered?.committed ?? 0));
      // The run reached the limit (requests were refused) and a dead holder left requests in flight.
      expect(refused).toBeGreaterThan(0);
      expect(status?.spentNanos ?? 0).toBeGreaterThan(usdToNanos(1));
      expect(deadIds.size).toBeGreaterThan(0);
    });
  }

  it("a retried exchange changes nothing twice; a budget made soft or removed leaves no lease", async () => {
    const { scope, stub } = newLedger();
    await stub.setBudget(scope, { limitUsd: 1, period: "day", mode: "hard" });
    const ex: LeaseExchange = {
      holder: "h1", batchId: "b1", announced: [{ id: "a1", nanos: 1_000_000, model: MODEL, user: null }], records: [record("x1", 500)], released: [],
      want: 100_000_000, keep: 0, leaseTtlMs: 60_000, reservationTtlMs: 60_000,
    };
    const first = await stub.exchange(scope, ex);
    expect(first.lease).toBe(100_000_000);
    const again = await stub.exchange(scope, ex);
    expect(again.lease).toBe(100_000_000);
    expect(again.status).toMatchObject({ spentNanos: 500, reservedNanos: 1_000_000, leasedNanos: 100_000_000 });
    await stub.setBudget(scope, { limitUsd: 1, period: "day", mode: "soft" });
    expect(await stub.status(scope)).toMatchObject({ leasedNanos: 0 });
    const soft = await stub.exchange(scope, { ...ex, batchId: "b2", announced: [], records: [record("x2", 700)] });
    expect(soft.lease).toBe(0);
    expect(soft.status).toMatchObject({ spentNanos: 1_200, leasedNanos: 0 });
  });
});
