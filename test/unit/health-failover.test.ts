/** Shared route health through the gateway: a failing target's breaker opens, later requests skip it, a probe closes it. */
import { afterEach, describe, expect, it, vi } from "vitest";
import { admin, gateway, json, uniqueTag, upstreamSaw, withHealth } from "./helpers.ts";

const env = withHealth();
const hello = [{ role: "user", content: "hi" }];

afterEach(() => {
  vi.useRealTimers();
});

/** Lets the batched health reports (250 ms debounce) reach the Durable Object and its answer the cache. */
const settle = () => new Promise((r) => setTimeout(r, 500));

describe("route health in planning", () => {
  it("opens a failing target's breaker, skips it afterwards, and closes it again after a successful half-open probe", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const flaky = `flaky-${crypto.randomUUID().slice(0, 8)}`;
    const alias = `health-${crypto.randomUUID().slice(0, 8)}`;
    await gateway(`/admin/routes/${alias}`, admin("PUT", { targets: [{ provider: "openai", model: flaky }, { provider: "deepseek", model: "steady" }] }), env);
    const ask = (mock: Record<string, unknown> = {}, user = uniqueTag("u")) => gateway("/v1/chat/completions", json({ model: alias, messages: hello, user, mock }), env);

    for (let i = 0; i < 5; i++) {
      const res = await ask({ onlyModel: flaky, status: 502 }); // 502: a failure that does not also cut the weight (503 would demote it first)
      expect(res.headers.get("x-switchyard-provider")).toBe("deepseek");
      expect(res.headers.get("x-switchyard-attempts")).toBe("2");
    }
    await settle();

    // Open: the flaky target is not called at all, so no time is lost on it.
    const tag = uniqueTag("skipped");
    const skipped = await ask({}, tag);
    expect(skipped.headers.get("x-switchyard-provider")).toBe("deepseek");
    expect(skipped.headers.get("x-switchyard-attempts")).toBe("1");
    expect((await upstreamSaw(tag)).map((r) => r.body.model)).toEqual(["steady"]);
    const listed = await (await gateway(`/admin/health/openai/${flaky}`, admin("GET"), env)).json<{ breaker: string }>();
    expect(listed.breaker).toBe("open");

    // After the cooldown the target is half-open: the next request probes it, and its success closes the breaker.
    vi.setSystemTime(Date.now() + 31_000);
    await settle(); // the stale snapshot is refreshed in the background
    const probe = await ask();
    expect(probe.headers.get("x-switchyard-provider")).toBe("openai");
    await settle();
    const closed = await (await gateway(`/admin/health/openai/${flaky}`, admin("GET"), env)).json<{ breaker: string }>();
    expect(closed.breaker).toBe("closed");
  });

  it("an admin reset closes an open breaker at once", async () => {
    const flaky = `reset-${crypto.randomUUID().slice(0, 8)}`;
    const alias = `health-${crypto.randomUUID().slice(0, 8)}`;
    await gateway(`/admin/routes/${alias}`, admin("PUT", { targets: [{ provider: "openai", model: flaky }, { provider: "deepseek", model: "steady" }] }), env);
    for (let i = 0; i < 5; i++) await gateway("/v1/chat/completions", json({ model: alias, messages: hello, mock: { onlyModel: flaky, status: 502 } }), env);
    await settle();
    expect((await gateway("/v1/chat/completions", json({ model: alias, messages: hello }), env)).headers.get("x-switchyard-provider")).toBe("deepseek");
    expect((await gateway(`/admin/health/openai/${flaky}/reset`, admin("POST"), env)).status).toBe(200);
    await settle();
    expect((await gateway("/v1/chat/completions", json({ model: alias, messages: hello }), env)).headers.get("x-switchyard-provider")).toBe("openai");
  });

  it("client errors do not count against a target", async () => {
    const model = `picky-${crypto.randomUUID().slice(0, 8)}`;
    for (let i = 0; i < 6; i++) await gateway("/v1/chat/completions", json({ model: `openai/${model}`, messages: hello, mock: { status: 400 } }), env);
    await settle();
    expect((await gateway(`/admin/health/openai/${model}`, admin("GET"), env)).status).toBe(404); // nothing was recorded
  });
});

describe("what is reported", () => {
  it("direct provider/model calls are not reported: a client cannot create health records with made-up names", async () => {
    const model = `made-up-${crypto.randomUUID().slice(0, 8)}`;
    for (let i = 0; i < 3; i++) await gateway("/v1/chat/completions", json({ model: `openai/${model}`, messages: hello, mock: { status: 503 } }), env);
    await settle();
    expect((await gateway(`/admin/health/openai/${model}`, admin("GET"), env)).status).toBe(404);
  });
});

describe("hedged routes and route health", () => {
  it("a target that keeps losing hedges without a first byte is reported as timing out, until its breaker opens", async () => {
    const slow = `slow-${crypto.randomUUID().slice(0, 8)}`;
    const alias = `hedge-${crypto.randomUUID().slice(0, 8)}`;
    await gateway(`/admin/routes/${alias}`, admin("PUT", { targets: [{ provider: "openai", model: slow }, { provider: "deepseek", model: "steady" }], hedgeAfterMs: 50 }), env);
    for (let i = 0; i < 5; i++) {
      const res = await gateway("/v1/chat/completions", json({ model: alias, messages: hello, mock: { onlyModel: slow, hang: true } }), env);
      expect(res.headers.get("x-switchyard-provider")).toBe("deepseek");
    }
    await settle();
    const health = await (await gateway(`/admin/health/openai/${slow}`, admin("GET"), env)).json<{ breaker: string }>();
    expect(health.breaker).toBe("open");
  });
});
