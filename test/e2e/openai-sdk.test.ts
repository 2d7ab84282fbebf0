/**
 * The official `openai` SDK, unchanged but for baseURL and key, against the
 * gateway running in `wrangler dev` with the mock provider behind it.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import OpenAI from "openai";
import type { LocalGateway } from "../../scripts/local-gateway.ts";
import { startTestGateway } from "../support/test-gateway.ts";

let gw: LocalGateway;
let client: OpenAI;

before(async () => {
  gw = await startTestGateway({ MAX_REQUEST_BYTES: "200000", UPSTREAM_TIMEOUT_MS: "1500" });
  client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: gw.gatewayKey, maxRetries: 0 });
});

after(async () => {
  await gw?.stop();
});

const messages: OpenAI.ChatCompletionMessageParam[] = [{ role: "user", content: "Say hello" }];

/** What the mock provider received for one tagged request. */
function upstreamSaw(tag: string) {
  return gw.mock.requests.filter((r) => r.tag === tag);
}

/** Extra request fields the SDK sends as they are (fault injection, future params). */
function extra<T extends object>(params: T, fields: Record<string, unknown>): T {
  return { ...params, ...fields } as T;
}

describe("chat completions through the openai SDK", () => {
  test("plain chat", async () => {
    const { data, response } = await client.chat.completions.create({ model: "fast", messages }).withResponse();
    assert.equal(data.choices[0]?.message.content, "Hello from the mock upstream.");
    assert.equal(data.choices[0]?.finish_reason, "stop");
    assert.ok((data.usage?.total_tokens ?? 0) > 0);
    assert.match(response.headers.get("x-switchyard-request-id") ?? "", /^req_/);
    assert.equal(response.headers.get("x-switchyard-provider"), "openai");
    assert.equal(response.headers.get("x-switchyard-model"), "gpt-4o-mini");
  });

  test("streamed chat without include_usage: no usage chunk reaches the client", async () => {
    const stream = await client.chat.completions.create({ model: "openai/gpt-4o-mini", messages, stream: true });
    let text = "";
    let usageChunks = 0;
    for await (const chunk of stream) {
      if (chunk.usage) usageChunks++;
      text += chunk.choices[0]?.delta.content ?? "";
      assert.ok(chunk.choices.length > 0, "no empty-choices chunk without include_usage");
    }
    assert.equal(text, "Hello from the mock upstream.");
    assert.equal(usageChunks, 0);
  });

  test("streamed chat with include_usage: the usage chunk arrives last", async () => {
    const stream = await client.chat.completions.create({
      model: "openai/gpt-4o-mini",
      messages,
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks: OpenAI.ChatCompletionChunk[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    const last = chunks.at(-1);
    assert.deepEqual(last?.choices, []);
    assert.equal(last?.usage?.completion_tokens, 5);
  });

  test("a 20-event stream arrives whole and in order", async () => {
    const stream = await client.chat.completions.create(extra({ model: "fast", messages, stream: true as const }, { mock: { streamEvents: 20 } }));
    let text = "";
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? "";
    assert.equal(text, Array.from({ length: 20 }, (_, i) => `tok${i} `).join(""));
  });

  test("unknown fields pass through to the provider untouched", async () => {
    const tag = `passthrough-${Date.now()}`;
    await client.chat.completions.create(
      extra({ model: "openai/gpt-4o-mini", messages, user: tag, temperature: 0.2 }, { reasoning: { effort: "low" }, vendor_param: [1, { a: null }] }),
    );
    const [seen] = upstreamSaw(tag);
    assert.ok(seen);
    const body = seen.body as Record<string, unknown>;
    assert.deepEqual(body.reasoning, { effort: "low" });
    assert.deepEqual(body.vendor_param, [1, { a: null }]);
    assert.equal(body.temperature, 0.2);
    assert.equal(body.model, "gpt-4o-mini");
  });

  test("a client that stops reading cancels the upstream request", async () => {
    const tag = `disconnect-${Date.now()}`;
    const controller = new AbortController();
    const stream = await client.chat.completions.create(
      extra({ model: "openai/gpt-4o-mini", messages, stream: true as const, user: tag }, { mock: { streamEvents: 200, eventDelayMs: 20 } }),
      { signal: controller.signal },
    );
    let seenChunks = 0;
    try {
      for await (const _ of stream) {
        if (++seenChunks === 3) controller.abort();
      }
    } catch {
      // The SDK may end the iteration quietly or throw on abort: either is the client going away.
    }
    assert.equal(seenChunks, 3, "the iteration stopped where the client aborted");
    let seen = upstreamSaw(tag)[0];
    for (let i = 0; i < 50 && seen?.clientClosedEarly !== true; i++) {
      await new Promise((r) => setTimeout(r, 100));
      seen = upstreamSaw(tag)[0];
    }
    assert.equal(seen?.clientClosedEarly, true, "the gateway closed its upstream connection");
    assert.equal(seen?.completed, false);
  });

  test("a stream broken mid-way surfaces as an error in the SDK, not a clean end", async () => {
    const stream = await client.chat.completions.create(
      extra({ model: "openai/gpt-4o-mini", messages, stream: true as const }, { mock: { streamEvents: 10, breakAfterEvents: 4 } }),
    );
    await assert.rejects(
      async () => {
        for await (const _ of stream) {
          // drain
        }
      },
      (err: unknown) => err instanceof Error && /broke mid-stream/.test(err.message),
    );
  });
});

describe("embeddings and models through the openai SDK", () => {
  test("embeddings (the SDK asks for base64 and decodes it)", async () => {
    const res = await client.embeddings.create({ model: "embed", input: ["one", "two"] });
    assert.equal(res.data.length, 2);
    assert.equal(res.data[0]?.embedding.length, 8);
    assert.ok(res.data[0]?.embedding.every((x) => typeof x === "number" && Number.isFinite(x)));
    assert.ok(res.usage.prompt_tokens > 0);
  });

  test("models list and retrieve", async () => {
    const ids: string[] = [];
    for await (const model of client.models.list()) ids.push(model.id);
    for (const expected of ["fast", "smart", "cheap", "embed", "openai/gpt-4o-mini", "groq/llama-3.1-8b-instant"]) {
      assert.ok(ids.includes(expected), `${expected} is listed`);
    }
    const one = await client.models.retrieve("openai/gpt-4o-mini");
    assert.equal(one.id, "openai/gpt-4o-mini");
  });
});

describe("every error status reaches the SDK as the right error class", () => {
  const call = (fields: Record<string, unknown>, c: OpenAI = client) =>
    c.chat.completions.create(extra({ model: "openai/gpt-4o-mini", messages }, fields));

  test("400 invalid request", async () => {
    await assert.rejects(call({ messages: "not a list" }), (e: unknown) => e instanceof OpenAI.BadRequestError && e.param === "messages");
  });

  test("401 unknown key", async () => {
    const stranger = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: "sk-sy-unknown", maxRetries: 0 });
    await assert.rejects(call({}, stranger), (e: unknown) => e instanceof OpenAI.AuthenticationError && e.code === "invalid_api_key");
  });

  test("404 unknown model and unknown provider", async () => {
    await assert.rejects(call({ model: "does-not-exist" }), (e: unknown) => e instanceof OpenAI.NotFoundError && e.code === "model_not_found");
    await assert.rejects(call({ model: "nowhere/model" }), (e: unknown) => e instanceof OpenAI.NotFoundError);
  });

  test("413 body over the limit", async () => {
    const huge = [{ role: "user" as const, content: "x".repeat(300_000) }];
    await assert.rejects(call({ messages: huge }), (e: unknown) => e instanceof OpenAI.APIError && e.status === 413 && e.code === "request_too_large");
  });

  test("429 from the provider, with retry-after", async () => {
    await assert.rejects(call({ mock: { status: 429, retryAfter: "3" } }), (e: unknown) => {
      return e instanceof OpenAI.RateLimitError && e.headers.get("retry-after") === "3";
    });
  });

  test("502 upstream failure and 504 upstream timeout", async () => {
    await assert.rejects(call({ mock: { status: 500 } }), (e: unknown) => e instanceof OpenAI.InternalServerError && e.status === 502);
    await assert.rejects(call({ mock: { hang: true } }), (e: unknown) => e instanceof OpenAI.InternalServerError && e.status === 504);
  });
});

describe("keys through the admin API", () => {
  const adminFetch = (path: string, init: RequestInit = {}) =>
    fetch(`${gw.url}/admin${path}`, { ...init, headers: { authorization: `Bearer ${gw.adminToken}`, "content-type": "application/json" } });

  test("a created key works, a model outside its allow-list is 403, and revocation is immediate", async () => {
    const created = (await (await adminFetch("/keys", { method: "POST", body: JSON.stringify({ name: "e2e", models: ["fast"] }) })).json()) as {
      id: string;
      key: string;
    };
    const keyed = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: created.key, maxRetries: 0 });
    const ok = await keyed.chat.completions.create({ model: "fast", messages });
    assert.ok(ok.choices[0]?.message.content);
    await assert.rejects(
      keyed.chat.completions.create({ model: "openai/gpt-4o", messages }),
      (e: unknown) => e instanceof OpenAI.PermissionDeniedError && e.code === "model_not_allowed",
    );
    const revoked = await adminFetch(`/keys/${created.id}`, { method: "DELETE" });
    assert.equal(revoked.status, 200);
    await assert.rejects(keyed.chat.completions.create({ model: "fast", messages }), (e: unknown) => e instanceof OpenAI.AuthenticationError);
  });
});
