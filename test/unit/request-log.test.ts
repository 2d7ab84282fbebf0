/**
 * Issue 13: every request's record goes through the log queue into D1, with
 * rollups; the log's cost equals the ledgers' to the nano-dollar; retention
 * prunes what is past its time.
 */
import { createExecutionContext, createMessageBatch, createScheduledController, env, getQueueResult, waitOnExecutionContext } from "cloudflare:test";
import worker from "../../src/index.ts";
import { describe, expect, it } from "vitest";
import type { Env } from "../../src/env.ts";
import { bucketOf, consumeLog, storeRecords } from "../../src/observability/log-consumer.ts";
import type { RequestLogEntry } from "../../src/observability/request-log.ts";
import { pruneLog } from "../../src/observability/retention.ts";
import { gateway, json, scriptUpstream, uniqueTag } from "./helpers.ts";
import { newKey, setPrice, settled, withLedger } from "./ledger-helpers.ts";

const db = (): D1Database => {
  if (env.LOG_DB === undefined) throw new Error("wrangler.toml binds LOG_DB");
  return env.LOG_DB;
};

interface Row {
  id: string;
  key_id: string | null;
  status: number;
  outcome: string;
  error_code: string | null;
  cost_nanos: number;
  end_user: string | null;
  provider: string | null;
}

/** Waits until the consumer has stored `count` records of `keyId`. */
async function recordsOf(keyId: string, count: number): Promise<Row[]> {
  for (let i = 0; ; i++) {
    const rows = (await db().prepare("SELECT * FROM requests WHERE key_id = ? ORDER BY time").bind(keyId).all<Row>()).results;
    if (rows.length >= count || i > 200) return rows;
    await new Promise((r) => setTimeout(r, 25));
  }
}

const entry = (id: string, over: Partial<RequestLogEntry> = {}): RequestLogEntry => ({
  requestId: id, time: Date.parse("2026-11-20T10:15:00Z"), keyId: "key_rollup", user: "alice", endpoint: "chat", requested: "fast",
  provider: "openai", model: "gpt-4o-mini", stream: false, attempts: 1, status: 200, outcome: "completed",
  usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 }, costUsd: 0.000001, costNanos: 1_000, costEstimated: false,
  ttfbMs: 40, durationMs: 120, ...over,
});

