import { describe, expect, it } from "vitest";
import { gateway, json, testEnv, uniqueTag, upstreamSaw, type OpenAIError } from "./helpers.ts";

const hello = [{ role: "user", content: "Say hello" }];

describe("POST /v1/chat/completions (non-streamed)", () => {
  it("answers in OpenAI format with the gateway's headers", async () => {
    const res = await gateway("/v1/chat/completions", json({ model: "openai/gpt-4o-mini", messages: hello }));
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("application/json");
    expect(res.headers.get("x-switchyard-request-id")).toMatch(/^req_[0-9a-f]{32}$/);
    expect(res.headers.get("x-switchyard-provider")).toBe("openai");
    expect(res.headers.get("x-switchyard-model")).toBe("gpt-4o-mini");
    expect(res.headers.get("x-switchyard-attempts")).toBe("1");
    const body = await res.json<{ object: string; model: string; choices: Array<{ message: { content: string } }>; usage: { total_tokens: number } }>();
    expect(body.object).toBe("chat.completion");
    expect(body.model).toBe("gpt-4o-mini");
    expect(body.choices[0]?.message.content).toBe("Hello from the mock upstream.");
    expect(body.usage.total_tokens).toBeGreaterThan(0);
  });

  it("forwards unknown fields untouched, replaces only the model, and sends the provider key", async () => {
    const tag = uniqueTag("passthrough");
    const extra = { temperature: 0.3, seed: 7, logit_bias: { "50256": -100 }, some_future_param: { nested: [1, "two", null] }, tools: [{ type: "function", function: { name: "f", parameters: {} } }] };
    const res = await gateway("/v1/chat/completions", json({ model: "openai/gpt-4o-mini", messages: hello, user: tag, ...extra }));
    expect(res.status).toBe(200);
    const [seen] = await upstreamSaw(tag);
    expect(seen?.path).toBe("/v1/chat/completions");
    expect(seen?.headers.authorization).toBe("Bearer mock-openai-key");
    expect(seen?.body).toEqual({ model: "gpt-4o-mini", messages: hello, user: tag, ...extra });
  });

  it("resolves an alias to its route's first target", async () => {
    const res = await gateway("/v1/chat/completions", json({ model: "cheap", messages: hello }));
    expect(res.status).toBe(200);
    expect(res.headers.get("x-switchyard-provider")).toBe("deepseek");
    expect(res.headers.get("x-switchyard-model")).toBe("deepseek-chat");
  });

  it("fails over to the next target when the first is overloaded, before anything reaches the client", async () => {
    const tag = uniqueTag("failover");
    // 'cheap' lists DeepSeek first; make DeepSeek unreachable so OpenAI must take over.
    const env = testEnv({ DEEPSEEK_BASE_URL: "http://127.0.0.1:9/unreachable/v1" });
    const res = await gateway("/v1/chat/completions", json({ model: "cheap", messages: hello, user: tag }), env);
    expect(res.status).toBe(200);
    expect(res.headers.get("x-switchyard-provider")).toBe("openai");
    expect(res.headers.get("x-switchyard-attempts")).toBe("2");
  });
});

describe("upstream failures become the documented statuses", () => {
  const ask = (mock: Record<string, unknown>, env = testEnv()) =>
    gateway("/v1/chat/completions", json({ model: "openai/gpt-4o-mini", messages: hello, mock }), env);

  it("502 when the provider fails with a 5xx", async () => {
    const res = await ask({ status: 500 });
    expect(res.status).toBe(502);
    const body = await res.json<OpenAIError>();
    expect(body.error.code).toBe("upstream_error");
    expect(body.error.message).toContain("openai");
    expect(res.headers.get("x-switchyard-request-id")).toBeTruthy();
  });

  it("502 when the provider sends an HTML error page", async () => {
    const res = await ask({ status: 503, rawErrorBody: "<html><body><h1>503 Service Unavailable</h1></body></html>" });
    expect(res.status).toBe(502);
    expect((await res.json<OpenAIError>()).error.message).toContain("503 Service Unavailable");
  });

  it("502 when the provider rejects the gateway's own credentials", async () => {
    const res = await ask({}, testEnv({ OPENAI_API_KEY: "bad-key" }));
    expect(res.status).toBe(502);
    expect((await res.json<OpenAIError>()).error.code).toBe("upstream_auth_failed");
  });

  it("502 when the provider cannot be reached", async () => {
    const res = await ask({}, testEnv({ OPENAI_BASE_URL: "http://127.0.0.1:9/v1" }));
    expect(res.status).toBe(502);
    expect((await res.json<OpenAIError>()).error.code).toBe("upstream_unreachable");
  });

  it("504 when the provider does not answer within the deadline", async () => {
    const started = Date.now();
    const res = await ask({ hang: true }, testEnv({ UPSTREAM_TIMEOUT_MS: "300" }));
    expect(res.status).toBe(504);
    expect((await res.json<OpenAIError>()).error.code).toBe("upstream_timeout");
    expect(Date.now() - started).toBeLessThan(2500);
  });

  it("504 when the provider sends its headers and then stalls mid-body", async () => {
    const res = await ask({ stallBody: true }, testEnv({ UPSTREAM_TIMEOUT_MS: "300" }));
    expect(res.status).toBe(504);
    expect((await res.json<OpenAIError>()).error.code).toBe("upstream_timeout");
  });

  it("502 when the provider answers 200 with a body that is not JSON", async () => {
    const res = await ask({ status: 200, rawErrorBody: "<html>maintenance</html>" });
    expect(res.status).toBe(502);
    expect((await res.json<OpenAIError>()).error.code).toBe("upstream_bad_response");
  });

  it("429 with retry-after when the provider rate-limits", async () => {
    const res = await ask({ status: 429, retryAfter: "7" });
    expect(res.status).toBe(429);
    expect(res.headers.get("retry-after")).toBe("7");
    expect((await res.json<OpenAIError>()).error.code).toBe("upstream_rate_limited");
  });

  it("passes a provider's own 400 through with its message", async () => {
    const res = await ask({ status: 400, errorMessage: "Invalid value for 'temperature'.", errorCode: "invalid_value" });
    expect(res.status).toBe(400);
    const body = await res.json<OpenAIError>();
    expect(body.error.message).toBe("Invalid value for 'temperature'.");
    expect(body.error.code).toBe("invalid_value");
  });
});
