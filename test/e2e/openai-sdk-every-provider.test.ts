/**
 * "Works identically whichever provider serves it": the same openai SDK calls
 * (chat, streaming with usage, a tool-call round trip) against every kind of
 * provider the gateway speaks to, with the same assertions. The mock provider
 * speaks each one's wire format behind the gateway running in `wrangler dev`.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import OpenAI from "openai";
import { openAIGatewayForFile } from "../support/openai-gateway.ts";

const { gw, client, script } = openAIGatewayForFile();

const tools: OpenAI.ChatCompletionTool[] = [
  { type: "function", function: { name: "get_weather", description: "Weather for a city", parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] } } },
];

/** Each provider, and how its own API carries the key (never in the URL, which ends up in logs). */
const PROVIDERS: ReadonlyArray<{ kind: string; model: string; auth: (headers: Record<string, string>) => boolean }> = [
  { kind: "OpenAI", model: "openai/gpt-4.1", auth: (h) => h.authorization === "Bearer mock-key" },
  { kind: "an OpenAI-compatible preset (Groq)", model: "groq/llama-3.3-70b-versatile", auth: (h) => h.authorization === "Bearer mock-key" },
  { kind: "Azure OpenAI", model: "azure/my-gpt-deployment", auth: (h) => h["api-key"] === "mock-key" && h.authorization === undefined },
  { kind: "Anthropic", model: "anthropic/claude-sonnet-4-5", auth: (h) => h["x-api-key"] === "mock-key" && h.authorization === undefined },
  // A Gemini 3 model: its tool calls carry thought signatures that must come back.
  { kind: "Gemini", model: "gemini/gemini-3-flash-preview", auth: (h) => h["x-goog-api-key"] === "mock-key" && h.authorization === undefined },
  { kind: "Bedrock Converse", model: "bedrock/us.anthropic.claude-sonnet-4-5-20250929-v1:0", auth: (h) => (h.authorization ?? "").startsWith("AWS4-HMAC-SHA256 Credential=") },
];

for (const { kind, model, auth } of PROVIDERS) {
  describe(`the openai SDK served by ${kind}`, () => {
    test("chat, and the same chat streamed: same text, same finish reason, same usage", async () => {
      const messages: OpenAI.ChatCompletionMessageParam[] = [{ role: "system", content: "Be brief." }, { role: "user", content: "Say hello" }];
      const { data: plain, response } = await client().chat.completions.create({ model, messages }).withResponse();
      assert.equal(response.headers.get("x-switchyard-provider"), model.split("/")[0]);
      assert.equal(plain.object, "chat.completion");
      assert.equal(plain.choices[0]?.message.role, "assistant");
      assert.equal(plain.choices[0]?.message.content, "Hello from the mock upstream.");
      assert.equal(plain.choices[0]?.finish_reason, "stop");
      assert.ok((plain.usage?.prompt_tokens ?? 0) > 0 && (plain.usage?.completion_tokens ?? 0) > 0);
      assert.equal(plain.usage?.total_tokens, (plain.usage?.prompt_tokens ?? 0) + (plain.usage?.completion_tokens ?? 0));

      const stream = await client().chat.completions.create({ model, messages, stream: true, stream_options: { include_usage: true } });
      let text = "";
      let finish: string | null = null;
      let usage: OpenAI.CompletionUsage | undefined;
      for await (const chunk of stream) {
        assert.equal(chunk.object, "chat.completion.chunk");
        text += chunk.choices[0]?.delta.content ?? "";
        finish = chunk.choices[0]?.finish_reason ?? finish;
        if (chunk.usage) usage = chunk.usage;
      }
      assert.equal(text, plain.choices[0]?.message.content);
      assert.equal(finish, "stop");
      assert.equal(usage?.prompt_tokens, plain.usage?.prompt_tokens);
      assert.equal(usage?.completion_tokens, plain.usage?.completion_tokens);
    });

    test("a tool-call round trip, streamed and not", async () => {
      const word = `tools-${crypto.randomUUID()}`;
      // `input` for the OpenAI, Anthropic and Bedrock mocks, `args` for Gemini's: each speaks its API's words.
      await script(word, { toolCall: { name: "get_weather", input: { city: "Oslo" }, args: { city: "Oslo" } } });
      const ask: OpenAI.ChatCompletionMessageParam[] = [{ role: "user", content: `Weather in Oslo? ${word}` }];
      const first = await client().chat.completions.create({ model, messages: ask, tools });
      assert.equal(first.choices[0]?.finish_reason, "tool_calls");
      const call = first.choices[0]?.message.tool_calls?.[0];
      assert.ok(call !== undefined && call.type === "function");
      assert.equal(call.function.name, "get_weather");
      assert.deepEqual(JSON.parse(call.function.arguments), { city: "Oslo" });
      assert.ok(call.id.length > 0);

      const stream = await client().chat.completions.create({ model, messages: ask, tools, stream: true });
      const calls = new Map<number, { id: string; name: string; args: string }>();
      let finish: string | null = null;
      for await (const chunk of stream) {
        for (const t of chunk.choices[0]?.delta.tool_calls ?? []) {
          const seen = calls.get(t.index) ?? { id: "", name: "", args: "" };
          calls.set(t.index, { id: seen.id + (t.id ?? ""), name: seen.name + (t.function?.name ?? ""), args: seen.args + (t.function?.arguments ?? "") });
        }
        finish = chunk.choices[0]?.finish_reason ?? finish;
      }
      assert.equal(finish, "tool_calls");
      assert.equal(calls.size, 1);
      assert.equal(calls.get(0)?.name, "get_weather");
      assert.deepEqual(JSON.parse(calls.get(0)?.args ?? ""), { city: "Oslo" });

      // The assistant message goes back as the SDK returned it (provider signatures included).
      const answer = await client().chat.completions.create({
        model,
        tools,
        messages: [...ask, first.choices[0]!.message, { role: "tool", tool_call_id: call.id, content: "-3°C, snow" }],
      });
      assert.equal(answer.choices[0]?.finish_reason, "stop");
      assert.equal(answer.choices[0]?.message.content, "Hello from the mock upstream.");
    });

    test("a rate-limited provider is a RateLimitError in the SDK", async () => {
      const word = `limited-${crypto.randomUUID()}`;
      await script(word, { status: 429 });
      await assert.rejects(client().chat.completions.create({ model, messages: [{ role: "user", content: word }] }), OpenAI.RateLimitError);
    });

    test("the provider's key travels in its own header, never in the URL", async () => {
      const word = `auth-${crypto.randomUUID()}`;
      await script(word, {});
      await client().chat.completions.create({ model, messages: [{ role: "user", content: word }] });
      const [seen] = gw().mock.requests.filter((r) => r.tag === word);
      assert.ok(seen !== undefined && auth(seen.headers), `auth headers: ${JSON.stringify(seen?.headers)}`);
      assert.ok(!/key=|mock-key/.test(`${seen.path}${seen.query}`), `no key in ${seen.path}${seen.query}`);
    });
  });
}
