/** Issue 13, item 4: cost anomalies flagged in the request log and alerted once each. */
import { createExecutionContext, createMessageBatch, env, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { Env } from "../../src/env.ts";
import { MIN_SAMPLES } from "../../src/observability/anomalies.ts";
import { consumeLog, storeRecords } from "../../src/observability/log-consumer.ts";
import type { RequestLogEntry } from "../../src/observability/request-log.ts";
import { MOCK, gateway, json, scriptUpstream, uniqueTag } from "./helpers.ts";
import { newKey, setPrice, withLedger } from "./ledger-helpers.ts";

const db = (): D1Database => {
  if (env.LOG_DB === undefined) throw new Error("wrangler.toml binds LOG_DB");
  return env.LOG_DB;
};

const HOUR = 3_600_000;

function entry(keyId: string, time: number, costNanos: number, over: Partial<RequestLogEntry> = {}): RequestLogEntry {
  return {
    requestId: `req_${crypto.randomUUID().replaceAll("-", "")}`, time, keyId, user: null, endpoint: "chat", requested: "m", provider: "openai", model: "gpt-4o-mini",
    stream: false, attempts: 1, status: 200, outcome: "completed", usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
    costUsd: costNanos / 1e9, costNanos, costEstimated: false, ttfbMs: 10, durationMs: 20, ...over,
  };
}

async function consume(entries: RequestLogEntry[], bindings: Env): Promise<void> {
  const batch = createMessageBatch<RequestLogEntry>("switchyard-request-log", entries.map((body, i) => ({ id: `m${i}`, timestamp: new Date(), attempts: 1, body })));
  const ctx = createExecutionContext();
  await consumeLog(batch, bindings, ctx);
  await waitOnExecutionContext(ctx);
}

async function delivered(tag: string): Promise<Array<{ body: Record<string, unknown> }>> {
  return (await fetch(`${MOCK}/__mock/webhook/${tag}`)).json();
}

describe("cost anomalies", () => {
  it(`a request over k × its key and model's median (after ${MIN_SAMPLES} answers) is flagged and alerted once, even when its batch comes again`, async () => {
    const keyId = `key_${uniqueTag("median").slice(-16)}`;
    const tag = uniqueTag("anomaly-hook");
    const bindings = { ...env, ALERT_WEBHOOK_URL: `${MOCK}/__mock/webhook/${tag}`, ANOMALY_FACTOR: "5" } as Env;
    const now = Date.now();
    await storeRecords(db(), Array.from({ length: MIN_SAMPLES }, (_, i) => entry(keyId, now - (i + 1) * 60_000, 1_000)), 5);
    // Hand computation: the median is 1,000 nanos; 5,001 is over 5 × 1,000, 5,000 is not.
    const spike = entry(keyId, now, 5_001);
    const normal = entry(keyId, now, 5_000);
    await consume([spike, normal], bindings);
    await consume([spike, normal], bindings); // the queue delivers the batch again
    const flags = (await db().prepare("SELECT id, anomaly FROM requests WHERE id IN (?, ?)").bind(spike.requestId, normal.requestId).all<{ id: string; anomaly: string | null }>()).results;
    expect(Object.fromEntries(flags.map((f) => [f.id, f.anomaly]))).toEqual({ [spike.requestId]: "over_median", [normal.requestId]: null });
    const alerts = await delivered(tag);
    expect(alerts.map((a) => a.body)).toEqual([
      { type: "request_cost", reason: "over_median", keyId, requestId: spike.requestId, model: "openai/gpt-4o-mini", costUsd: 0.000005001, baselineUsd: 0.000001, factor: 5 },
    ]);
  });

  it("fewer answers than a median needs flag nothing", async () => {
    const keyId = `key_${uniqueTag("young").slice(-16)}`;
    await storeRecords(db(), [entry(keyId, Date.now() - 1_000, 1_000)], 5);
    const second = entry(keyId, Date.now(), 1_000_000);
    const stored = await storeRecords(db(), [second], 5);
    expect(stored.anomalies).toEqual([]);
  });

  it("an hour a key spends over k × its 7-day average for that hour is alerted once", async () => {
    const keyId = `key_${uniqueTag("hourly").slice(-16)}`;
    const tag = uniqueTag("hour-hook");
    const bindings = { ...env, ALERT_WEBHOOK_URL: `${MOCK}/__mock/webhook/${tag}`, ANOMALY_FACTOR: "5" } as Env;
    const hour = Math.floor(Date.now() / HOUR) * HOUR;
    // The same hour on each of the 7 days before: 2,000,000 nanos each, an average of $0.002.
    await storeRecords(db(), Array.from({ length: 7 }, (_, d) => entry(keyId, hour - (d + 1) * 24 * HOUR + 60_000, 2_000_000)), 5);
    // This hour: $0.011 in all, over 5 × $0.002 (and over the $0.01 floor).
    await consume([entry(keyId, hour + 60_000, 6_000_000), entry(keyId, hour + 120_000, 5_000_000)], bindings);
    await consume([entry(keyId, hour + 180_000, 1_000)], bindings);
    const alerts = (await delivered(tag)).map((a) => a.body).filter((b) => b.type === "hourly_spend");
    expect(alerts).toEqual([{ type: "hourly_spend", keyId, hour: new Date(hour).toISOString(), costUsd: 0.011, baselineUsd: 0.002, factor: 5 }]);
  });

  it("a request over its key's maxCostPerRequestUsd is flagged in its record", async () => {
    const L = withLedger();
    const hook = uniqueTag("cap-hook");
    const { id, key } = await newKey({ maxCostPerRequestUsd: 1, alertWebhook: `${MOCK}/__mock/webhook/${hook}` });
    const model = uniqueTag("capped");
    await setPrice(model, 1, 1);
    // The provider reports 10 million prompt tokens ($10) for a request whose worst case was a few cents: over the $1 cap.
    const tag = uniqueTag("over-cap");
    await scriptUpstream(tag, { usage: { prompt_tokens: 10_000_000, completion_tokens: 1, total_tokens: 10_000_001 } });
    const res = await gateway("/v1/chat/completions", json({ model: `openai/${model}`, user: tag, messages: [{ role: "user", content: tag }], max_tokens: 5 }, key), L);
    await res.text();
    for (let i = 0; i < 200; i++) {
      const row = await db().prepare("SELECT anomaly FROM requests WHERE key_id = ?").bind(id).first<{ anomaly: string | null }>();
      if (row !== null) {
        expect([res.status, row.anomaly]).toEqual([200, "over_cap"]);
        // Alerted once, by the log's consumer, to the key's webhook.
        for (let j = 0; j < 100 && (await delivered(hook)).length === 0; j++) await new Promise((r) => setTimeout(r, 50));
        expect((await delivered(hook)).map((a) => [a.body.type, a.body.reason, a.body.requestId])).toEqual([["request_cost", "over_cap", res.headers.get("x-switchyard-request-id")]]);
        return;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`no record for ${id} (status ${res.status})`);
  });
});
