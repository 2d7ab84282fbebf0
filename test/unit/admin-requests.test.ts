/** Issue 13: /admin/requests (filters, cursor pages, one record) and /admin/analytics (series from the rollups). */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { storeRecords } from "../../src/observability/log-consumer.ts";
import type { RequestLogEntry } from "../../src/observability/request-log.ts";
import { admin, gateway, testEnv, uniqueTag, type OpenAIError } from "./helpers.ts";

const db = (): D1Database => {
  if (env.LOG_DB === undefined) throw new Error("wrangler.toml binds LOG_DB");
  return env.LOG_DB;
};

const T0 = Date.parse("2026-11-20T00:00:00Z");
const HOUR = 3_600_000;

function entry(keyId: string, i: number, over: Partial<RequestLogEntry> = {}): RequestLogEntry {
  return {
    requestId: `req_${keyId}_${String(i).padStart(4, "0")}`, time: T0 + i * 10 * 60_000, keyId, user: i % 2 === 0 ? "alice" : "bob", endpoint: "chat",
    requested: "fast", provider: "openai", model: i % 3 === 0 ? "gpt-4o" : "gpt-4o-mini", stream: false, attempts: 1, status: 200, outcome: "completed",
    usage: { prompt_tokens: 100, completion_tokens: 10, total_tokens: 110 }, costUsd: 0.00001, costNanos: 10_000, costEstimated: false,
    ttfbMs: 20 + i, durationMs: 100 + i, ...over,
  };
}

async function get<T>(path: string): Promise<{ status: number; body: T }> {
  const res = await gateway(path, admin("GET"), testEnv());
  return { status: res.status, body: await res.json<T>() };
}

interface Page {
  data: Array<{ id: string; time: string; user: string; model: string; costUsd: number; status: number }>;
  nextCursor: string | null;
}

describe("GET /admin/requests", () => {
  it("lists records newest first with filters, and pages through them with the cursor", async () => {
    const keyId = `key_${uniqueTag("list").slice(-16)}`;
    await storeRecords(db(), Array.from({ length: 12 }, (_, i) => entry(keyId, i, i === 5 ? { status: 402, outcome: "refused", errorCode: "budget_exceeded", costNanos: 0, costUsd: null, usage: null } : {})), 5);
    const first = await get<Page>(`/admin/requests?key=${keyId}&limit=5`);
    expect(first.status).toBe(200);
    expect(first.body.data.map((r) => r.id)).toEqual([11, 10, 9, 8, 7].map((i) => `req_${keyId}_${String(i).padStart(4, "0")}`));
    const seen = [...first.body.data];
    let cursor = first.body.nextCursor;
    while (cursor !== null) {
      const page = await get<Page>(`/admin/requests?key=${keyId}&limit=5&cursor=${cursor}`);
      seen.push(...page.body.data);
      cursor = page.body.nextCursor;
    }
    expect(seen).toHaveLength(12);
    expect(new Set(seen.map((r) => r.id)).size).toBe(12);
    const refused = await get<Page>(`/admin/requests?key=${keyId}&status=402`);
    expect(refused.body.data).toHaveLength(1);
    expect((await get<Page>(`/admin/requests?key=${keyId}&user=alice&model=openai/gpt-4o`)).body.data.map((r) => r.id)).toEqual(
      [6, 0].map((i) => `req_${keyId}_${String(i).padStart(4, "0")}`),
    );
    const window = await get<Page>(`/admin/requests?key=${keyId}&from=${new Date(T0 + 30 * 60_000).toISOString()}&to=${T0 + 60 * 60_000}`);
    expect(window.body.data).toHaveLength(3);
    const one = await get<Record<string, unknown>>(`/admin/requests/req_${keyId}_0005`);
    expect(one.body).toMatchObject({ status: 402, outcome: "refused", errorCode: "budget_exceeded", costUsd: null, keyId, user: "bob" });
  });

  it("explains bad queries with a 400 and an unknown id with a 404", async () => {
    expect((await get<OpenAIError>("/admin/requests?limit=0")).status).toBe(400);
    expect((await get<OpenAIError>("/admin/requests?from=yesterday")).body.error.param).toBe("from");
    expect((await get<OpenAIError>("/admin/requests?cursor=!!!")).status).toBe(400);
    expect((await get<OpenAIError>("/admin/requests?nope=1")).status).toBe(400);
    expect((await get<OpenAIError>("/admin/requests/req_nothing")).status).toBe(404);
  });
});

interface Analytics {
  interval: string;
  series: Array<{ group: string; points: Array<{ time: string; requests: number; costNanos: number; errors: number; latencyP50Ms: number | null; latencyP95Ms: number | null }> }>;
  totals: Record<string, unknown>;
}

