/**
 * Issue 12, items 7 and 8: what comes back from a provider is not trusted.
 * Errors about the gateway's own account become the gateway's words, other
 * errors lose their identifiers, and upstream JSON cannot pollute the isolate.
 */
import { afterEach, describe, expect, it } from "vitest";
import { scrubIdentifiers } from "../../src/providers/error-text.ts";
import { mergeCounts } from "../../src/providers/usage.ts";
import { errorEvent } from "../../src/streaming/openai-events.ts";
import { MOCK, gateway, json, scriptUpstream, testEnv, uniqueTag, type OpenAIError } from "./helpers.ts";

const hello = (tag: string) => [{ role: "user", content: tag }];

async function errorFor(mock: Record<string, unknown>): Promise<{ status: number; body: OpenAIError }> {
  const tag = uniqueTag("upstream-error");
  await scriptUpstream(tag, mock);
  const res = await gateway("/v1/chat/completions", json({ model: "openai/gpt-4o-mini", user: tag, messages: hello(tag) }));
  return { status: res.status, body: await res.json<OpenAIError>() };
}

describe("provider errors do not leak the operator's details", () => {
  it("OpenAI's 401 naming the masked key becomes the gateway's own message", async () => {
    const { status, body } = await errorFor({
      status: 401,
      errorMessage: "Incorrect API key provided: sk-proj-AbCd************************************wxyz. You can find your API key at https://platform.openai.com/account/api-keys.",
    });
    expect(status).toBe(502);
    expect(body.error.code).toBe("upstream_auth_failed");
    expect(body.error.message).not.toMatch(/sk-|wxyz|AbCd|platform\.openai/);
    expect(body.error.message).toContain("operator");
  });

  it("a 429 for the account's quota (insufficient_quota) is the gateway's words; a rate-limit 429 keeps its meaning without the organisation id", async () => {
    const quota = await errorFor({ status: 429, errorCode: "insufficient_quota", errorType: "insufficient_quota", errorMessage: "You exceeded your current quota for organization org-Zx81Kq2LmP0aBcDe, please check your plan and billing details." });
    expect(quota.body.error.message).not.toMatch(/org-|quota for|billing details/);
    expect(quota.body.error.code).toBe("upstream_auth_failed");
    const limited = await errorFor({
      status: 429,
      errorMessage: "Rate limit reached for gpt-4o-mini in organization org-Zx81Kq2LmP0aBcDe on requests per min (RPM): Limit 3, Used 3, Requested 1.",
    });
    expect(limited.status).toBe(429);
    expect(limited.body.error.message).toContain("Rate limit reached for gpt-4o-mini in organization [id] on requests per min (RPM): Limit 3");
    expect(limited.body.error.message).not.toContain("org-Zx81");
  });

  it("a request error passes through with its meaning, ARNs, account ids, keys and URLs taken out", async () => {
    const { status, body } = await errorFor({
      status: 400,
      errorMessage: "Model arn:aws:bedrock:us-east-1:123456789012:inference-profile/x is not valid for key sk-ant-api03-XYZabc123 at https://myco.openai.azure.com/openai (account 123456789012).",
    });
    expect(status).toBe(400);
    expect(body.error.message).toBe("Model [arn] is not valid for key [key] at [url] (account [account]).");
  });

  it("a network error does not name the operator's host", () => {
    expect(scrubIdentifiers("getaddrinfo ENOTFOUND mycompany-prod.openai.azure.com")).toBe("getaddrinfo ENOTFOUND [host]");
    for (const plain of ["Rate limit reached for requests. Please try again in 1s.", "The user-provided schema is invalid at web_search_options.user_location."]) {
      expect(scrubIdentifiers(plain)).toBe(plain);
    }
    // Long hostile text is cut before the patterns run: linear, whatever it holds.
    expect(scrubIdentifiers("a-".repeat(50_000)).length).toBeLessThanOrEqual(2_001);
  });

  it("an error inside a translated stream (Bedrock's exception frames) loses its identifiers too", () => {
    const event = new TextDecoder().decode(errorEvent("Access denied to arn:aws:bedrock:us-east-1:123456789012:foundation-model/x", "upstream_error", null));
    expect(event).toContain("Access denied to [arn]");
    expect(event).not.toContain("123456789012");
  });
});

describe("upstream JSON cannot pollute the isolate", () => {
  const polluted = (): unknown => (Object.prototype as Record<string, unknown>).polluted;
  afterEach(() => {
    delete (Object.prototype as Record<string, unknown>).polluted;
  });

  it("merging usage with a __proto__ key leaves Object.prototype alone", () => {
    const merged: Record<string, unknown> = {};
    mergeCounts(merged, JSON.parse('{"input_tokens":5,"__proto__":{"polluted":1},"constructor":{"prototype":{"polluted":2}}}'));
    expect(polluted()).toBeUndefined();
    expect(merged).toEqual({ input_tokens: 5 });
  });

  it("an Anthropic stream and an OpenAI answer whose usage carries __proto__ are charged, and pollute nothing", async () => {
    const env = testEnv({ ANTHROPIC_BASE_URL: `${MOCK}/v1`, ANTHROPIC_API_KEY: "mock-anthropic-key" });
    const hostile = '{"__proto__":{"polluted":"yes"},"server_tool_use":{"__proto__":3,"web_search_requests":1}}';
    const tag = uniqueTag("proto-anthropic");
    await scriptUpstream(tag, { usageJson: hostile });
    const stream = await gateway("/v1/messages", json({ model: "anthropic/claude-haiku-4-5", max_tokens: 50, stream: true, messages: hello(tag) }), env);
    expect(stream.status).toBe(200);
    await stream.text();
    const plain = await gateway("/v1/messages", json({ model: "anthropic/claude-haiku-4-5", max_tokens: 50, messages: hello(tag) }), env);
    expect(plain.status).toBe(200);
    await plain.text();
    const openaiTag = uniqueTag("proto-openai");
    await scriptUpstream(openaiTag, { usageJson: '{"prompt_tokens":3,"completion_tokens":2,"__proto__":{"polluted":"yes"},"server_side_tool_usage_details":{"__proto__":{"polluted":1}}}' });
    const answer = await gateway("/v1/chat/completions", json({ model: "openai/gpt-4o-mini", user: openaiTag, messages: hello(openaiTag) }));
    expect(answer.status).toBe(200);
    expect(Number(answer.headers.get("x-switchyard-cost-usd"))).toBeGreaterThan(0);
    await answer.text();
    expect(polluted()).toBeUndefined();
  });
});
