import { describe, expect, it } from "vitest";
import { DEV_KEY, gateway, json, testEnv, type OpenAIError } from "./helpers.ts";

async function expectError(res: Response, status: number, code: string | null, param?: string | null): Promise<OpenAIError> {
  expect(res.status).toBe(status);
  expect(res.headers.get("content-type")).toContain("application/json");
  expect(res.headers.get("x-switchyard-request-id")).toMatch(/^req_/);
  const body = await res.json<OpenAIError>();
  expect(Object.keys(body.error).sort()).toEqual(["code", "message", "param", "type"]);
  expect(body.error.message.length).toBeGreaterThan(10);
  expect(body.error.code).toBe(code);
  if (param !== undefined) expect(body.error.param).toBe(param);
  return body;
}

const chat = (body: unknown, key?: string) => gateway("/v1/chat/completions", json(body, key));
const hello = [{ role: "user", content: "hi" }];

describe("client errors get OpenAI-shaped answers, never a 500", () => {
  it("401 without a key, with a malformed header, and with an unknown key", async () => {
    await expectError(await gateway("/v1/chat/completions", { method: "POST", body: "{}" }), 401, "missing_api_key");
    await expectError(
      await gateway("/v1/chat/completions", { method: "POST", headers: { authorization: "Basic abc" }, body: "{}" }),
      401,
      "missing_api_key",
    );
    const res = await chat({ model: "fast", messages: hello }, "sk-sy-not-a-real-key");
    const body = await expectError(res, 401, "invalid_api_key");
    expect(body.error.type).toBe("authentication_error");
  });

  it("400 for malformed JSON, a non-object body, and an empty body", async () => {
    await expectError(await chat('{"model": "fast", "messages": [}'), 400, "invalid_json");
    await expectError(await chat("[1,2,3]"), 400, "invalid_json");
    await expectError(await chat('"just a string"'), 400, "invalid_json");
    await expectError(await gateway("/v1/chat/completions", { method: "POST", headers: { authorization: `Bearer ${DEV_KEY}` } }), 400, "invalid_json");
  });

  it("400 naming the field for missing or mistyped fields", async () => {
    await expectError(await chat({ model: "fast" }), 400, null, "messages");
    await expectError(await chat({ messages: hello }), 400, null, "model");
    await expectError(await chat({ model: 42, messages: hello }), 400, null, "model");
    await expectError(await chat({ model: "fast", messages: "hi" }), 400, null, "messages");
    await expectError(await chat({ model: "fast", messages: [] }), 400, null, "messages");
    await expectError(await chat({ model: "fast", messages: [{ content: "no role" }] }), 400, null, "messages[0].role");
    await expectError(await chat({ model: "fast", messages: hello, stream: "yes" }), 400, null, "stream");
    await expectError(await chat({ model: "fast", messages: hello, max_tokens: -5 }), 400, null, "max_tokens");
    await expectError(await chat({ model: "fast", messages: hello, stream_options: "x" }), 400, null, "stream_options");
  });

  it("404 for an unknown alias, an unknown provider, and an unconfigured provider", async () => {
    await expectError(await chat({ model: "no-such-alias", messages: hello }), 404, "model_not_found", "model");
    await expectError(await chat({ model: "nosuchprovider/some-model", messages: hello }), 404, "model_not_found", "model");
    await expectError(await chat({ model: "groq/llama-3.1-8b-instant", messages: hello }), 404, "provider_not_configured", "model");
    await expectError(await chat({ model: "openai/", messages: hello }), 400, null, "model");
  });

  it("413 when the body is over the configured limit, declared or streamed", async () => {
    const env = testEnv({ MAX_REQUEST_BYTES: "1000" });
    const big = JSON.stringify({ model: "fast", messages: [{ role: "user", content: "x".repeat(2000) }] });
    await expectError(await gateway("/v1/chat/completions", json(big), env), 413, "request_too_large");
    const chunked = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < 5; i++) controller.enqueue(new TextEncoder().encode(big.slice(i * 500, (i + 1) * 500)));
        controller.close();
      },
    });
    const res = await gateway(
      "/v1/chat/completions",
      { method: "POST", headers: { authorization: `Bearer ${DEV_KEY}` }, body: chunked, duplex: "half" } as RequestInit,
      env,
    );
    await expectError(res, 413, "request_too_large");
  });

  it("404 for unknown endpoints and 405 for the wrong method", async () => {
    await expectError(await gateway("/v1/completions-typo", { method: "POST" }), 404, "unknown_endpoint");
    const res = await gateway("/v1/chat/completions", { method: "GET", headers: { authorization: `Bearer ${DEV_KEY}` } });
    await expectError(res, 405, "method_not_allowed");
    expect(res.headers.get("allow")).toBe("POST");
  });

  it("survives hostile input: deep nesting, huge numbers, odd unicode", async () => {
    const deep = '{"model":"openai/x","messages":[{"role":"user","content":"hi"}],"x":' + "[".repeat(5000) + "]".repeat(5000) + "}";
    const res = await chat(deep);
    expect(res.status).toBeLessThan(500);
    // A model name is printable ASCII: anything else is refused at the edge (it would reach headers and KV keys).
    await expectError(await chat({ model: "\u0000\ud800", messages: hello }), 400, null, "model");
    const nums = await chat({ model: "fast", messages: hello, max_tokens: 1e308 });
    expect(nums.status).toBe(400);
  });
});

describe("odd but possible requests", () => {
  it("accepts the key in x-api-key (Anthropic-style clients)", async () => {
    const res = await gateway("/v1/chat/completions", {
      method: "POST",
      headers: { "x-api-key": DEV_KEY, "content-type": "application/json" },
      body: JSON.stringify({ model: "fast", messages: hello }),
    });
    expect(res.status).toBe(200);
  });

  it("404 (not 500) for a model id with a broken percent-escape", async () => {
    const res = await gateway("/v1/models/openai%2Fgpt%ZZ", { headers: { authorization: `Bearer ${DEV_KEY}` } });
    expect(res.status).toBe(404);
  });

  it("400 naming the message whose content has the wrong type", async () => {
    await expectError(await chat({ model: "fast", messages: [{ role: "user", content: 5 }] }), 400, null, "messages[0].content");
  });

  it("a corrupt value in KV does not break the requests that read it", async () => {
    const { env } = await import("cloudflare:test");
    await env.CONFIG.put("route:corrupt-alias", "{not json");
    await expectError(await chat({ model: "corrupt-alias", messages: hello }), 404, "model_not_found");
    const secret = `sk-sy-${"A".repeat(40)}`;
    const { sha256Hex } = await import("../../src/auth/crypto.ts");
    await env.CONFIG.put(`key:${await sha256Hex(secret)}`, "garbage");
    await expectError(await chat({ model: "fast", messages: hello }, secret), 401, "invalid_api_key");
  });
});
