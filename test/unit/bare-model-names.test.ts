/** Bare model names (`claude-sonnet-4-5`, `gpt-4.1`): clients with hard-wired names, such as Claude Code, work unchanged. */
import { describe, expect, it } from "vitest";
import { MOCK, admin, gateway, json, testEnv, type OpenAIError } from "./helpers.ts";

const env = testEnv({ ANTHROPIC_BASE_URL: `${MOCK}/v1`, ANTHROPIC_API_KEY: "mock-anthropic-key" });
const hello = [{ role: "user", content: "Hi" }];

describe("a bare model name goes to the configured provider of its family", () => {
  it("claude-… to Anthropic, on /v1/messages and /v1/chat/completions", async () => {
    const messages = await gateway("/v1/messages", json({ model: "claude-sonnet-4-5-20250929", max_tokens: 20, messages: hello }), env);
    expect(messages.status).toBe(200);
    expect(messages.headers.get("x-switchyard-provider")).toBe("anthropic");
    expect(messages.headers.get("x-switchyard-model")).toBe("claude-sonnet-4-5-20250929");
    const chat = await gateway("/v1/chat/completions", json({ model: "claude-haiku-4-5", messages: hello }), env);
    expect(chat.headers.get("x-switchyard-provider")).toBe("anthropic");
  });

  it("gpt-… to OpenAI", async () => {
    const res = await gateway("/v1/chat/completions", json({ model: "gpt-4.1-mini", messages: hello }), env);
    expect(res.status).toBe(200);
    expect(res.headers.get("x-switchyard-provider")).toBe("openai");
  });

  it("an alias of the same name wins, so an operator can reroute a hard-wired name", async () => {
    await gateway("/admin/routes/claude-opus-4-1", admin("PUT", { targets: [{ provider: "deepseek", model: "deepseek-chat" }] }), env);
    const res = await gateway("/v1/messages", json({ model: "claude-opus-4-1", max_tokens: 20, messages: hello }), env);
    expect(res.headers.get("x-switchyard-provider")).toBe("deepseek");
  });

  it("a family whose provider is not configured, or no family at all, is a 404", async () => {
    for (const model of ["grok-4", "llama-3.3-70b"]) {
      const res = await gateway("/v1/chat/completions", json({ model, messages: hello }), env);
      expect(res.status).toBe(404);
      expect((await res.json<OpenAIError>()).error.code).toBe("model_not_found");
    }
  });
});
