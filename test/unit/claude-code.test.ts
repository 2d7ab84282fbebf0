/**
 * Claude Code as it is (issue 15): its recorded requests (test/fixtures/claude-code/: default
 * model, `?beta=true`, tools, adaptive thinking, a `system` turn inside `messages`, streaming)
 * pass through to Anthropic untouched, and reach any other provider with the system turn kept in
 * its place as a system message.
 */
import { describe, expect, it } from "vitest";
import turnOne from "../fixtures/claude-code/turn-1.json";
import turnTwo from "../fixtures/claude-code/turn-2-tool-result.json";
import { MOCK, admin, gateway, testEnv, uniqueTag, upstreamSaw } from "./helpers.ts";

const env = testEnv({ ANTHROPIC_BASE_URL: `${MOCK}/v1`, ANTHROPIC_API_KEY: "mock-anthropic-key" });

type Recorded = typeof turnOne | typeof turnTwo;

/** A recorded request sent as Claude Code sent it, with the gateway's key and a tag the mock files it under. */
function replay(recorded: Recorded, tag: string, model?: string): Promise<Response> {
  const body = { ...recorded.body, metadata: { user_id: tag }, ...(model !== undefined && { model }) };
  return gateway(recorded.url, { method: "POST", headers: { ...recorded.headers, "x-api-key": "sk-test-dev-key" }, body: JSON.stringify(body) }, env);
}

describe("Claude Code's recorded requests", () => {
  for (const [name, recorded] of [["first turn", turnOne], ["tool-result turn", turnTwo]] as const) {
    it(`${name}: through Anthropic natively, the body passes untouched (system turn, new fields, beta flags)`, async () => {
      const tag = uniqueTag("cc-native");
      const res = await replay(recorded, tag);
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toContain("text/event-stream");
      const text = await res.text();
      expect(text).toContain("event: message_stop");
      const [seen] = await upstreamSaw(tag);
      expect(seen?.body).toEqual({ ...recorded.body, metadata: { user_id: tag } });
      expect(seen?.query).toContain("beta=true");
      expect(seen?.headers["anthropic-beta"]).toBe(recorded.headers["anthropic-beta"]);
    });
  }

  it("through a non-Anthropic provider: the system turn stays in its place as a system message, tools and the tool round trip translated", async () => {
    await gateway("/admin/routes/cc-reasoning", admin("PUT", { targets: [{ provider: "openai", model: "gpt-5" }] }), env);
    const tag = uniqueTag("cc-translated");
    const res = await replay(turnTwo, tag, "cc-reasoning");
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toContain("event: message_stop");
    const [seen] = await upstreamSaw(tag);
    const messages = seen?.body.messages as Array<{ role: string; content: unknown; tool_calls?: unknown[]; tool_call_id?: string }>;
    // The top-level system prompt first, then the conversation in order: user, system turn, assistant's call, the tool's result.
    expect(messages.map((m) => m.role)).toEqual(["system", "user", "system", "assistant", "tool"]);
    expect(String(messages[2]?.content)).toContain("Claude Code's system text");
    expect(messages[3]?.tool_calls).toEqual([{ id: "toolu_1", type: "function", function: { name: "Bash", arguments: JSON.stringify({ command: "echo hi", description: "Print hi" }) } }]);
    expect(messages[4]).toMatchObject({ role: "tool", tool_call_id: "toolu_1", content: "hi" });
    expect((seen?.body.tools as unknown[]).length).toBe(turnTwo.body.tools.length);
    // output_config.effort sets the reasoning effort; Anthropic-only tuning (context_management, thinking display) stays behind.
    expect(seen?.body.reasoning_effort).toBe("medium");
    expect(seen?.body.context_management).toBeUndefined();
  });

  it("a role no provider but Anthropic may know is refused by the translation, not by the gateway", async () => {
    await gateway("/admin/routes/cc-elsewhere", admin("PUT", { targets: [{ provider: "openai", model: "gpt-4.1" }] }), env);
    const body = { model: "cc-elsewhere", max_tokens: 10, messages: [{ role: "critic", content: "Hi" }] };
    const res = await gateway("/v1/messages", { method: "POST", headers: { "x-api-key": "sk-test-dev-key", "content-type": "application/json" }, body: JSON.stringify(body) }, env);
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ type: "error", error: { type: "invalid_request_error", message: expect.stringContaining("messages.0.role") } });
    const missing = await gateway("/v1/messages", { method: "POST", headers: { "x-api-key": "sk-test-dev-key", "content-type": "application/json" }, body: JSON.stringify({ ...body, messages: [{ content: "Hi" }] }) }, env);
    expect(missing.status).toBe(400);
  });
});