describe("GET /admin/analytics", () => {
  it("series per model and per user from the rollups, with latency percentiles from their histograms", async () => {
    const keyId = `key_${uniqueTag("series").slice(-16)}`;
    // 12 records over two hours: 6 an hour; every third one gpt-4o.
    await storeRecords(db(), Array.from({ length: 12 }, (_, i) => entry(keyId, i)), 5);
    const byModel = await get<Analytics>(`/admin/analytics?key=${keyId}&from=${T0}&to=${T0 + 2 * HOUR}&groupBy=model`);
    expect(byModel.status).toBe(200);
    expect(byModel.body.interval).toBe("hour");
    const mini = byModel.body.series.find((s) => s.group === "openai/gpt-4o-mini");
    const big = byModel.body.series.find((s) => s.group === "openai/gpt-4o");
    // Hand computation: per hour 6 records, i = 0, 3 (first hour) and 6, 9 (second) are gpt-4o; each 10,000 nanos.
    expect(big?.points.map((p) => [p.requests, p.costNanos])).toEqual([[2, 20_000], [2, 20_000]]);
    expect(mini?.points.map((p) => [p.requests, p.costNanos])).toEqual([[4, 40_000], [4, 40_000]]);
    // Durations 100–111 ms all fall in the 64–128 ms bucket: both percentiles are its upper edge.
    expect(mini?.points[0]).toMatchObject({ latencyP50Ms: 128, latencyP95Ms: 128 });
    // The span's totals: 12 records, 120,000 nanos; TTFB 20–31 ms: p50 and p95 in the 16–32 ms bucket, durations in 64–128 ms.
    expect(byModel.body.totals).toEqual({
      requests: 12, errors: 0, refused: 0, costUsd: 0.00012, costNanos: 120_000, promptTokens: 1_200, completionTokens: 120,
      latencyP50Ms: 128, latencyP95Ms: 128, ttfbP50Ms: 32, ttfbP95Ms: 32,
    });
    // Without per-point latency (the dashboard's chart): the same counts per point, no percentiles on them, the same totals.
    const light = await get<Analytics>(`/admin/analytics?key=${keyId}&from=${T0}&to=${T0 + 2 * HOUR}&groupBy=model&latency=false`);
    expect(light.body.series.find((s) => s.group === "openai/gpt-4o-mini")?.points.map((p) => [p.requests, p.costNanos, p.latencyP50Ms])).toEqual([[4, 40_000, undefined], [4, 40_000, undefined]]);
    expect(light.body.totals).toEqual(byModel.body.totals);
    // The most expensive models over the span: gpt-4o-mini (8 × 10,000 nanos) before gpt-4o (4 × 10,000).
    const top = await get<{ data: Array<{ group: string; requests: number; costNanos: number }> }>(`/admin/analytics/top?key=${keyId}&from=${T0}&to=${T0 + 2 * HOUR}&groupBy=model`);
    expect(top.body.data.map((g) => [g.group, g.requests, g.costNanos])).toEqual([["openai/gpt-4o-mini", 8, 80_000], ["openai/gpt-4o", 4, 40_000]]);
    // Alice and Bob each made 6 requests, 10,000 nanos each: the tie is broken by name, and limit=1 keeps one.
    const topUser = await get<{ data: Array<{ group: string; requests: number; costNanos: number }> }>(`/admin/analytics/top?key=${keyId}&from=${T0}&to=${T0 + 2 * HOUR}&groupBy=user&limit=1`);
    expect(topUser.body.data).toEqual([expect.objectContaining({ group: "alice", requests: 6, costNanos: 60_000 })]);
    expect((await get<OpenAIError>(`/admin/analytics/top?limit=101`)).status).toBe(400);
    const byUser = await get<Analytics>(`/admin/analytics?key=${keyId}&from=${T0}&to=${T0 + 2 * HOUR}&groupBy=user`);
    expect(byUser.body.interval).toBe("day");
    // End users are rolled up without latency histograms: their totals have no percentiles.
    expect(byUser.body.totals).toMatchObject({ requests: 12, costNanos: 120_000, latencyP50Ms: null, ttfbP95Ms: null });
    expect(byUser.body.series.map((s) => [s.group, s.points[0]?.requests]).sort()).toEqual([["alice", 6], ["bob", 6]]);
    expect((await get<OpenAIError>(`/admin/analytics?groupBy=user&interval=hour`)).status).toBe(400);
    expect((await get<OpenAIError>(`/admin/analytics?from=${T0}&to=${T0 + 400 * 86_400_000}&interval=hour`)).status).toBe(400);
  });

  it("a daily series covers its span to the hour: whole days from the daily rollup, the edges from the hourly one", async () => {
    const keyId = `key_${uniqueTag("edges").slice(-16)}`;
    const at = [1, 13, 49, 77, 79].map((h) => T0 + h * HOUR + 60_000);
    await storeRecords(db(), at.map((time, i) => entry(keyId, i, { requestId: `req_${keyId}_e${i}`, time })), 5);
    // From 12:00 on the first day to 06:00 on the fourth: hours 13, 49 (a whole day inside) and 77 count; 1 and 79 are outside.
    const from = T0 + 12 * HOUR;
    const to = T0 + 78 * HOUR;
    const series = await get<Analytics & { from: string; to: string }>(`/admin/analytics?key=${keyId}&from=${from}&to=${to}&interval=day&groupBy=model`);
    expect(series.body.totals).toMatchObject({ requests: 3, costNanos: 30_000 });
    expect([series.body.from, series.body.to]).toEqual([new Date(from).toISOString(), new Date(to).toISOString()]);
    // Per UTC day: one on the first, one on the third, one on the fourth.
    expect(series.body.series.flatMap((s) => s.points.map((p) => [p.time, p.requests])).sort()).toEqual(
      [0, 2, 3].map((d) => [new Date(T0 + d * 24 * HOUR).toISOString(), 1]),
    );
    const top = await get<{ data: Array<{ requests: number }> }>(`/admin/analytics/top?key=${keyId}&from=${from}&to=${to}&interval=day&groupBy=key`);
    expect(top.body.data.map((g) => g.requests)).toEqual([3]);
  });

  it("answers over 30 days × 10 keys × 10 models of rollups in under 100 ms (from the daily rollup the consumer keeps beside the hourly)", async () => {
    const base = Date.parse("2026-09-01T00:00:00Z") / HOUR;
    const statements: D1PreparedStatement[] = [];
    for (let h = 0; h < 30 * 24; h++) {
      const values: unknown[] = [];
      for (let k = 0; k < 10; k++) for (let m = 0; m < 10; m++) values.push(base + h, `key_bench${k}`, "openai", `model-${m}`);
      statements.push(db().prepare(`INSERT OR IGNORE INTO rollup_hour (hour, key_id, provider, model, requests, errors, refused, cost_nanos, estimated, prompt_tokens, completion_tokens, cached_tokens, reasoning_tokens, lat_3, ttfb_2)
        SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, 10, 0, 0, 1000, 0, 100, 10, 0, 0, 10, 10 FROM json_each(?)`).bind(JSON.stringify(chunk(values, 4))));
    }
    for (let d = 0; d < 30; d++) {
      const values: unknown[] = [];
      for (let k = 0; k < 10; k++) for (let m = 0; m < 10; m++) values.push(base / 24 + d, `key_bench${k}`, "openai", `model-${m}`);
      statements.push(db().prepare(`INSERT OR IGNORE INTO rollup_day (day, key_id, provider, model, requests, errors, refused, cost_nanos, estimated, prompt_tokens, completion_tokens, cached_tokens, reasoning_tokens, lat_3, ttfb_2)
        SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, 240, 0, 0, 24000, 0, 2400, 240, 0, 0, 240, 240 FROM json_each(?)`).bind(JSON.stringify(chunk(values, 4))));
    }
    for (let i = 0; i < statements.length; i += 50) await db().batch(statements.slice(i, i + 50));
    const started = performance.now();
    const res = await get<Analytics>(`/admin/analytics?from=2026-09-01T00:00:00Z&to=2026-10-01T00:00:00Z&groupBy=model`);
    const elapsed = performance.now() - started;
    expect(res.status).toBe(200);
    const models = res.body.series.filter((s) => s.group.startsWith("openai/model-"));
    expect(models).toHaveLength(10);
    expect(models[0]?.points).toHaveLength(30);
    // Hand computation: 24 hours × 10 keys × 10 requests a day per model.
    expect(models[0]?.points[0]?.requests).toBe(2_400);
    expect(elapsed).toBeLessThan(100);
  });
});

