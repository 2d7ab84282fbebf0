/**
 * Rate limits through the whole gateway, against real Redis: the real
 * @upstash/ratelimit scripts run on the test's redis-server behind the Upstash
 * REST bridge (test/support/redis-bridge.ts).
 */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { Env } from "../../src/env.ts";
import { admin, gateway, json, testEnv, uniqueTag, upstreamSaw, type OpenAIError } from "./helpers.ts";

const redis = { UPSTASH_REDIS_REST_URL: env.TEST_UPSTASH_REDIS_REST_URL, UPSTASH_REDIS_REST_TOKEN: env.TEST_UPSTASH_REDIS_REST_TOKEN };
const R: Env = testEnv(redis);

async function newKey(limits: unknown): Promise<{ id: string; key: string }> {
  const res = await gateway("/admin/keys", admin("POST", { name: uniqueTag("limits"), limits }), R);
  expect(res.status).toBe(201);
  return res.json();
}

const hello = [{ role: "user", content: "Say something." }];
const chat = (key: string, body: Record<string, unknown> = {}, bindings: Env = R): Promise<Response> =>
  gateway("/v1/chat/completions", json({ model: "openai/gpt-4o-mini", messages: hello, ...body }, key), bindings);

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe("request limits", () => {
  it("let exactly 10 of 30 concurrent requests through a 10-per-minute key, and refuse the rest with a 429 that says when", async () => {
    const { key } = await newKey({ rpm: 10 });
    const answers = await Promise.all(Array.from({ length: 30 }, () => chat(key)));
    const ok = answers.filter((r) => r.status === 200);
    const limited = answers.filter((r) => r.status === 429);
    expect(ok.length).toBe(10);
    expect(limited.length).toBe(20);
    const error = (await limited[0]!.json<OpenAIError>()).error;
    expect(error).toMatchObject({ code: "rate_limit_exceeded", type: "requests" });
    expect(error.message).toContain("limit 10");
    const retryAfter = Number(limited[0]!.headers.get("retry-after"));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(limited[0]!.headers.get("x-ratelimit-limit-requests")).toBe("10");
    expect(limited[0]!.headers.get("x-ratelimit-remaining-requests")).toBe("0");
    expect(limited[0]!.headers.get("x-ratelimit-reset-requests")).toMatch(/^\d+(ms|s)$|^\d+m\d+s$/);
    const remaining = ok.map((r) => Number(r.headers.get("x-ratelimit-remaining-requests"))).sort((a, b) => a - b);
    expect(remaining).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    await Promise.all(answers.map((r) => (r.bodyUsed ? null : r.body?.cancel())));
  });

  it("limit each end user of a key apart, and each model by its pattern", async () => {
    const { key } = await newKey({ perUser: { rpm: 2 }, perModel: { "deepseek/*": { rpm: 1 } } });
    const as = (user: string) => chat(key, { user });
    expect([(await as("alice")).status, (await as("alice")).status, (await as("alice")).status]).toEqual([200, 200, 429]);
    expect((await as("bob")).status).toBe(200);
    const deepseek = (n: number) => chat(key, { model: "deepseek/deepseek-chat", user: `u${n}` });
    expect([(await deepseek(1)).status, (await deepseek(2)).status]).toEqual([200, 429]);
    const refusal = await (await deepseek(3)).json<OpenAIError>();
    expect(refusal.error.message).toContain("deepseek/*");
  });

  it("bind a model's rule to its aliases, its dated snapshots and its bare name (issue 12: the name as sent escaped it)", async () => {
    const { key } = await newKey({ perModel: { "openai/gpt-4o": { rpm: 3 } } });
    const alias = uniqueTag("gpt4o-alias").slice(0, 40);
    expect((await gateway(`/admin/routes/${alias}`, admin("PUT", { targets: [{ provider: "openai", model: "gpt-4o" }] }), R)).status).toBe(200);
    const statuses = [];
    for (const model of ["openai/gpt-4o-2024-08-06", "gpt-4o-2024-11-20", alias, "openai/gpt-4o"]) statuses.push((await chat(key, { model })).status);
    expect(statuses).toEqual([200, 200, 200, 429]);
    // Another model of the provider is not bound by it.
    expect((await chat(key, { model: "openai/gpt-4o-mini" })).status).toBe(200);
  });

  it("bind every rule that covers a target: a loose rule on one target does not shield a strict one on another", async () => {
    const { key } = await newKey({ perModel: { "deepseek/*": { rpm: 1000 }, "openai/gpt-4o": { rpm: 2 } } });
    const alias = uniqueTag("two-rules").slice(0, 40);
    await gateway(`/admin/routes/${alias}`, admin("PUT", { targets: [{ provider: "openai", model: "gpt-4o" }, { provider: "deepseek", model: "deepseek-chat" }] }), R);
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await chat(key, { model: alias })).status);
    expect(statuses).toEqual([200, 200, 429]);
  });

  it("use the algorithm and window a full-form rule names", async () => {
    const { key } = await newKey({ requests: { limit: 2, window: "10 s", algorithm: "fixed-window" } });
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await chat(key)).status);
    expect(statuses).toEqual([200, 200, 429]);
  });
});