describe("the request log", () => {
  it("stores a record per request, answered, refused and failed, through the queue, and its cost equals the ledger's", async () => {
    const L = withLedger();
    const { id, key } = await newKey({ models: ["openai/*"] });
    const model = uniqueTag("logged");
    await setPrice(model, 3, 15);
    const ok = await gateway("/v1/chat/completions", json({ model: `openai/${model}`, messages: [{ role: "user", content: "hi" }], user: "alice" }, key), L);
    expect(ok.status).toBe(200);
    await ok.text();
    const streamed = await gateway("/v1/chat/completions", json({ model: `openai/${model}`, stream: true, messages: [{ role: "user", content: "hi" }] }, key), L);
    await streamed.text();
    const refused = await gateway("/v1/chat/completions", json({ model: "deepseek/deepseek-chat", messages: [{ role: "user", content: "hi" }] }, key), L);
    expect(refused.status).toBe(403);
    const tag = uniqueTag("log-fail");
    await scriptUpstream(tag, { status: 500 });
    const failed = await gateway("/v1/chat/completions", json({ model: `openai/${model}`, user: tag, messages: [{ role: "user", content: tag }] }, key), L);
    expect(failed.status).toBe(502);

    const rows = await recordsOf(id, 4);
    expect(rows.map((r) => [r.status, r.outcome])).toEqual([[200, "completed"], [200, "completed"], [403, "refused"], [502, "failed"]]);
    expect(rows[0]).toMatchObject({ id: ok.headers.get("x-switchyard-request-id"), end_user: "alice", provider: "openai" });
    expect(rows[2]?.error_code).toBe("model_not_allowed");
    // The ledger's spend and the log's, to the nano-dollar.
    const ledger = await settled(`key:${id}`, 2);
    const ledgerNanos = Math.round(ledger.totalUsd * 1e9);
    const logNanos = rows.reduce((n, r) => n + r.cost_nanos, 0);
    expect(logNanos).toBe(ledgerNanos);
    expect(logNanos).toBeGreaterThan(0);
  });

  it("rolls records up per hour × key × provider × model and per day × key × user, once even when a batch is retried", async () => {
    const ids = [uniqueTag("r1"), uniqueTag("r2"), uniqueTag("r3")];
    const entries = [entry(ids[0]!), entry(ids[1]!, { durationMs: 5_000, status: 502, outcome: "failed", costNanos: 0, costUsd: null }), entry(ids[2]!, { user: "bob", costNanos: 2_500 })];
    const keyId = `key_${uniqueTag("rollup").slice(-16)}`;
    const mine = entries.map((e) => ({ ...e, keyId }));
    expect((await storeRecords(db(), mine, 5)).records).toBe(3);
    expect((await storeRecords(db(), mine, 5)).records).toBe(3); // the retry of the same batch
    const hour = await db().prepare("SELECT * FROM rollup_hour WHERE key_id = ?").bind(keyId).first<Record<string, number>>();
    // Hand computation: 3 requests, 1 error, 1,000 + 0 + 2,500 nanos; durations 120 ms (bucket 3: 64–128) and 5,000 ms (bucket 9).
    expect(hour).toMatchObject({ requests: 3, errors: 1, refused: 0, cost_nanos: 3_500, prompt_tokens: 30, lat_3: 2, lat_9: 1 });
    expect(bucketOf(120)).toBe(3);
    expect(bucketOf(5_000)).toBe(9);
    const users = (await db().prepare("SELECT end_user, requests, cost_nanos FROM rollup_day_user WHERE key_id = ? ORDER BY end_user").bind(keyId).all()).results;
    expect(users).toEqual([{ end_user: "alice", requests: 2, cost_nanos: 1_000 }, { end_user: "bob", requests: 1, cost_nanos: 2_500 }]);
  });

  it("the queue handler stores a batch and acknowledges it; a message that is not a record is dropped, not retried forever", async () => {
    const id = uniqueTag("queued");
    const batch = createMessageBatch<RequestLogEntry>("switchyard-request-log", [
      { id: "m1", timestamp: new Date(), attempts: 1, body: entry(id, { keyId: "key_queuehandler00" }) },
      { id: "m2", timestamp: new Date(), attempts: 1, body: { nonsense: true } as unknown as RequestLogEntry },
    ]);
    const ctx = createExecutionContext();
    await consumeLog(batch, env as Env, ctx);
    const result = await getQueueResult(batch, ctx);
    expect(result.ackAll).toBe(true);
    expect(result.retryBatch.retry).toBe(false);
    expect(await db().prepare("SELECT id FROM requests WHERE id = ?").bind(id).first()).toEqual({ id });
  });

  it("retention prunes records past LOG_RETENTION_DAYS and rollups past 400 days", async () => {
    const keyId = `key_${uniqueTag("old").slice(-16)}`;
    const now = Date.parse("2026-12-01T00:00:00Z");
    const old = entry(uniqueTag("old"), { keyId, time: now - 31 * 86_400_000 });
    const recent = entry(uniqueTag("recent"), { keyId, time: now - 29 * 86_400_000 });
    const ancient = entry(uniqueTag("ancient"), { keyId, time: now - 401 * 86_400_000 });
    await storeRecords(db(), [old, recent, ancient], 5);
    await pruneLog({ ...env, LOG_RETENTION_DAYS: "30" } as Env, now);
    const left = (await db().prepare("SELECT id FROM requests WHERE key_id = ?").bind(keyId).all<{ id: string }>()).results.map((r) => r.id);
    expect(left).toEqual([recent.requestId]);
    const hours = (await db().prepare("SELECT hour FROM rollup_hour WHERE key_id = ?").bind(keyId).all()).results;
    expect(hours).toHaveLength(2); // the 31- and 29-day-old hours stay; the 401-day-old one goes
  });

  it("the Worker's scheduled() handler (the hourly Cron Trigger) runs the retention", async () => {
    const keyId = `key_${uniqueTag("cron").slice(-16)}`;
    const now = Date.now();
    const stale = entry(uniqueTag("stale"), { keyId, time: now - 40 * 86_400_000 });
    await storeRecords(db(), [stale], 5);
    const ctx = createExecutionContext();
    worker.scheduled(createScheduledController({ scheduledTime: now, cron: "17 * * * *" }), env as Env, ctx);
    await waitOnExecutionContext(ctx);
    expect(await db().prepare("SELECT id FROM requests WHERE id = ?").bind(stale.requestId).first()).toBeNull();
  });

  it("a typical record takes under 1 KB of the database, indexes and rollups included (README's capacity figures)", async () => {
    const keyId = `key_${uniqueTag("size").slice(-16)}`;
    const before = (await db().prepare("SELECT 1").run()).meta.size_after;
    const typical = (i: number): RequestLogEntry => entry(`req_${crypto.randomUUID().replaceAll("-", "")}`, {
      keyId, time: Date.now() - i * 1_000, user: `user-${i % 50}`, requested: "fast", model: "gpt-4o-mini",
      usage: { prompt_tokens: 1_234, completion_tokens: 321, total_tokens: 1_555, prompt_tokens_details: { cached_tokens: 1_024 }, completion_tokens_details: { reasoning_tokens: 0 } },
      costParts: { input: 0.000031, cachedInput: 0.000077, output: 0.000193 },
    });
    let rowsWritten = 0;
    const batches = Array.from({ length: 20 }, (_, b) => Array.from({ length: 100 }, (_, j) => typical(b * 100 + j)));
    const started = performance.now();
    for (const batch of batches) rowsWritten += (await storeRecords(db(), batch, 5)).rowsWritten;
    const seconds = (performance.now() - started) / 1_000;
    const after = (await db().prepare("SELECT 1").run()).meta.size_after;
    const perRecord = (after - before) / 2_000;
    console.info(
      `request log: ${perRecord.toFixed(0)} bytes and ${(rowsWritten / 2_000).toFixed(2)} D1 rows written per record; ` +
        `the consumer stored ${(2_000 / seconds).toFixed(0)} records/s into local D1 in batches of 100`,
    );
    expect(perRecord).toBeLessThan(1_000);
    expect(rowsWritten / 2_000).toBeLessThan(12);
    // The target is 2,000 records/s (measured ~5,000 on 2 cores); half of it fails the test even on a loaded CI machine.
    expect(2_000 / seconds).toBeGreaterThan(1_000);
  });
});
