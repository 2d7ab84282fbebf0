/** Issue 13: the request log's edges (from its review): ranges, big bodies, young keys, refusals' users, retention of bodies, listings. */
import { createExecutionContext, createMessageBatch, env, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { Env } from "../../src/env.ts";
import { MIN_HISTORY_DAYS } from "../../src/observability/anomalies.ts";
import { consumeLog, storeRecords } from "../../src/observability/log-consumer.ts";
import type { RequestLogEntry } from "../../src/observability/request-log.ts";
import { pruneLog } from "../../src/observability/retention.ts";
import { DEV_KEY, MOCK, admin, gateway, json, testEnv, uniqueTag } from "./helpers.ts";
import { newKey, setBudget, setPrice, withLedger } from "./ledger-helpers.ts";

const db = (): D1Database => env.LOG_DB as D1Database;
const HOUR = 3_600_000;
const DAY = 86_400_000;

const entry = (keyId: string, time: number, costNanos = 1_000, over: Partial<RequestLogEntry> = {}): RequestLogEntry => ({
  requestId: `req_${crypto.randomUUID().replaceAll("-", "")}`, time, keyId, user: null, endpoint: "chat", requested: "m", provider: "openai", model: "gpt-4o-mini",
  stream: false, attempts: 1, status: 200, outcome: "completed", usage: null, costUsd: costNanos / 1e9, costNanos, costEstimated: false, durationMs: 10, ...over,
});

async function stored(id: string): Promise<Record<string, unknown> | null> {
  for (let i = 0; i < 200; i++) {
    const row = await db().prepare("SELECT * FROM requests WHERE id = ?").bind(id).first();
    if (row !== null) return row;
    await new Promise((r) => setTimeout(r, 50));
  }
  return null;
}

describe("the request log's edges", () => {
  it("analytics keep to the range asked: a day is one point, and a range starting mid-hour keeps that hour", async () => {
    const keyId = `key_${uniqueTag("range").slice(-16)}`;
    const midnight = Date.parse("2026-11-20T00:00:00Z");
    await storeRecords(db(), [entry(keyId, midnight + 10 * HOUR + 60_000), entry(keyId, midnight + DAY + HOUR)], 5);
    const day = await (await gateway(`/admin/analytics?key=${keyId}&from=${midnight}&to=${midnight + DAY}&interval=day&groupBy=key`, admin("GET"))).json<{ series: Array<{ points: unknown[] }> }>();
    expect(day.series[0]?.points).toHaveLength(1);
    const hour = await (await gateway(`/admin/analytics?key=${keyId}&from=${midnight + 10 * HOUR + 30_000}&to=${midnight + 11 * HOUR}&interval=hour&groupBy=key`, admin("GET"))).json<{ series: Array<{ points: Array<{ requests: number }> }> }>();
    expect(hour.series[0]?.points.map((p) => p.requests)).toEqual([1]);
    expect((await gateway(`/admin/analytics?from=9000000000000000&to=9000000086400000`, admin("GET"))).status).toBe(400);
  });

  it("a record whose bodies would overflow a queue message still arrives, without them", async () => {
    const { key } = await newKey({ logBodies: "anomalies" });
    const prompt = "语".repeat(60_000); // 180 KB in UTF-8: more than a queue message holds
    const res = await gateway("/v1/chat/completions", json({ model: "openai/gpt-4o-mini", messages: [{ role: "user", content: prompt }] }, key), withLedger());
    expect(res.status).toBe(200);
    await res.text();
    expect(await stored(res.headers.get("x-switchyard-request-id") ?? "")).not.toBeNull();
  });

  it(`an hourly spike needs ${MIN_HISTORY_DAYS} days of history: a young key's second day is not one`, async () => {
    const keyId = `key_${uniqueTag("young-hour").slice(-16)}`;
    const tag = uniqueTag("young-hook");
    const bindings = { ...env, ALERT_WEBHOOK_URL: `${MOCK}/__mock/webhook/${tag}` } as Env;
    const hour = Math.floor(Date.now() / HOUR) * HOUR;
    await storeRecords(db(), [entry(keyId, hour - 24 * HOUR + 1_000, 2_000_000)], 5);
    const batch = createMessageBatch<RequestLogEntry>("switchyard-request-log", [{ id: "m", timestamp: new Date(), attempts: 1, body: entry(keyId, hour + 1_000, 50_000_000) }]);
    const ctx = createExecutionContext();
    await consumeLog(batch, bindings, ctx);
    await waitOnExecutionContext(ctx);
    expect(await (await fetch(`${MOCK}/__mock/webhook/${tag}`)).json()).toEqual([]);
  });

  it("a budget refusal's record names its end user; a model listing leaves a record", async () => {
    const L = withLedger();
    const { id, key } = await newKey();
    const model = uniqueTag("refused-user");
    await setPrice(model, 1, 1);
    await setBudget(`key:${id}`, { limitUsd: 0.0000001, period: "day" });
    const refused = await gateway("/v1/chat/completions", json({ model: `openai/${model}`, messages: [{ role: "user", content: "hi" }], user: "carol" }, key), L);
    expect(refused.status).toBe(402);
    expect(await stored(refused.headers.get("x-switchyard-request-id") ?? "")).toMatchObject({ end_user: "carol", status: 402 });
    const listing = await gateway("/v1/models", { headers: { authorization: `Bearer ${DEV_KEY}` } }, testEnv());
    expect(listing.status).toBe(200);
    expect(await stored(listing.headers.get("x-switchyard-request-id") ?? "")).toMatchObject({ endpoint: "models", status: 200, key_id: "dev" });
  });

  it("retention deletes every stored body of the days past it, oldest first, however far back", async () => {
    const bucket = env.LOG_BODIES as R2Bucket;
    const now = Date.parse("2027-06-01T12:00:00Z");
    const keys = ["2026/12/01/req_a.json", "2027/04/01/req_b.json", "2027/05/31/req_c.json"];
    for (const k of keys) await bucket.put(k, "{}");
    await pruneLog({ ...env, LOG_RETENTION_DAYS: "30" } as Env, now);
    expect(await Promise.all(keys.map(async (k) => (await bucket.head(k)) !== null))).toEqual([false, false, true]);
  });
});
