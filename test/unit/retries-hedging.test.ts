/** Same-target retries (backoff, retry-after), deadlines, hedging and the fallback trail, against the fault-injecting mock. */
import { describe, expect, it } from "vitest";
import { MOCK, admin, gateway, json, testEnv, uniqueTag, upstreamClosedEarly, upstreamSaw, type OpenAIError } from "./helpers.ts";

const env = testEnv({ ANTHROPIC_BASE_URL: `${MOCK}/v1`, ANTHROPIC_API_KEY: "mock-anthropic-key" });
const hello = [{ role: "user", content: "hi" }];

async function route(alias: string, body: Record<string, unknown>): Promise<void> {
  const res = await gateway(`/admin/routes/${alias}`, admin("PUT", body), env);
  expect(res.status).toBe(200);
}
const ask = (model: string, extra: Record<string, unknown> = {}) => gateway("/v1/chat/completions", json({ model, messages: hello, ...extra }), env);
async function timed(request: Promise<Response>): Promise<{ res: Response; ms: number }> {
  const started = Date.now();
  const res = await request;
  await res.clone().arrayBuffer();
  return { res, ms: Date.now() - started };
}

describe("retrying the same target", () => {
  it("a 500 gets one more try on the same target, after a short backoff", async () => {
    const tag = uniqueTag("once");
    const res = await ask("openai/mock-model", { user: tag, mock: { status: 500, failFirst: 1 } });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-switchyard-attempts")).toBe("2");
    expect(res.headers.get("x-switchyard-fallbacks")).toBe("openai/mock-model=500");
    expect(await upstreamSaw(tag)).toHaveLength(2);
  });

  it("a 4xx about the request is never retried", async () => {
    const tag = uniqueTag("client");
    const res = await ask("openai/mock-model", { user: tag, mock: { status: 400, errorMessage: "bad field" } });
    expect(res.status).toBe(400);
    expect((await res.json<OpenAIError>()).error.message).toBe("bad field");
    expect(await upstreamSaw(tag)).toHaveLength(1);
  });

  it("honours retry-after-ms when it fits the deadline (maxAttempts 2)", async () => {
    await route("patient", { targets: [{ provider: "openai", model: "mock-model", maxAttempts: 2 }], timeoutMs: 3000 });
    const tag = uniqueTag("retry-after");
    const { res, ms } = await timed(ask("patient", { user: tag, mock: { status: 429, failFirst: 1, headers: { "retry-after-ms": "300" } } }));
    expect(res.status).toBe(200);
    expect(res.headers.get("x-switchyard-attempts")).toBe("2");
    expect(ms).toBeGreaterThanOrEqual(300);
    const [first, second] = await upstreamSaw(tag);
    expect((second?.receivedAt ?? 0) - (first?.receivedAt ?? 0)).toBeGreaterThanOrEqual(290);
  });

  it("moves to the next target at once when retry-after does not fit the deadline", async () => {
    await route("impatient", {
      targets: [{ provider: "openai", model: "first-choice", maxAttempts: 3 }, { provider: "deepseek", model: "second-choice" }],
      timeoutMs: 2000,
    });
    const { res, ms } = await timed(ask("impatient", { mock: { onlyModel: "first-choice", status: 429, retryAfter: "30" } }));
    expect(res.status).toBe(200);
    expect(res.headers.get("x-switchyard-provider")).toBe("deepseek");
    expect(res.headers.get("x-switchyard-fallbacks")).toBe("openai/first-choice=429");
    expect(ms).toBeLessThan(1000);
  });

  it("gives up within the route's total deadline, with a well-formed error", async () => {
    await route("short-deadline", { targets: [{ provider: "openai", model: "mock-model", maxAttempts: 10 }], timeoutMs: 600 });
    const { res, ms } = await timed(ask("short-deadline", { mock: { status: 503 } }));
    expect(res.status).toBe(502);
    expect((await res.json<OpenAIError>()).error.code).toBe("upstream_error");
    expect(ms).toBeLessThan(1200);
  });
});

describe("deadlines per target", () => {
  it("a target that hangs past its ttfbTimeoutMs is left for the next, within that deadline", async () => {
    await route("hang-then-ok", {
      targets: [{ provider: "openai", model: "hangs", ttfbTimeoutMs: 300 }, { provider: "anthropic", model: "claude-sonnet-4-5" }],
    });
    const { res, ms } = await timed(ask("hang-then-ok", { mock: { onlyModel: "hangs", hang: true } }));
    expect(res.status).toBe(200);
    expect(res.headers.get("x-switchyard-provider")).toBe("anthropic"); // and across formats
    expect(res.headers.get("x-switchyard-fallbacks")).toBe("openai/hangs=timeout");
    expect(ms).toBeGreaterThanOrEqual(300);
    expect(ms).toBeLessThan(800);
  });

  it("an unreachable provider fails over at once", async () => {
    const unreachable = testEnv({ ANTHROPIC_BASE_URL: `${MOCK}/v1`, ANTHROPIC_API_KEY: "k", DEEPSEEK_BASE_URL: "http://127.0.0.1:9/v1" });
    await gateway("/admin/routes/dead-then-ok", admin("PUT", { targets: [{ provider: "deepseek", model: "x" }, { provider: "anthropic", model: "claude-sonnet-4-5" }] }), unreachable);
    const res = await gateway("/v1/chat/completions", json({ model: "dead-then-ok", messages: hello }), unreachable);
    expect(res.status).toBe(200);
    expect(res.headers.get("x-switchyard-fallbacks")).toBe("deepseek/x=network");
  });
});