describe("token limits", () => {
  it("count the prompt before the call and the real completion after it", async () => {
    // A request is counted its prompt bound (its ~130 bytes) before the call, then corrected to its real
    // tokens: ~10 prompt and 150 completion. Without the completions, 400 per minute would take many more.
    const { key } = await newKey({ tpm: 400 });
    const body = { mock: { streamEvents: 150 } };
    const first = await chat(key, body);
    expect(first.status).toBe(200);
    const used = (await first.json<{ usage: { total_tokens: number } }>()).usage.total_tokens;
    expect(used).toBeGreaterThan(150);
    await sleep(150); // the correction goes out after the answer
    const second = await chat(key, body);
    expect(second.status).toBe(200);
    expect(Number(second.headers.get("x-ratelimit-remaining-tokens"))).toBeLessThan(400 - used);
    await second.text();
    await sleep(150);
    const third = await chat(key, body);
    expect(third.status).toBe(429);
    expect((await third.json<OpenAIError>()).error.type).toBe("tokens");
    expect(third.headers.get("x-ratelimit-limit-tokens")).toBe("400");
  });
});

describe("outbound limits", () => {
  it("skip a target at its provider's limit for the next one, without calling it", async () => {
    const alias = uniqueTag("limited-route");
    const put = await gateway(
      `/admin/routes/${alias}`,
      admin("PUT", { targets: [{ provider: "openai", model: "primary-model", limits: { rpm: 1 } }, { provider: "deepseek", model: "deepseek-chat" }] }),
      R,
    );
    expect(put.status).toBe(200);
    const { key } = await newKey(undefined);
    const tag = uniqueTag("outbound");
    const models: string[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await chat(key, { model: alias, user: tag });
      expect(res.status).toBe(200);
      models.push(res.headers.get("x-switchyard-model") ?? "");
    }
    expect(models).toEqual(["primary-model", "deepseek-chat", "deepseek-chat"]);
    const saw = await upstreamSaw(tag);
    expect(saw.filter((r) => r.body.model === "primary-model").length).toBe(1);
  });

  it("answer 429 when every target of a route is out of headroom", async () => {
    const alias = uniqueTag("all-limited");
    await gateway(`/admin/routes/${alias}`, admin("PUT", { targets: [{ provider: "openai", model: uniqueTag("m"), limits: { rpm: 1 } }] }), R);
    const { key } = await newKey(undefined);
    expect((await chat(key, { model: alias })).status).toBe(200);
    const res = await chat(key, { model: alias });
    expect(res.status).toBe(429);
    expect((await res.json<OpenAIError>()).error.code).toBe("target_rate_limited");
    expect(Number(res.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
  });
});

describe("when Redis cannot be reached", () => {
  const dead = { UPSTASH_REDIS_REST_URL: "http://127.0.0.1:9", UPSTASH_REDIS_REST_TOKEN: "x", RATE_LIMIT_TIMEOUT_MS: "300" };

  it("serve the request by default (fail open), and say so in a header", async () => {
    const { key } = await newKey({ rpm: 1 });
    const res = await chat(key, {}, testEnv(dead));
    expect(res.status).toBe(200);
    expect(res.headers.get("x-switchyard-ratelimit")).toBe("unavailable; fail-open");
  });

  it("refuse with a 503 under the closed policy", async () => {
    const { key } = await newKey({ rpm: 1 });
    const res = await chat(key, {}, testEnv({ ...dead, RATE_LIMIT_ON_REDIS_FAILURE: "closed" }));
    expect(res.status).toBe(503);
    expect((await res.json<OpenAIError>()).error.code).toBe("rate_limit_unavailable");
    expect(res.headers.get("x-switchyard-ratelimit")).toBe("unavailable; fail-closed");
  });
});

describe("configuration", () => {
  it("accepts the shorthand and the full form on a key, and PATCH changes them", async () => {
    const { id } = await newKey({ rpm: 60, tpm: 100_000 });
    const patched = await gateway(
      `/admin/keys/${id}`,
      admin("PATCH", { limits: { requests: { limit: 5, window: "10 s", algorithm: "token-bucket", refillRate: 1 }, perUser: { rpm: 10 } } }),
      R,
    );
    expect(patched.status).toBe(200);
    expect((await patched.json<{ limits: unknown }>()).limits).toMatchObject({ requests: { limit: 5, algorithm: "token-bucket" } });
  });

  it("refuses a bad window or a measure given twice with a 400 naming it", async () => {
    const bad = await gateway("/admin/keys", admin("POST", { name: "x", limits: { requests: { limit: 5, window: "soon" } } }), R);
    expect(bad.status).toBe(400);
    expect((await bad.json<OpenAIError>()).error.param).toBe("limits.requests.window");
    const twice = await gateway("/admin/keys", admin("POST", { name: "x", limits: { rpm: 5, requests: { limit: 5 } } }), R);
    expect(twice.status).toBe(400);
  });

  it("GET /health says whether rate limits are on", async () => {
    expect(await (await gateway("/health", {}, R)).json()).toMatchObject({ rateLimits: { status: "enabled", onRedisFailure: "open" } });
    expect(await (await gateway("/health", {}, testEnv())).json()).toMatchObject({ rateLimits: { status: "disabled" } });
  });
});
