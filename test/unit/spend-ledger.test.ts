import { env, evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { MAX_BATCH_ID, type Budget, type BudgetAlert, type BudgetStatus, type ReserveRequest, type SpendRecord } from "../../src/budgets/ledger-types.ts";
import { SpendLedger as SpendLedgerClass, type SpendLedger } from "../../src/durable/spend-ledger.ts";
import {
  alertThresholds,
  EXPIRED_MEMORY_MS,
  FINISHED_MEMORY_MS,
  MAX_RECORD_NAME,
  nextPruneAt,
  normaliseRecord,
  periodWindow,
  PRUNE_AGAIN_MS,
  PRUNE_BATCH_ROWS,
  PRUNE_EVERY_MS,
} from "../../src/budgets/ledger/rules.ts";
import { usdToNanos } from "../../src/metering/types.ts";

type Stub = DurableObjectStub<SpendLedger>;

/** A fresh scope (so no state leaks between tests) and its ledger. */
function newLedger(): { scope: string; stub: Stub } {
  const ns = env.SPEND_LEDGER;
  if (ns === undefined) throw new Error("wrangler.toml binds SPEND_LEDGER");
  const scope = `key:${crypto.randomUUID()}`;
  return { scope, stub: ns.getByName(scope) };
}

const usd = usdToNanos;
const MODEL = "openai/gpt-5-mini";

const reservation = (id: string, nanos: number, extra: Partial<ReserveRequest> = {}): ReserveRequest => ({
  id, nanos, model: MODEL, user: null, ttlMs: 60_000, ...extra,
});

const record = (id: string, nanos: number, extra: Partial<SpendRecord> = {}): SpendRecord => ({
  id, at: Date.now(), model: MODEL, user: null, nanos, promptTokens: 100, completionTokens: 20, estimated: false, unpriced: false, ...extra,
});

/** A new settle batch's id, as the isolate makes one per batch (its retry reuses it). */
const newBatch = (): string => crypto.randomUUID();

const budget = (limitUsd: number, extra: Partial<Budget> = {}): Budget => ({ limitUsd, period: "month", mode: "hard", ...extra });

/** A fixed clock, years ahead of the real one so that no alarm the ledger sets fires by itself during the test. */
function setClock(iso: string): number {
  const at = Date.parse(iso);
  vi.useFakeTimers({ toFake: ["Date"], now: at });
  return at;
}

afterEach(() => vi.useRealTimers());

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** When the ledger's alarm is set for (null: none). */
const alarmOf = (stub: Stub): Promise<number | null> => runInDurableObject(stub, (_o: SpendLedger, state) => state.storage.getAlarm());

/** The ids the ledger still remembers as finished. */
const finishedIds = (stub: Stub): Promise<string[]> =>
  runInDurableObject(stub, (_o: SpendLedger, state) => state.storage.sql.exec<{ id: string }>("SELECT id FROM finished ORDER BY id").toArray().map((r) => r.id));

/** The settle batch ids the ledger still remembers. */
const batchIds = (stub: Stub): Promise<string[]> =>
  runInDurableObject(stub, (_o: SpendLedger, state) => state.storage.sql.exec<{ id: string }>("SELECT id FROM settled_batches ORDER BY id").toArray().map((r) => r.id));

/** How many counter rows the ledger holds (one per period key, model and user). */
const usageRowCount = (stub: Stub): Promise<number> =>
  runInDurableObject(stub, (_o: SpendLedger, state) => state.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM usage").one().n);

interface Delivery {
  status: number;
  headers: Record<string, string>;
  body: BudgetAlert;
}

const webhookUrl = (tag: string, query = ""): string => `${env.MOCK_UPSTREAM_URL}/__mock/webhook/${tag}${query}`;

async function deliveries(tag: string): Promise<Delivery[]> {
  return (await fetch(webhookUrl(tag))).json();
}

/** Waits (by polling, not by the faked Date) until the receiver has `count` deliveries; returns them. */
async function deliveriesWhen(tag: string, count: number): Promise<Delivery[]> {
  for (let i = 0; i < 200; i++) {
    const seen = await deliveries(tag);
    if (seen.length >= count) return seen;
    await sleep(10);
  }
  throw new Error(`webhook ${tag} did not receive ${count} deliveries`);
}

describe("SpendLedger rules", () => {
  it("places a moment in its UTC day and month, the month window crossing the year", () => {
    const at = Date.parse("2026-12-31T23:59:59.999Z");
    expect(periodWindow("day", at)).toMatchObject({ key: "2026-12-31", periodStart: "2026-12-31T00:00:00.000Z", resetsAt: "2027-01-01T00:00:00.000Z" });
    expect(periodWindow("month", at)).toMatchObject({ key: "2026-12", periodStart: "2026-12-01T00:00:00.000Z", resetsAt: "2027-01-01T00:00:00.000Z" });
    expect(periodWindow("total", at)).toMatchObject({ key: "total", periodStart: null, resetsAt: null });
  });

  it("alerts at alertAtPercent and at 100 %, once for a budget set at 100", () => {
    expect(alertThresholds(budget(5, { alertAtPercent: 80 }))).toEqual([{ percent: 80, atNanos: usd(4) }, { percent: 100, atNanos: usd(5) }]);
    expect(alertThresholds(budget(5, { alertAtPercent: 100 }))).toEqual([{ percent: 100, atNanos: usd(5) }]);
  });

  it("normalises a record's fractional or out-of-range numbers and rejects what cannot be repaired", () => {
    const at = Date.parse("2031-01-01T00:00:00.000Z");
    expect(normaliseRecord(record("r", 1_000.6, { at: at + 0.9, promptTokens: 12.5, completionTokens: -3 }))).toEqual({
      record: record("r", 1_001, { at, promptTokens: 13, completionTokens: 0 }),
    });
    expect(normaliseRecord(record("r", 5, { at, promptTokens: Infinity, completionTokens: 1e300 })).record).toMatchObject({
      promptTokens: Number.MAX_SAFE_INTEGER, completionTokens: Number.MAX_SAFE_INTEGER,
    });
    const rejected: Array<[string, unknown]> = [
      ["NaN cost", record("r", NaN)],
      ["negative cost", record("r", -1)],
      ["infinite cost", record("r", Infinity)],
      ["cost beyond a safe integer", record("r", 2 ** 60)],
      ["NaN tokens", record("r", 1, { promptTokens: NaN })],
      ["tokens as text", { ...record("r", 1), completionTokens: "20" }],
      ["start time not a date", record("r", 1, { at: 1e300 })],
      ["empty id", record("", 1)],
      ["id too long", record("x".repeat(MAX_RECORD_NAME + 1), 1)],
      ["model missing", { ...record("r", 1), model: undefined }],
      ["user too long", record("r", 1, { user: "u".repeat(257) })],
      ["flag not a boolean", { ...record("r", 1), estimated: 1 }],
      ["not a record", null],
    ];
    for (const [what, input] of rejected) expect(normaliseRecord(input).rejected, what).toEqual(expect.any(String));
  });

  it("prunes again soon while due ids remain, else when the oldest falls due but at most every PRUNE_EVERY_MS", () => {
    const now = Date.parse("2031-01-01T00:00:00.000Z");
    const none = { ordinary: null, expired: null, batches: null };
    expect(nextPruneAt(now, none)).toBe(Infinity);
    expect(nextPruneAt(now, { ...none, ordinary: now - FINISHED_MEMORY_MS })).toBe(now + PRUNE_AGAIN_MS);
    expect(nextPruneAt(now, { ...none, ordinary: now - 1_000, expired: now - 1_000 })).toBe(now - 1_000 + FINISHED_MEMORY_MS);
    expect(nextPruneAt(now, { ...none, ordinary: now - FINISHED_MEMORY_MS + 1_000 })).toBe(now + PRUNE_EVERY_MS);
    expect(nextPruneAt(now, { ...none, expired: now })).toBe(now + EXPIRED_MEMORY_MS);
    // Batch ids are remembered as long as finished ids.
    expect(nextPruneAt(now, { ...none, batches: now - FINISHED_MEMORY_MS })).toBe(now + PRUNE_AGAIN_MS);
    expect(nextPruneAt(now, { ...none, batches: now - 1_000, expired: now - 2_000 })).toBe(now - 1_000 + FINISHED_MEMORY_MS);
  });
});

describe("SpendLedger Durable Object", () => {
  it("without a budget admits every request and reserves nothing, but still counts settled spend", async () => {
    const { scope, stub } = newLedger();
    expect(await stub.reserve(scope, reservation("r1", usd(1_000)))).toEqual({ admitted: true, status: null });
    expect(await stub.status(scope)).toBeNull();
    expect(await stub.settle(scope, [record("r1", usd(0.25))], newBatch())).toBeNull();
    const totals = await stub.totals(scope);
    expect(totals).toMatchObject({ scope, reservedNanos: 0, status: null });
    expect(totals.day).toMatchObject({ spentNanos: usd(0.25), requests: 1 });
    expect(totals.month.spentNanos).toBe(usd(0.25));
    expect(totals.total).toMatchObject({ spentNanos: usd(0.25), periodStart: null });
    const rows = await runInDurableObject(stub, (_o: SpendLedger, state) => state.storage.sql.exec("SELECT id FROM reservations").toArray());
    expect(rows).toEqual([]);
  });

  it("admits exactly the concurrent reservations that fit a hard budget: 200 × $0.10 against $5 → 50", async () => {
    const { scope, stub } = newLedger();
    await stub.setBudget(scope, budget(5));
    const answers = await Promise.all(Array.from({ length: 200 }, (_, i) => stub.reserve(scope, reservation(`r${i}`, usd(0.1)))));
    expect(answers.filter((a) => a.admitted)).toHaveLength(50);
    const status = await stub.status(scope);
    expect(status).toMatchObject({ spentNanos: 0, reservedNanos: usd(5) });
    const refused = answers.find((a) => !a.admitted);
    expect(refused?.status).toMatchObject({ reservedNanos: usd(5), budget: { limitUsd: 5, mode: "hard" } });
  });

  it("a soft budget admits and reserves beyond its limit", async () => {
    const { scope, stub } = newLedger();
    await stub.setBudget(scope, budget(1, { mode: "soft" }));
    expect((await stub.reserve(scope, reservation("a", usd(0.9)))).admitted).toBe(true);
    const second = await stub.reserve(scope, reservation("b", usd(0.9)));
    expect(second).toMatchObject({ admitted: true, status: { reservedNanos: usd(1.8) } });
  });

  it("reserving an id again replaces its amount, and the check counts the new amount only", async () => {
    const { scope, stub } = newLedger();
    await stub.setBudget(scope, budget(1));
    expect((await stub.reserve(scope, reservation("a", usd(0.8)))).admitted).toBe(true);
    expect((await stub.reserve(scope, reservation("b", usd(0.3)))).admitted).toBe(false);
    // Degraded to a cheaper model: 0.9 + 0.8 would not fit, 0.5 alone does.
    expect(await stub.reserve(scope, reservation("a", usd(0.5), { model: "openai/gpt-5-nano" }))).toMatchObject({ admitted: true, status: { reservedNanos: usd(0.5) } });
    expect((await stub.reserve(scope, reservation("b", usd(0.3)))).admitted).toBe(true);
    // A replacement that does not fit is refused and leaves the old amount in place.
    expect((await stub.reserve(scope, reservation("a", usd(0.8)))).admitted).toBe(false);
    expect((await stub.status(scope))?.reservedNanos).toBe(usd(0.8));
  });

  it("settling replaces the reservation with the actual cost; settling a reserved id twice, in any batch, counts once", async () => {
    const { scope, stub } = newLedger();
    await stub.setBudget(scope, budget(2));
    await stub.reserve(scope, reservation("r", usd(1.5)));
    expect(await stub.settle(scope, [record("r", usd(0.2))], newBatch())).toMatchObject({ spentNanos: usd(0.2), reservedNanos: 0 });
    expect(await stub.settle(scope, [record("r", usd(0.2))], newBatch())).toMatchObject({ spentNanos: usd(0.2), reservedNanos: 0 });
    expect(await stub.settle(scope, [record("r", usd(0.7)), record("r", usd(0.7))], newBatch())).toMatchObject({ spentNanos: usd(0.2) });
    expect((await stub.totals(scope)).month.requests).toBe(1);
    // A settled id is not reserved again (e.g. a late duplicate of its reservation).
    expect(await stub.reserve(scope, reservation("r", usd(0.5)))).toMatchObject({ admitted: true, status: { reservedNanos: 0 } });
    // The settled spend now counts against the limit: 0.2 + 1.9 > 2.
    expect((await stub.reserve(scope, reservation("next", usd(1.9)))).admitted).toBe(false);
    expect((await stub.reserve(scope, reservation("next", usd(1.8)))).admitted).toBe(true);
  });

  it("a batch settles in one go, with records for several ids and none of them reserved", async () => {
    const { scope, stub } = newLedger();
    await stub.setBudget(scope, budget(10));
    await stub.reserve(scope, reservation("a", usd(1)));
    const status = await stub.settle(scope, [record("a", 123_456_789), record("b", 1), record("c", 0, { unpriced: true })], newBatch());
    expect(status).toMatchObject({ spentNanos: 123_456_790, reservedNanos: 0 });
    expect((await stub.totals(scope)).day).toMatchObject({ requests: 3, unpricedRequests: 1, spentNanos: 123_456_790 });
  });

  it("sums a 200-record plain batch of 2 models × 2 users exactly, in one counter row per period, model and user; its retry changes nothing", async () => {
    const { scope, stub } = newLedger();
    const at = Date.parse("2031-02-14T09:00:00.000Z");
    const other = "anthropic/claude-haiku-4-5";
    const models = [MODEL, other];
    const users = ["ana", null];
    const records = Array.from({ length: 200 }, (_, i) =>
      record(`p${i}`, 123_456_789 + i * 1_000_003, {
        at: at + i * 1_000,
        model: models[i % 2],
        user: users[Math.floor(i / 2) % 2],
        promptTokens: 1_000 + i,
        completionTokens: 7 * i,
        estimated: i % 10 === 0,
        unpriced: i % 25 === 0,
      }),
    );
    const expected = (key: (r: SpendRecord) => string) => {
      const rows = new Map<string, { key: string; costNanos: number; requests: number; promptTokens: number; completionTokens: number; estimatedRequests: number; unpricedRequests: number }>();
      for (const r of records) {
        const k = key(r);
        const row = rows.get(k) ?? { key: k, costNanos: 0, requests: 0, promptTokens: 0, completionTokens: 0, estimatedRequests: 0, unpricedRequests: 0 };
        row.costNanos += r.nanos;
        row.requests += 1;
        row.promptTokens += r.promptTokens;
        row.completionTokens += r.completionTokens;
        row.estimatedRequests += r.estimated ? 1 : 0;
        row.unpricedRequests += r.unpriced ? 1 : 0;
        rows.set(k, row);
      }
      return [...rows.values()].sort((a, b) => b.costNanos - a.costNanos || (a.key < b.key ? -1 : 1));
    };
    const totalNanos = records.reduce((sum, r) => sum + r.nanos, 0);
    const batch = newBatch();
    expect(await stub.settle(scope, records, batch)).toBeNull();
    const check = async (): Promise<void> => {
      for (const period of ["day", "month"] as const) {
        expect((await stub.usage(scope, { period, groupBy: "model", at })).rows, period).toEqual(expected((r) => r.model));
        expect((await stub.usage(scope, { period, groupBy: "user", at })).rows, period).toEqual(expected((r) => r.user ?? ""));
      }
      const totals = await stub.totals(scope);
      expect(totals.total).toMatchObject({ spentNanos: totalNanos, requests: 200, estimatedRequests: 20, unpricedRequests: 8 });
    };
    await check();
    expect(await usageRowCount(stub)).toBe(3 * 4);
    expect(await finishedIds(stub)).toEqual([]);
    // The isolate's retry of the same batch (its answer was lost): nothing changes.
    expect(await stub.settle(scope, records, batch)).toBeNull();
    await check();
    // Only a new batch counts again (the isolate never sends a record in two batches).
    await stub.settle(scope, records.slice(0, 1), newBatch());
    expect((await stub.totals(scope)).total).toMatchObject({ spentNanos: totalNanos + records[0]!.nanos, requests: 201 });
  });

  it("a batch mixing reserved, expiry-charged, already settled and plain records settles each as it should", async () => {
    const { scope, stub } = newLedger();
    const start = setClock("2031-04-01T10:00:00.000Z");
    await stub.setBudget(scope, budget(10));
    await stub.reserve(scope, reservation("lost", usd(0.5), { user: "ana", ttlMs: 1_000 }));
    await stub.reserve(scope, reservation("live", usd(1), { user: "ana" }));
    await stub.reserve(scope, reservation("done", usd(1)));
    await stub.settle(scope, [record("done", usd(0.2))], newBatch());
    setClock("2031-04-01T10:00:02.000Z");
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await stub.status(scope)).toMatchObject({ spentNanos: usd(0.7), reservedNanos: usd(1) });

    const batch = newBatch();
    const mixed = [
      record("live", usd(0.3), { user: "ana", at: start }),
      record("lost", usd(0.125), { user: "ana", at: start }),
      record("done", usd(5)),
      record("plain1", usd(0.01), { user: "ana" }),
      record("plain2", usd(0.02), { user: "bo" }),
      record("live", usd(0.3), { user: "ana", at: start }),
    ];
    // done's first settle (0.2) + live 0.3 + lost corrected to 0.125 + plain 0.03; the second "live" and "done" change nothing.
    expect(await stub.settle(scope, mixed, batch)).toMatchObject({ spentNanos: usd(0.655), reservedNanos: 0 });
    expect(await stub.settle(scope, mixed, batch)).toMatchObject({ spentNanos: usd(0.655), reservedNanos: 0 });
    const byUser = (await stub.usage(scope, { period: "day", groupBy: "user" })).rows;
    expect(byUser).toEqual([
      { key: "ana", costNanos: usd(0.435), requests: 3, promptTokens: 300, completionTokens: 60, estimatedRequests: 0, unpricedRequests: 0 },
      { key: "", costNanos: usd(0.2), requests: 1, promptTokens: 100, completionTokens: 20, estimatedRequests: 0, unpricedRequests: 0 },
      { key: "bo", costNanos: usd(0.02), requests: 1, promptTokens: 100, completionTokens: 20, estimatedRequests: 0, unpricedRequests: 0 },
    ]);
    // Reserved ids are remembered one by one (the expiry charge no longer pending), plain ones are not.
    expect(await finishedIds(stub)).toEqual(["done", "live", "lost"]);
    const charged = await runInDurableObject(stub, (_o: SpendLedger, state) =>
      state.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM finished WHERE expired_nanos IS NOT NULL").one().n,
    );
    expect(charged).toBe(0);
    // A later settle of the corrected id changes nothing; no settled id is reserved again.
    expect(await stub.settle(scope, [record("lost", usd(9), { user: "ana", at: start })], newBatch())).toMatchObject({ spentNanos: usd(0.655) });
    expect(await stub.reserve(scope, reservation("live", usd(1)))).toMatchObject({ admitted: true, status: { reservedNanos: 0 } });
  });

  it("refuses a settle without a usable batch id", async () => {
    const { scope, stub } = newLedger();
    await runInDurableObject(stub, async (ledger: SpendLedger) => {
      await expect(ledger.settle(scope, [record("r", 1)], "")).rejects.toThrow(/batchId/);
      await expect(ledger.settle(scope, [record("r", 1)], "b".repeat(MAX_BATCH_ID + 1))).rejects.toThrow(/batchId/);
      await expect(ledger.settle(scope, [record("r", 1)], undefined as unknown as string)).rejects.toThrow(/batchId/);
    });
    expect((await stub.totals(scope)).total.requests).toBe(0);
  });

  it("a record that cannot be booked is logged and skipped; the rest of its batch is booked exactly, normalised", async () => {
    const { scope, stub } = newLedger();
    await stub.setBudget(scope, budget(10));
    await stub.reserve(scope, reservation("bad", usd(1)));
    const errors = vi.spyOn(console, "error").mockImplementation(() => undefined);
    const status = await runInDurableObject(stub, (ledger: SpendLedger) =>
      ledger.settle(scope, [
        record("good1", 123_456_789, { promptTokens: 12.5, completionTokens: 7.4 }),
        record("bad", NaN),
        record("good2", 2_000.4, { promptTokens: 100, completionTokens: 20 }),
      ], newBatch()),
    );
    const logged = errors.mock.calls.map(([line]) => JSON.parse(String(line)) as Record<string, unknown>);
    errors.mockRestore();
    // The bad record's reservation stays: unsettled, it expires and is charged at its worst case.
    expect(status).toMatchObject({ spentNanos: 123_458_789, reservedNanos: usd(1) });
    expect((await stub.totals(scope)).day).toMatchObject({ requests: 2, spentNanos: 123_458_789 });
    const rows = (await stub.usage(scope, { period: "day", groupBy: "model" })).rows;
    expect(rows).toEqual([{ key: MODEL, costNanos: 123_458_789, requests: 2, promptTokens: 113, completionTokens: 27, estimatedRequests: 0, unpricedRequests: 0 }]);
    expect(logged).toEqual([{ msg: "spend_record_rejected", scope, reason: expect.any(String), record: expect.objectContaining({ id: "bad", nanos: "NaN" }) }]);
    // A settle whose every record is bad still answers the status.
    expect(await stub.settle(scope, [record("bad2", -5)], newBatch())).toMatchObject({ spentNanos: 123_458_789 });
  });

  it("release drops the reservation and records nothing, idempotently; the id is not reserved again", async () => {
    const { scope, stub } = newLedger();
    await stub.setBudget(scope, budget(1));
    await stub.reserve(scope, reservation("failed", usd(0.6)));
    await stub.reserve(scope, reservation("ok", usd(0.3)));
    await stub.release(scope, ["failed"]);
    await stub.release(scope, ["failed", "never-reserved"]);
    expect(await stub.status(scope)).toMatchObject({ spentNanos: 0, reservedNanos: usd(0.3) });
    expect((await stub.totals(scope)).day.requests).toBe(0);
    expect(await stub.reserve(scope, reservation("failed", usd(0.6)))).toMatchObject({ admitted: true, status: { reservedNanos: usd(0.3) } });
  });

  it("a day budget starts from zero at UTC midnight; spend counts towards the day of its request's start", async () => {
    const { scope, stub } = newLedger();
    const lateEvening = setClock("2031-03-09T23:59:00.000Z");
    await stub.setBudget(scope, budget(5, { period: "day" }));
    await stub.reserve(scope, reservation("r1", usd(4)));
    expect((await stub.reserve(scope, reservation("r2", usd(2)))).admitted).toBe(false);
    expect(await stub.status(scope)).toMatchObject({ periodStart: "2031-03-09T00:00:00.000Z", resetsAt: "2031-03-10T00:00:00.000Z" });

    setClock("2031-03-10T00:00:30.000Z");
    // r1 began yesterday and settles after midnight: it counts towards yesterday.
    expect(await stub.settle(scope, [record("r1", usd(4), { at: lateEvening })], newBatch())).toMatchObject({
      spentNanos: 0, reservedNanos: 0, periodStart: "2031-03-10T00:00:00.000Z", resetsAt: "2031-03-11T00:00:00.000Z",
    });
    expect((await stub.reserve(scope, reservation("r2", usd(5)))).admitted).toBe(true);
    const yesterday = await stub.usage(scope, { period: "day", groupBy: "model", at: lateEvening });
    expect(yesterday).toMatchObject({ periodStart: "2031-03-09T00:00:00.000Z", rows: [{ key: MODEL, costNanos: usd(4), requests: 1 }] });
    expect((await stub.usage(scope, { period: "day", groupBy: "model" })).rows).toEqual([]);
  });

  it("a month budget starts from zero on the first of the month", async () => {
    const { scope, stub } = newLedger();
    setClock("2031-12-31T22:00:00.000Z");
    await stub.setBudget(scope, budget(1));
    await stub.settle(scope, [record("dec", usd(1))], newBatch());
    expect((await stub.reserve(scope, reservation("r", 1))).admitted).toBe(false);
    setClock("2032-01-01T00:00:00.000Z");
    expect(await stub.reserve(scope, reservation("r", usd(1)))).toMatchObject({
      admitted: true, status: { spentNanos: 0, periodStart: "2032-01-01T00:00:00.000Z", resetsAt: "2032-02-01T00:00:00.000Z" },
    });
    expect((await stub.totals(scope)).total.spentNanos).toBe(usd(1));
  });

  it("the alarm charges an expired reservation at its worst case as an estimated request; a late settle corrects it", async () => {
    const { scope, stub } = newLedger();
    const start = setClock("2031-05-05T10:00:00.000Z");
    await stub.setBudget(scope, budget(10));
    await stub.reserve(scope, reservation("lost", usd(0.5), { user: "ana", ttlMs: 60_000 }));
    await stub.reserve(scope, reservation("alive", usd(0.25), { ttlMs: 600_000 }));
    expect(await alarmOf(stub)).toBe(start + 60_000);

    setClock("2031-05-05T10:01:01.000Z");
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await stub.status(scope)).toMatchObject({ spentNanos: usd(0.5), reservedNanos: usd(0.25) });
    const byUser = await stub.usage(scope, { period: "day", groupBy: "user" });
    expect(byUser.rows).toEqual([{ key: "ana", costNanos: usd(0.5), requests: 1, promptTokens: 0, completionTokens: 0, estimatedRequests: 1, unpricedRequests: 0 }]);
    // Re-armed for the reservation still alive.
    expect(await alarmOf(stub)).toBe(start + 600_000);

    // The slow stream ends after all: its actual cost replaces the worst case.
    expect(await stub.settle(scope, [record("lost", usd(0.125), { user: "ana", at: start })], newBatch())).toMatchObject({ spentNanos: usd(0.125) });
    const corrected = await stub.usage(scope, { period: "day", groupBy: "model" });
    expect(corrected.rows).toEqual([{ key: MODEL, costNanos: usd(0.125), requests: 1, promptTokens: 100, completionTokens: 20, estimatedRequests: 0, unpricedRequests: 0 }]);
    // And a second settle still changes nothing.
    expect(await stub.settle(scope, [record("lost", usd(9), { user: "ana", at: start })], newBatch())).toMatchObject({ spentNanos: usd(0.125) });
  });

  it("a late release of an expired reservation takes the worst-case charge back", async () => {
    const { scope, stub } = newLedger();
    setClock("2031-05-06T10:00:00.000Z");
    await stub.setBudget(scope, budget(10));
    await stub.reserve(scope, reservation("lost", usd(0.5), { ttlMs: 1_000 }));
    setClock("2031-05-06T10:00:02.000Z");
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect((await stub.status(scope))?.spentNanos).toBe(usd(0.5));
    await stub.release(scope, ["lost"]);
    expect((await stub.status(scope))?.spentNanos).toBe(0);
    expect((await stub.totals(scope)).day.requests).toBe(0);
  });

  it("reports a month by model and by user with exact sums", async () => {
    const { scope, stub } = newLedger();
    const at = Date.parse("2031-07-15T12:00:00.000Z");
    const other = "anthropic/claude-haiku-4-5";
    await stub.settle(scope, [
      record("1", 111_111_111, { at, user: "ana", promptTokens: 1, completionTokens: 2 }),
      record("2", 222_222_222, { at, user: "bo", promptTokens: 10, completionTokens: 20, estimated: true }),
      record("3", 333_333_333, { at: at + 86_400_000, model: other, user: "ana", promptTokens: 100, completionTokens: 200 }),
      record("4", 0, { at, model: other, user: null, promptTokens: 1000, completionTokens: 2000, unpriced: true }),
      record("elsewhere", 999, { at: Date.parse("2031-08-01T00:00:00.000Z") }),
    ], newBatch());
    const byModel = await stub.usage(scope, { period: "month", groupBy: "model", at });
    expect(byModel).toEqual({
      scope,
      period: "month",
      periodStart: "2031-07-01T00:00:00.000Z",
      rows: [
        { key: other, costNanos: 333_333_333, requests: 2, promptTokens: 1100, completionTokens: 2200, estimatedRequests: 0, unpricedRequests: 1 },
        { key: MODEL, costNanos: 333_333_333, requests: 2, promptTokens: 11, completionTokens: 22, estimatedRequests: 1, unpricedRequests: 0 },
      ],
    });
    const byUser = await stub.usage(scope, { period: "month", groupBy: "user", at });
    expect(byUser.rows).toEqual([
      { key: "ana", costNanos: 444_444_444, requests: 2, promptTokens: 101, completionTokens: 202, estimatedRequests: 0, unpricedRequests: 0 },
      { key: "bo", costNanos: 222_222_222, requests: 1, promptTokens: 10, completionTokens: 20, estimatedRequests: 1, unpricedRequests: 0 },
      { key: "", costNanos: 0, requests: 1, promptTokens: 1000, completionTokens: 2000, estimatedRequests: 0, unpricedRequests: 1 },
    ]);
    const day = await stub.usage(scope, { period: "day", groupBy: "user", at });
    expect(day.rows.map((r) => [r.key, r.costNanos])).toEqual([["bo", 222_222_222], ["ana", 111_111_111], ["", 0]]);
  });

  it("alerts once per level per period: at alertAtPercent, at 100 %, and again in the next period", async () => {
    const { scope, stub } = newLedger();
    const tag = crypto.randomUUID();
    setClock("2031-09-01T08:00:00.000Z");
    await stub.setBudget(scope, budget(1, { period: "day", alertAtPercent: 80, alertWebhook: webhookUrl(tag) }));
    await stub.settle(scope, [record("a", usd(0.5))], newBatch());
    await stub.settle(scope, [record("b", usd(0.35))], newBatch());
    const first = await deliveriesWhen(tag, 1);
    expect(first[0]?.body).toEqual({
      type: "budget_alert", scope, threshold: 80, limitUsd: 1, spentUsd: 0.85, period: "day", periodStart: "2031-09-01T00:00:00.000Z", mode: "hard",
    });
    expect(first[0]?.headers["content-type"]).toBe("application/json");
    await stub.settle(scope, [record("c", usd(0.01))], newBatch());
    await stub.settle(scope, [record("d", usd(0.2))], newBatch());
    const second = await deliveriesWhen(tag, 2);
    expect(second[1]?.body).toMatchObject({ threshold: 100, spentUsd: 1.06 });
    await stub.settle(scope, [record("e", usd(0.1))], newBatch());
    await sleep(100);
    expect(await deliveries(tag)).toHaveLength(2);

    setClock("2031-09-02T08:00:00.000Z");
    await stub.settle(scope, [record("f", usd(0.9))], newBatch());
    const nextDay = await deliveriesWhen(tag, 3);
    expect(nextDay[2]?.body).toMatchObject({ threshold: 80, spentUsd: 0.9, periodStart: "2031-09-02T00:00:00.000Z" });
    await sleep(100);
    expect(await deliveries(tag)).toHaveLength(3);
  });

  it("retries a failed webhook delivery on a later settle, and marks it sent only once delivered", async () => {
    const { scope, stub } = newLedger();
    const tag = crypto.randomUUID();
    await stub.setBudget(scope, budget(1, { alertWebhook: webhookUrl(tag, "?failFirst=1") }));
    await stub.settle(scope, [record("over", usd(1.2))], newBatch());
    expect((await deliveriesWhen(tag, 1)).map((d) => d.status)).toEqual([503]);
    // Each later settle tries again until one succeeds (the first may still find the failed delivery in flight).
    for (let i = 0; i < 50 && (await deliveries(tag)).length < 2; i++) {
      await stub.settle(scope, [record(`retry${i}`, 1)], newBatch());
      await sleep(20);
    }
    const seen = await deliveriesWhen(tag, 2);
    expect(seen.map((d) => d.status)).toEqual([503, 200]);
    expect(seen[1]?.body).toMatchObject({ threshold: 100, limitUsd: 1 });
    await stub.settle(scope, [record("after", 1)], newBatch());
    await sleep(100);
    expect(await deliveries(tag)).toHaveLength(2);
  });

  it("a changed limit makes its alert levels new; the same budget pushed again does not re-alert", async () => {
    const { scope, stub } = newLedger();
    const tag = crypto.randomUUID();
    const alerting = (limitUsd: number): Budget => budget(limitUsd, { alertAtPercent: 50, alertWebhook: webhookUrl(tag) });
    await stub.setBudget(scope, alerting(1));
    await stub.settle(scope, [record("a", usd(0.6))], newBatch());
    expect((await deliveriesWhen(tag, 1))[0]?.body).toMatchObject({ threshold: 50, limitUsd: 1 });
    await stub.setBudget(scope, alerting(1));
    await stub.settle(scope, [record("b", usd(0.1))], newBatch());
    await sleep(100);
    expect(await deliveries(tag)).toHaveLength(1);
    // Raised to $2: 50 % now means $1, not yet reached; it alerts when it is.
    await stub.setBudget(scope, alerting(2));
    await stub.settle(scope, [record("c", usd(0.2))], newBatch());
    await sleep(100);
    expect(await deliveries(tag)).toHaveLength(1);
    await stub.settle(scope, [record("d", usd(0.2))], newBatch());
    expect((await deliveriesWhen(tag, 2))[1]?.body).toMatchObject({ threshold: 50, limitUsd: 2, spentUsd: 1.1 });
    // Lowered below what is spent: the 100 % alert goes out at once, without waiting for a settle.
    await stub.setBudget(scope, alerting(1));
    const lowered = await deliveriesWhen(tag, 4);
    expect(lowered.slice(2).map((d) => d.body.threshold).sort()).toEqual([100, 50]);
  });

  it("a budget set, changed or removed applies to the very next reservation", async () => {
    const { scope, stub } = newLedger();
    expect((await stub.reserve(scope, reservation("a", usd(0.2)))).status).toBeNull();
    expect(await stub.setBudget(scope, budget(0.1))).toMatchObject({ scope, spentNanos: 0, reservedNanos: 0, budget: { limitUsd: 0.1, mode: "hard" } });
    expect((await stub.reserve(scope, reservation("b", usd(0.2)))).admitted).toBe(false);
    await stub.setBudget(scope, budget(0.1, { mode: "soft" }));
    expect((await stub.reserve(scope, reservation("b", usd(0.2)))).admitted).toBe(true);
    await stub.setBudget(scope, budget(0.3));
    expect((await stub.reserve(scope, reservation("c", usd(0.2)))).admitted).toBe(false);
    expect(await stub.setBudget(scope, null)).toBeNull();
    expect(await stub.reserve(scope, reservation("c", usd(0.2)))).toEqual({ admitted: true, status: null });
  });

  it("forgets settled and released ids and batch ids an hour after they finished, expiry-charged ids after two days", async () => {
    const { scope, stub } = newLedger();
    const start = setClock("2031-06-01T10:00:00.000Z");
    await stub.setBudget(scope, budget(10));
    await stub.reserve(scope, reservation("lost1", usd(0.5), { ttlMs: 1_000 }));
    await stub.reserve(scope, reservation("lost2", usd(0.25), { ttlMs: 1_000 }));
    await stub.reserve(scope, reservation("settled", usd(0.25), { ttlMs: 60_000 }));
    const batch = newBatch();
    await stub.settle(scope, [record("a", usd(0.01)), record("b", usd(0.02)), record("settled", usd(0.03))], batch);
    await stub.release(scope, ["c"]);
    expect(await alarmOf(stub)).toBe(start + 1_000);
    // Plain records leave no finished row: their batch id stands for them.
    expect(await finishedIds(stub)).toEqual(["c", "settled"]);
    expect(await batchIds(stub)).toEqual([batch]);

    const expiredAt = setClock("2031-06-01T10:00:02.000Z");
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await alarmOf(stub)).toBe(start + FINISHED_MEMORY_MS);
    // Until then the batch (the isolate's retry of it) and the settled reserved id are still remembered.
    const lateAt = setClock("2031-06-01T10:59:59.000Z");
    expect(await stub.settle(scope, [record("a", usd(1)), record("settled", usd(1))], batch)).toMatchObject({ spentNanos: usd(0.81) });
    const late = newBatch();
    expect(await stub.settle(scope, [record("settled", usd(1))], late)).toMatchObject({ spentNanos: usd(0.81) });

    setClock("2031-06-01T11:00:01.000Z");
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await finishedIds(stub)).toEqual(["lost1", "lost2"]);
    // The first batch is an hour old and forgotten; the late one (two seconds younger) is not yet.
    expect(await batchIds(stub)).toEqual([late]);
    expect(await alarmOf(stub)).toBe(lateAt + FINISHED_MEMORY_MS);
    setClock("2031-06-01T12:00:00.000Z");
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await batchIds(stub)).toEqual([]);
    expect(await alarmOf(stub)).toBe(expiredAt + EXPIRED_MEMORY_MS);

    // A day after its expiry, the slow request behind lost1 settles: its actual cost replaces the worst case.
    setClock("2031-06-02T10:00:00.000Z");
    expect(await stub.settle(scope, [record("lost1", usd(0.1), { at: start })], newBatch())).toMatchObject({ spentNanos: usd(0.41) });

    setClock("2031-06-03T10:00:02.000Z");
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await finishedIds(stub)).toEqual([]);
    expect(await batchIds(stub)).toEqual([]);
    expect(await alarmOf(stub)).toBeNull();
    expect((await stub.totals(scope)).month).toMatchObject({ spentNanos: usd(0.41), requests: 5, estimatedRequests: 1 });
  });

  it("one alarm run forgets at most PRUNE_BATCH_ROWS ids and wakes again soon for the rest, beside a reservation's expiry", async () => {
    const { scope, stub } = newLedger();
    const start = setClock("2031-06-10T10:00:00.000Z");
    await stub.setBudget(scope, budget(10));
    await stub.reserve(scope, reservation("live", usd(1), { ttlMs: 2 * FINISHED_MEMORY_MS }));
    // Released ids are each remembered (so are settled reserved ones); settled plain records only by their batch.
    const total = PRUNE_BATCH_ROWS + 50;
    for (let from = 0; from < total; from += 1_000) {
      const ids = Array.from({ length: Math.min(1_000, total - from) }, (_, i) => `r${from + i}`);
      await stub.release(scope, ids.map((id) => `failed-${id}`));
      await stub.settle(scope, ids.map((id) => record(id, 1)), newBatch());
    }
    expect(await alarmOf(stub)).toBe(start + 2 * FINISHED_MEMORY_MS);
    expect((await stub.totals(scope)).day.requests).toBe(total);
    expect(await batchIds(stub)).toHaveLength(6);

    const now = setClock("2031-06-10T11:00:00.000Z");
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await finishedIds(stub)).toHaveLength(50);
    expect(await batchIds(stub)).toHaveLength(6);
    expect(await alarmOf(stub)).toBe(now + PRUNE_AGAIN_MS);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await finishedIds(stub)).toEqual([]);
    expect(await batchIds(stub)).toEqual([]);
    // Nothing left to forget: the alarm waits for the live reservation's expiry.
    expect(await alarmOf(stub)).toBe(start + 2 * FINISHED_MEMORY_MS);
    expect(await stub.status(scope)).toMatchObject({ spentNanos: total, reservedNanos: usd(1) });
  });

  it("keeps everything across a restart: a new instance reads budget, spend and reservations from SQLite", async () => {
    const { scope, stub } = newLedger();
    await stub.setBudget(scope, budget(1, { period: "day" }));
    await stub.reserve(scope, reservation("live", usd(0.4)));
    const batch = newBatch();
    await stub.settle(scope, [record("done", usd(0.5), { user: "ana" })], batch);
    // What is stored (the calls answered are counted in memory, since the object started).
    const stored = (status: BudgetStatus | null): Omit<BudgetStatus, "calls"> | null => {
      if (status === null) return null;
      const { calls: _calls, ...rest } = status;
      return rest;
    };
    const before = stored(await stub.status(scope));
    expect((await stub.status(scope))?.calls).toEqual({ reserve: 1, settle: 1, exchange: 0, release: 0 });
    await evictDurableObject(stub);
    expect(stored(await stub.status(scope))).toEqual(before);
    const restarted = await runInDurableObject(stub, async (_o: SpendLedger, state) => {
      const fresh = new SpendLedgerClass(state, env);
      await sleep(0);
      return {
        status: await fresh.status(scope),
        refused: await fresh.reserve(scope, reservation("more", usd(0.2))),
        admitted: await fresh.reserve(scope, reservation("more", usd(0.1))),
        // The isolate's retry of the batch: its id outlives the restart.
        settledAgain: await fresh.settle(scope, [record("done", usd(0.5))], batch),
      };
    });
    expect(stored(restarted.status)).toEqual(before);
    expect(restarted.status).toMatchObject({ spentNanos: usd(0.5), reservedNanos: usd(0.4) });
    expect(restarted.refused.admitted).toBe(false);
    expect(restarted.admitted.admitted).toBe(true);
    expect(restarted.settledAgain).toMatchObject({ spentNanos: usd(0.5), reservedNanos: usd(0.5) });
  });

  it("refuses a call naming another scope than the one it holds", async () => {
    const { scope, stub } = newLedger();
    await stub.setBudget(scope, budget(1));
    // Called on the instance: an RPC exception would also surface as the test pool's unhandled error.
    await runInDurableObject(stub, async (ledger: SpendLedger) => {
      await expect(ledger.status("global")).rejects.toThrow(/was called as "global"/);
    });
  });
});