describe("GET /admin/anomalies", () => {
  it("lists the anomalies found, newest first, by key and time, and explains a bad query", async () => {
    const keyId = `key_${uniqueTag("anoms").slice(-16)}`;
    const found = [
      { type: "request_cost", reason: "over_median", keyId, requestId: "req_a", model: "openai/gpt-4o", costUsd: 0.5, baselineUsd: 0.01, factor: 5 },
      { type: "hourly_spend", keyId, hour: "2026-11-20T03:00:00.000Z", costUsd: 2, baselineUsd: 0.1, factor: 5 },
    ];
    await db().batch(found.map((a, i) => db().prepare("INSERT INTO anomalies (kind, key_id, subject, at, detail) VALUES (?, ?, ?, ?, ?)").bind(a.type, keyId, `s${i}`, T0 + i * HOUR, JSON.stringify(a))));
    const all = await get<{ data: Array<Record<string, unknown>> }>(`/admin/anomalies?key=${keyId}`);
    expect(all.status).toBe(200);
    expect(all.body.data).toEqual([
      { foundAt: new Date(T0 + HOUR).toISOString(), ...found[1] },
      { foundAt: new Date(T0).toISOString(), ...found[0] },
    ]);
    const early = await get<{ data: unknown[] }>(`/admin/anomalies?key=${keyId}&to=${T0 + HOUR}`);
    expect(early.body.data).toHaveLength(1);
    const bad = await get<OpenAIError>(`/admin/anomalies?limit=0`);
    expect([bad.status, bad.body.error.param]).toEqual([400, "limit"]);
  });
});

function chunk<T>(values: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < values.length; i += size) out.push(values.slice(i, i + size));
  return out;
}