describe("hedging (hedgeAfterMs)", () => {
  it("starts the next target when the first is slow, keeps the faster answer and cancels the slower", async () => {
    await route("hedged", {
      targets: [{ provider: "openai", model: "slow-one" }, { provider: "deepseek", model: "fast-one" }],
      hedgeAfterMs: 100,
    });
    const tag = uniqueTag("hedge");
    const { res, ms } = await timed(ask("hedged", { user: tag, mock: { onlyModel: "slow-one", delayMs: 2000 } }));
    expect(res.status).toBe(200);
    expect(res.headers.get("x-switchyard-provider")).toBe("deepseek");
    expect(res.headers.get("x-switchyard-attempts")).toBe("2");
    expect(ms).toBeLessThan(1000);
    const slow = (await upstreamSaw(tag)).find((r) => r.body.model === "slow-one");
    expect(slow).toBeDefined();
    expect((await upstreamClosedEarly(tag)).closed).toBe(true); // the slower call was cancelled
  });

  it("does not hedge when the first target answers in time", async () => {
    await route("hedged-fast", { targets: [{ provider: "openai", model: "quick" }, { provider: "deepseek", model: "spare" }], hedgeAfterMs: 500 });
    const tag = uniqueTag("no-hedge");
    const res = await ask("hedged-fast", { user: tag, stream: true });
    expect(res.headers.get("x-switchyard-provider")).toBe("openai");
    await res.text();
    expect((await upstreamSaw(tag)).map((r) => r.body.model)).toEqual(["quick"]);
  });

  it("a streamed hedge commits to the first stream whose first event is sound", async () => {
    await route("hedged-stream", { targets: [{ provider: "openai", model: "slow-stream" }, { provider: "anthropic", model: "claude-sonnet-4-5" }], hedgeAfterMs: 100 });
    const res = await ask("hedged-stream", { stream: true, mock: { onlyModel: "slow-stream", delayMs: 1500 } });
    expect(res.headers.get("x-switchyard-provider")).toBe("anthropic");
    expect(await res.text()).toContain("data: [DONE]");
  });
});

describe("limits found in review", () => {
  it("does not wait out a long retry-after on the same target (it answers with it instead)", async () => {
    const tag = uniqueTag("long-wait");
    const { res, ms } = await timed(ask("openai/mock-model", { user: tag, mock: { status: 500, headers: { "retry-after": "30" } } }));
    expect(res.status).toBe(502);
    expect(ms).toBeLessThan(1000);
    expect(await upstreamSaw(tag)).toHaveLength(1);
  });

  it("a hedged route starts the next target as soon as one fails, not at the next hedge tick", async () => {
    const deadSecond = testEnv({ ANTHROPIC_BASE_URL: `${MOCK}/v1`, ANTHROPIC_API_KEY: "k", DEEPSEEK_BASE_URL: "http://127.0.0.1:9/v1" });
    const body = { targets: [{ provider: "openai", model: "hangs" }, { provider: "deepseek", model: "unreachable" }, { provider: "anthropic", model: "claude-sonnet-4-5" }], hedgeAfterMs: 300 };
    await gateway("/admin/routes/hedge-chain", admin("PUT", body), deadSecond);
    // openai hangs; at 300 ms deepseek starts and fails at once; anthropic must start then, not at 600 ms.
    const { res, ms } = await timed(gateway("/v1/chat/completions", json({ model: "hedge-chain", messages: hello, mock: { onlyModel: "hangs", hang: true } }), deadSecond));
    expect(res.status).toBe(200);
    expect(res.headers.get("x-switchyard-provider")).toBe("anthropic");
    expect(res.headers.get("x-switchyard-fallbacks")).toBe("deepseek/unreachable=network");
    expect(ms).toBeLessThan(550);
  });

  it("a route target's 404 (a retired or misnamed model) moves on to the next target", async () => {
    await route("retired-then-ok", { targets: [{ provider: "openai", model: "retired" }, { provider: "deepseek", model: "current" }] });
    const res = await ask("retired-then-ok", { mock: { onlyModel: "retired", status: 404 } });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-switchyard-fallbacks")).toBe("openai/retired=404");
  });
});
