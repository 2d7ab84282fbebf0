/**
 * The fault list, against a cross-format route: an OpenAI-compatible
 * primary failing over to Anthropic. Each fault ends in the alternate's answer,
 * or (after the commit point) a well-formed error, within the route's deadline.
 */
import { describe, expect, it } from "vitest";
import { MOCK, admin, gateway, json, testEnv } from "./helpers.ts";

const env = testEnv({ ANTHROPIC_BASE_URL: `${MOCK}/v1`, ANTHROPIC_API_KEY: "mock-anthropic-key" });
const ALIAS = "openai-then-claude";
const DEADLINE_MS = 3000;
const route = {
  targets: [{ provider: "openai", model: "primary", ttfbTimeoutMs: 400 }, { provider: "anthropic", model: "claude-sonnet-4-5" }],
  timeoutMs: DEADLINE_MS,
};

async function ask(fault: Record<string, unknown>, stream: boolean): Promise<{ res: Response; body: string; ms: number }> {
  await gateway(`/admin/routes/${ALIAS}`, admin("PUT", route), env);
  const started = Date.now();
  const res = await gateway("/v1/chat/completions", json({ model: ALIAS, stream, messages: [{ role: "user", content: "hi" }], mock: { onlyModel: "primary", ...fault } }), env);
  const body = await res.text();
  return { res, body, ms: Date.now() - started };
}

const FAILS_OVER: ReadonlyArray<[string, Record<string, unknown>, boolean, string]> = [
  ["429 with retry-after", { status: 429, retryAfter: "1" }, false, "429"],
  ["429 without retry-after", { status: 429, retryAfter: "" }, false, "429"],
  ["500 (tried twice, then the alternate)", { status: 500 }, false, "500, openai/primary=500"],
  ["502", { status: 502 }, false, "502"],
  ["503", { status: 503 }, false, "503"],
  ["529", { status: 529 }, false, "529"],
  ["a hang past the first-byte deadline", { hang: true }, false, "timeout"],
  ["a slow first byte", { delayMs: 1500 }, true, "timeout"],
  ["a connection reset before the first event", { breakAfterEvents: 0 }, true, "network"],
  ["an error as the first stream event", { firstEventError: true }, true, "stream-error"],
  ["JSON where a stream was asked for", { status: 200, errorBody: { error: { message: "no streams here" } } }, true, "bad-answer"],
];

describe("faults on the primary end in the alternate's answer", () => {
  for (const [fault, mock, stream, why] of FAILS_OVER) {
    it(fault, async () => {
      const { res, body, ms } = await ask(mock, stream);
      expect(res.status).toBe(200);
      expect(res.headers.get("x-switchyard-provider")).toBe("anthropic");
      expect(res.headers.get("x-switchyard-fallbacks")).toBe(`openai/primary=${why}`);
      expect(body).toContain("Hello");
      expect(ms).toBeLessThan(DEADLINE_MS);
    });
  }
});

describe("faults after the commit point end in a well-formed error", () => {
  it("a stream cut after its first events ends with an SSE error event", async () => {
    const { res, body } = await ask({ breakAfterEvents: 3 }, true);
    expect(res.status).toBe(200);
    expect(res.headers.get("x-switchyard-provider")).toBe("openai");
    const last = body.trim().split("\n\n").at(-1) ?? "";
    expect(JSON.parse(last.slice(6))).toMatchObject({ error: { code: "upstream_stream_error" } });
  });

  it("malformed JSON in a non-streamed answer is a 502 in OpenAI's error shape", async () => {
    const { res, body } = await ask({ status: 200, rawErrorBody: "{\"id\": \"x\", \"choices\": [" }, false);
    expect(res.status).toBe(502);
    expect(JSON.parse(body)).toMatchObject({ error: { code: "upstream_bad_response", type: "upstream_error" } });
  });
});
