import { describe, expect, it } from "vitest";
import { admin, gateway, json, scriptUpstream, testEnv, uniqueTag, upstreamSaw, type OpenAIError } from "./helpers.ts";

const hello = [{ role: "user", content: "hi" }];
// Two targets on the mock: faults carry `onlyModel`, so only the first target fails.
const ALIAS = "failover-pair";
const route = { targets: [{ provider: "openai", model: "first-choice" }, { provider: "deepseek", model: "second-choice" }] };

async function askPair(mock: Record<string, unknown>, env = testEnv()): Promise<Response> {
  await gateway(`/admin/routes/${ALIAS}`, admin("PUT", route), env);
  return gateway("/v1/chat/completions", json({ model: ALIAS, messages: hello, mock: { onlyModel: "first-choice", ...mock } }), env);
}

describe("failover before the first byte", () => {
  for (const [why, mock] of [
    ["503 overloaded", { status: 503 }],
    ["529-style 5xx", { status: 529 }],
    ["429 rate limited", { status: 429 }],
    ["401 (the gateway's key at that provider)", { status: 401 }],
    ["402 (no balance at that provider)", { status: 402 }],
  ] as const) {
    it(`moves to the next target on ${why}`, async () => {
      const res = await askPair(mock);
      expect(res.status).toBe(200);
      expect(res.headers.get("x-switchyard-provider")).toBe("deepseek");
      expect(res.headers.get("x-switchyard-model")).toBe("second-choice");
      expect(res.headers.get("x-switchyard-attempts")).toBe("2");
    });
  }

  it("moves to the next target when the first does not answer in time", async () => {
    const res = await askPair({ hang: true }, testEnv({ UPSTREAM_TIMEOUT_MS: "250" }));
    expect(res.status).toBe(200);
    expect(res.headers.get("x-switchyard-model")).toBe("second-choice");
  });

  it("moves to the next target when a stream is answered with JSON instead of events", async () => {
    await gateway(`/admin/routes/${ALIAS}`, admin("PUT", route));
    const res = await gateway(
      "/v1/chat/completions",
      json({ model: ALIAS, messages: hello, stream: true, mock: { onlyModel: "first-choice", status: 200, errorBody: { error: { message: "stream unsupported" } } } }),
    );
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/event-stream");
    expect(res.headers.get("x-switchyard-model")).toBe("second-choice");
  });

  it("moves to the next target when a stream's first event is an error (nothing has reached the client yet)", async () => {
    await gateway(`/admin/routes/${ALIAS}`, admin("PUT", route));
    const res = await gateway("/v1/chat/completions", json({ model: ALIAS, messages: hello, stream: true, mock: { onlyModel: "first-choice", firstEventError: true } }));
    expect(res.status).toBe(200);
    expect(res.headers.get("x-switchyard-model")).toBe("second-choice");
    expect(await res.text()).toContain("data: [DONE]");
  });

  it("does not fail over a request the provider rejects as invalid (400): the client sees it at once", async () => {
    const res = await askPair({ status: 400, errorMessage: "bad 'temperature'" });
    expect(res.status).toBe(400);
    expect(res.headers.get("x-switchyard-attempts")).toBe("1");
    expect((await res.json<OpenAIError>()).error.message).toBe("bad 'temperature'");
  });

  it("reports the last failure when every target fails", async () => {
    await gateway(`/admin/routes/${ALIAS}`, admin("PUT", route));
    const res = await gateway("/v1/chat/completions", json({ model: ALIAS, messages: hello, mock: { status: 503 } }));
    expect(res.status).toBe(502);
    expect(res.headers.get("x-switchyard-attempts")).toBe("2");
    expect((await res.json<OpenAIError>()).error.message).toContain("deepseek");
  });

  it("honours a route's total deadline across attempts", async () => {
    const alias = "deadline-pair";
    await gateway(`/admin/routes/${alias}`, admin("PUT", { ...route, timeoutMs: 300 }));
    const started = Date.now();
    const res = await gateway("/v1/chat/completions", json({ model: alias, messages: hello, mock: { hang: true } }));
    expect(res.status).toBe(504);
    expect(Date.now() - started).toBeLessThan(1500);
  });
});

describe("faults scripted at the mock (for providers whose API takes no `mock` field)", () => {
  it("fails the request whose body carries the scripted word, and tags it", async () => {
    const word = uniqueTag("scripted");
    await scriptUpstream(word, { status: 503 });
    const res = await gateway("/v1/chat/completions", json({ model: "openai/mock-model", messages: [{ role: "user", content: `say ${word}` }] }));
    expect(res.status).toBe(502);
    expect((await upstreamSaw(word)).length).toBe(1);
    const untouched = await gateway("/v1/chat/completions", json({ model: "openai/mock-model", messages: hello }));
    expect(untouched.status).toBe(200);
  });
});
