/** Issue 13, item 3: a key's logBodies keeps request and response bodies in R2 (yyyy/mm/dd/<id>.json). */
import { createExecutionContext, createMessageBatch, env, waitOnExecutionContext } from "cloudflare:test";
import type { Env } from "../../src/env.ts";
import { consumeLog, storeRecords } from "../../src/observability/log-consumer.ts";
import type { RequestLogEntry } from "../../src/observability/request-log.ts";
import { describe, expect, it } from "vitest";
import { admin, gateway, json, scriptUpstream, testEnv, uniqueTag } from "./helpers.ts";
import { newKey, setPrice, withLedger } from "./ledger-helpers.ts";

interface Record_ {
  id: string;
  bodiesStored: boolean;
  bodies?: { request: string; response: string | null; truncated: boolean };
}

async function recordOf(id: string): Promise<Record_> {
  for (let i = 0; i < 200; i++) {
    const res = await gateway(`/admin/requests/${id}`, admin("GET"), testEnv());
    if (res.status === 200) return res.json<Record_>();
    await res.text();
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no record ${id}`);
}

const bucket = (): R2Bucket => {
  if (env.LOG_BODIES === undefined) throw new Error("wrangler.toml binds LOG_BODIES");
  return env.LOG_BODIES;
};

describe("request and response bodies", () => {
  it("logBodies 'all' keeps both bodies of answered and streamed requests, under the request's day", async () => {
    const L = withLedger();
    const { key } = await newKey({ logBodies: "all" });
    const secret = uniqueTag("the exact input");
    const plain = await gateway("/v1/chat/completions", json({ model: "openai/gpt-4o-mini", messages: [{ role: "user", content: secret }], mock: { content: "a plain answer" } }, key), L);
    const streamed = await gateway("/v1/chat/completions", json({ model: "openai/gpt-4o-mini", stream: true, messages: [{ role: "user", content: secret }], mock: { content: "a streamed answer" } }, key), L);
    await plain.text();
    await streamed.text();
    const first = await recordOf(plain.headers.get("x-switchyard-request-id") ?? "");
    expect(first.bodies?.request).toContain(secret);
    expect(first.bodies?.response).toContain("a plain answer");
    const second = await recordOf(streamed.headers.get("x-switchyard-request-id") ?? "");
    expect(second.bodies?.response).toContain("data: ");
    expect(second.bodies?.response).toContain("streamed");
    const day = new Date().toISOString().slice(0, 10).replaceAll("-", "/");
    expect(await bucket().head(`${day}/${first.id}.json`)).not.toBeNull();
  });

  it("logBodies 'anomalies' keeps only the flagged requests' bodies; a key without it keeps none", async () => {
    const L = withLedger();
    const { key } = await newKey({ logBodies: "anomalies", maxCostPerRequestUsd: 1 });
    const model = uniqueTag("bodies-cap");
    await setPrice(model, 1, 1);
    const normal = await gateway("/v1/chat/completions", json({ model: `openai/${model}`, messages: [{ role: "user", content: "normal" }], max_tokens: 5 }, key), L);
    await normal.text();
    const tag = uniqueTag("bodies-spike");
    await scriptUpstream(tag, { usage: { prompt_tokens: 10_000_000, completion_tokens: 1, total_tokens: 10_000_001 } });
    const spike = await gateway("/v1/chat/completions", json({ model: `openai/${model}`, user: tag, messages: [{ role: "user", content: tag }], max_tokens: 5 }, key), L);
    await spike.text();
    expect((await recordOf(normal.headers.get("x-switchyard-request-id") ?? "")).bodiesStored).toBe(false);
    const flagged = await recordOf(spike.headers.get("x-switchyard-request-id") ?? "");
    expect(flagged.bodiesStored).toBe(true);
    expect(flagged.bodies?.request).toContain(tag);

    const off = await newKey();
    const quiet = await gateway("/v1/chat/completions", json({ model: "openai/gpt-4o-mini", messages: [{ role: "user", content: "hi" }] }, off.key), L);
    await quiet.text();
    expect((await recordOf(quiet.headers.get("x-switchyard-request-id") ?? "")).bodiesStored).toBe(false);
  });

  it("bodies that rode with a record are kept when the consumer flags it over its median, and only then", async () => {
    const keyId = `key_${uniqueTag("ride").slice(-16)}`;
    const now = Date.now();
    const record = (cost: number, tag: string): RequestLogEntry => ({
      requestId: `req_${crypto.randomUUID().replaceAll("-", "")}`, time: now, keyId, user: null, endpoint: "chat", requested: "m", provider: "openai", model: "gpt-4o",
      stream: false, attempts: 1, status: 200, outcome: "completed", usage: null, costUsd: cost / 1e9, costNanos: cost, costEstimated: false, durationMs: 5,
      capturedBodies: { request: `{"tag":"${tag}"}`, response: "{}", truncated: false },
    });
    await storeRecords(env.LOG_DB as D1Database, Array.from({ length: 20 }, (_, i) => ({ ...record(1_000, "past"), time: now - (i + 1) * 1_000 })), 5);
    const spike = record(100_000, "spike");
    const usual = record(1_000, "usual");
    const batch = createMessageBatch<RequestLogEntry>("switchyard-request-log", [spike, usual].map((body, i) => ({ id: `m${i}`, timestamp: new Date(), attempts: 1, body })));
    const ctx = createExecutionContext();
    await consumeLog(batch, env as Env, ctx);
    await waitOnExecutionContext(ctx);
    expect((await recordOf(spike.requestId)).bodies?.request).toBe('{"tag":"spike"}');
    expect((await recordOf(usual.requestId)).bodiesStored).toBe(false);
  });
});
