/**
 * The official `@anthropic-ai/sdk`, unchanged but for baseURL and key, against
 * /v1/messages of the gateway running in `wrangler dev`, served by every kind of
 * provider behind it (the mock speaks each one's wire format).
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import Anthropic from "@anthropic-ai/sdk";
import type { LocalGateway } from "../../scripts/local-gateway.ts";
import { scriptMock } from "../support/mock-script.ts";
import { startTestGateway } from "../support/test-gateway.ts";

let gw: LocalGateway;
let client: Anthropic;

before(async () => {
  gw = await startTestGateway({ UPSTREAM_TIMEOUT_MS: "1500" });
  client = new Anthropic({ baseURL: gw.url, apiKey: gw.gatewayKey, maxRetries: 0 });
});

after(async () => {
  await gw?.stop();
});

/** Gives upstream requests containing `word` these mock options (translated bodies carry no `mock` field). */
const script = (word: string, mock: Record<string, unknown>): Promise<void> => scriptMock(gw.mock.url, word, mock);

const weather: Anthropic.Tool = { name: "get_weather", description: "Weather for a city", input_schema: { type: "object", properties: { city: { type: "string" } }, required: ["city"] } };

/** One model per kind of provider the gateway speaks to; each answers /v1/messages the same way. */
const PROVIDERS: ReadonlyArray<{ kind: string; model: string }> = [
  { kind: "Anthropic (native pass-through)", model: "anthropic/claude-sonnet-4-5" },
  { kind: "OpenAI", model: "openai/gpt-4.1" },
  { kind: "Gemini", model: "gemini/gemini-2.5-flash" },
  { kind: "Bedrock Converse", model: "bedrock/us.anthropic.claude-sonnet-4-5-20250929-v1:0" },
  { kind: "Azure OpenAI (deployment)", model: "azure/my-gpt-deployment" },
  { kind: "an OpenAI-compatible preset (DeepSeek)", model: "deepseek/deepseek-chat" },
];

for (const { kind, model } of PROVIDERS) {
  describe(`the Anthropic SDK served by ${kind}`, () => {
    const messages: Anthropic.MessageParam[] = [{ role: "user", content: "Say hello" }];

    test("a message, and the same message streamed, with the same usage", async () => {
      const { data, response } = await client.messages.create({ model, max_tokens: 200, messages }).withResponse();
      assert.equal(data.type, "message");
      assert.equal(data.role, "assistant");
      assert.deepEqual(data.content.map((b) => (b.type === "text" ? b.text : b.type)), ["Hello from the mock upstream."]);
      assert.equal(data.stop_reason, "end_turn");
      assert.ok(data.usage.input_tokens > 0 && data.usage.output_tokens > 0);
      assert.equal(response.headers.get("x-switchyard-provider"), model.split("/")[0]);

      const stream = client.messages.stream({ model, max_tokens: 200, messages });
      let text = "";
      stream.on("text", (delta) => (text += delta));
      const final = await stream.finalMessage();
      assert.equal(text, "Hello from the mock upstream.");
      assert.equal(final.stop_reason, "end_turn");
      assert.equal(final.usage.output_tokens, data.usage.output_tokens);
      assert.equal(final.usage.input_tokens, data.usage.input_tokens);
    });

    test("a tool-call round trip, streamed and not", async () => {
      const word = `tool-${crypto.randomUUID()}`;
      // `input` for the Anthropic and OpenAI mocks, `args` for Gemini's (each mock speaks its API's words).
      await script(word, { toolCall: { name: "get_weather", input: { city: "Oslo" }, args: { city: "Oslo" } } });
      const ask: Anthropic.MessageParam[] = [{ role: "user", content: `Weather in Oslo? ${word}` }];
      const first = await client.messages.create({ model, max_tokens: 200, tools: [weather], messages: ask });
      assert.equal(first.stop_reason, "tool_use");
      const call = first.content.find((b): b is Anthropic.ToolUseBlock => b.type === "tool_use");
      assert.ok(call !== undefined);
      assert.equal(call.name, "get_weather");
      assert.deepEqual(call.input, { city: "Oslo" });

      const streamed = await client.messages.stream({ model, max_tokens: 200, tools: [weather], messages: ask }).finalMessage();
      const streamedCall = streamed.content.find((b): b is Anthropic.ToolUseBlock => b.type === "tool_use");
      assert.deepEqual(streamedCall?.input, { city: "Oslo" });
      assert.equal(streamed.stop_reason, "tool_use");

      const answer = await client.messages.create({
        model,
        max_tokens: 200,
        tools: [weather],
        messages: [...ask, { role: "assistant", content: first.content }, { role: "user", content: [{ type: "tool_result", tool_use_id: call.id, content: "-3°C" }] }],
      });
      // Given the tool's result, the model answers in text.
      assert.equal(answer.stop_reason, "end_turn");
      assert.deepEqual(answer.content.map((b) => b.type), ["text"]);
    });

    test("a provider failure reaches the SDK as the matching error class", async () => {
      const word = `fail-${crypto.randomUUID()}`;
      await script(word, { status: 429, retryAfter: "3", retryDelay: "3s" }); // Gemini sends its delay in the body
      await assert.rejects(
        client.messages.create({ model, max_tokens: 50, messages: [{ role: "user", content: word }] }),
        (err: unknown) => err instanceof Anthropic.RateLimitError && err.headers?.get("retry-after") === "3",
      );
    });
  });
}

describe("Anthropic SDK errors from the gateway itself", () => {
  test("a bad key is an AuthenticationError, an unknown model a NotFoundError, a bad request a BadRequestError", async () => {
    const bad = new Anthropic({ baseURL: gw.url, apiKey: "sk-sy-not-a-real-key", maxRetries: 0 });
    await assert.rejects(bad.messages.create({ model: "fast", max_tokens: 5, messages: [{ role: "user", content: "x" }] }), Anthropic.AuthenticationError);
    await assert.rejects(client.messages.create({ model: "nobody/none", max_tokens: 5, messages: [{ role: "user", content: "x" }] }), Anthropic.NotFoundError);
    await assert.rejects(
      client.messages.create({ model: "openai/gpt-4.1", max_tokens: 5, messages: [{ role: "user", content: "x" }], tools: [{ type: "web_search_20250305", name: "web_search" }] }),
      (err: unknown) => err instanceof Anthropic.BadRequestError && /Anthropic models/.test(err.message),
    );
  });

  test("a stream that breaks after it started ends in an error, not a clean end", async () => {
    const word = `break-${crypto.randomUUID()}`;
    await script(word, { breakAfterEvents: 3 });
    await assert.rejects(client.messages.stream({ model: "openai/gpt-4.1", max_tokens: 50, messages: [{ role: "user", content: word }] }).finalMessage(), /broke mid-stream/);
  });
});
