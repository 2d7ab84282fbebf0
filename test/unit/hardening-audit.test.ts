/**
 * Issue 12, item 9: every request leaves one record, refused and failed ones
 * included, and count_tokens is rate-limited and recorded like the rest.
 */
import { env } from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { Env } from "../../src/env.ts";
import { MOCK, admin, gateway, json, scriptUpstream, testEnv, uniqueTag } from "./helpers.ts";
import { newKey, setBudget, withLedger } from "./ledger-helpers.ts";

interface Logged {
  msg: string;
  requestId: string;
  keyId: string | null;
  endpoint: string;
  requested: string | null;
  status: number;
  outcome: string;
  errorCode?: string | null;
  attempts: number;
  fallbacks?: string;
}

let lines: Logged[] = [];
beforeEach(() => {
  lines = [];
  vi.spyOn(console, "log").mockImplementation((line: unknown) => {
    if (typeof line === "string" && line.startsWith('{"msg":"request"')) lines.push(JSON.parse(line) as Logged);
  });
});
afterEach(() => {
  vi.restoreAllMocks();
});

/** The one record of the response's request. */
function recordOf(res: Response): Logged {
  const id = res.headers.get("x-switchyard-request-id");
  const mine = lines.filter((l) => l.requestId === id);
  expect(mine).toHaveLength(1);
  return mine[0] as Logged;
}

const hello = [{ role: "user", content: "hi" }];

describe("refused and failed requests are recorded with their outcome and error code", () => {
  it("401, 400, 403, 404, 413, 402 and a failed upstream each leave one record", async () => {
    const L = withLedger({ MAX_REQUEST_BYTES: "2000" });
    const { id, key } = await newKey({ models: ["openai/*"] });
    const cases: Array<[Promise<Response>, Partial<Logged>]> = [
      [gateway("/v1/chat/completions", json({ model: "openai/gpt-4o-mini", messages: hello }, "sk-sy-nope"), L), { status: 401, keyId: null, endpoint: "chat", errorCode: "invalid_api_key", outcome: "refused" }],
      [gateway("/v1/chat/completions", json({ model: "openai/gpt-4o-mini" }, key), L), { status: 400, keyId: id, endpoint: "chat", outcome: "refused" }],
      [gateway("/v1/chat/completions", json({ model: "deepseek/deepseek-chat", messages: hello }, key), L), { status: 403, errorCode: "model_not_allowed", requested: "deepseek/deepseek-chat" }],
      [gateway("/v1/embeddings", json({ model: "no-such-model", input: "x" }, key), L), { status: 403, endpoint: "embeddings" }],
      [gateway("/v1/chat/completions", json({ model: "openai/gpt-4o-mini", messages: [{ role: "user", content: "x".repeat(3000) }] }, key), L), { status: 413, errorCode: "request_too_large" }],
    ];
    for (const [pending, expected] of cases) expect(recordOf(await pending)).toMatchObject(expected);

    const failing = uniqueTag("audit-fail");
    await scriptUpstream(failing, { status: 500 });
    const failed = await gateway("/v1/chat/completions", json({ model: "openai/gpt-4o-mini", user: failing, messages: [{ role: "user", content: failing }] }, key), L);
    expect(failed.status).toBe(502);
    const failure = recordOf(failed);
    expect(failure).toMatchObject({ status: 502, outcome: "failed", errorCode: "upstream_error", keyId: id, requested: "openai/gpt-4o-mini" });
    expect(failure.attempts).toBe(Number(failed.headers.get("x-switchyard-attempts")));

    await setBudget(`key:${id}`, { limitUsd: 0.0000001, period: "day" });
    const broke = await gateway("/v1/chat/completions", json({ model: "openai/gpt-4o-mini", messages: hello, max_tokens: 500 }, key), L);
    expect(broke.status).toBe(402);
    expect(recordOf(broke)).toMatchObject({ status: 402, outcome: "refused", keyId: id });
  });

  it("an unknown endpoint and an answered request are recorded once each", async () => {
    const unknown = await gateway("/v1/nothing-here", json({}));
    expect(recordOf(unknown)).toMatchObject({ status: 404, endpoint: "other", errorCode: "unknown_endpoint" });
    const answered = await gateway("/v1/chat/completions", json({ model: "openai/gpt-4o-mini", messages: hello }));
    expect(answered.status).toBe(200);
    await answered.text();
    expect(recordOf(answered)).toMatchObject({ status: 200, outcome: "completed", endpoint: "chat" });
  });
});

describe("count_tokens is rate-limited and recorded", () => {
  it("counts against the key's request rule, answers 429 past it, and records each call", async () => {
    const R: Env = testEnv({
      ANTHROPIC_BASE_URL: `${MOCK}/v1`,
      ANTHROPIC_API_KEY: "mock-anthropic-key",
      UPSTASH_REDIS_REST_URL: env.TEST_UPSTASH_REDIS_REST_URL,
      UPSTASH_REDIS_REST_TOKEN: env.TEST_UPSTASH_REDIS_REST_TOKEN,
    });
    const created = await gateway("/admin/keys", admin("POST", { name: uniqueTag("count"), limits: { rpm: 2, tpm: 10 } }), R);
    const { key } = await created.json<{ key: string }>();
    const count = () => gateway("/v1/messages/count_tokens", json({ model: "anthropic/claude-haiku-4-5", messages: hello }, key), R);
    const first = await count();
    expect(first.status).toBe(200);
    expect(first.headers.get("x-ratelimit-limit-requests")).toBe("2");
    expect(recordOf(first)).toMatchObject({ endpoint: "count_tokens", status: 200 });
    expect((await count()).status).toBe(200);
    const limited = await count();
    expect(limited.status).toBe(429);
    expect(await limited.json()).toMatchObject({ type: "error", error: { type: "rate_limit_error" } });
    expect(recordOf(limited)).toMatchObject({ endpoint: "count_tokens", status: 429, errorCode: "rate_limit_exceeded" });
  });
});
