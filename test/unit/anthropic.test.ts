/** The gateway in front of Anthropic (the mock speaks the Messages API): OpenAI format in and out. */
import { describe, expect, it } from "vitest";
import { MOCK, admin, gateway, json, testEnv, uniqueTag, upstreamSaw, type OpenAIError } from "./helpers.ts";

const env = testEnv({ ANTHROPIC_BASE_URL: `${MOCK}/v1`, ANTHROPIC_API_KEY: "mock-anthropic-key" });
const ask = (body: Record<string, unknown>) => gateway("/v1/chat/completions", json({ model: "anthropic/claude-sonnet-4-5", ...body }), env);
const weatherTool = { type: "function", function: { name: "get_weather", parameters: { type: "object", properties: { city: { type: "string" } } } } };

interface Completion {
  object: string;
  choices: Array<{ message: { content: string | null; tool_calls?: Array<{ id: string; function: { name: string; arguments: string } }> }; finish_reason: string }>;
  usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number; prompt_tokens_details: { cached_tokens: number; cache_write_tokens: number } };
}

function dataEvents(text: string): string[] {
  return text.split("\n\n").filter((e) => e.startsWith("data: ")).map((e) => e.slice(6));
}

describe("OpenAI clients served by Anthropic", () => {
  it("translates the request (system, max_tokens default, headers) and the answer (content, usage with cache)", async () => {
    const tag = uniqueTag("anthropic");
    const res = await ask({ messages: [{ role: "system", content: "Be brief." }, { role: "user", content: "Hi" }], user: tag, mock: { cacheRead: 100, cacheWrite: 20 } });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-switchyard-provider")).toBe("anthropic");
    const body = await res.json<Completion>();
    expect(body.object).toBe("chat.completion");
    expect(body.choices[0]?.message.content).toBe("Hello from the mock upstream.");
    expect(body.choices[0]?.finish_reason).toBe("stop");
    expect(body.usage.prompt_tokens_details).toEqual({ cached_tokens: 100, cache_write_tokens: 20 });
    expect(body.usage.prompt_tokens).toBeGreaterThan(120);
    const [seen] = await upstreamSaw(tag);
    expect(seen?.path).toBe("/v1/messages");
    expect(seen?.headers["x-api-key"]).toBe("mock-anthropic-key");
    expect(seen?.headers["anthropic-version"]).toBe("2023-06-01");
    expect(seen?.body).toMatchObject({ model: "claude-sonnet-4-5", max_tokens: 64000, system: [{ type: "text", text: "Be brief." }], metadata: { user_id: tag } });
  });

  it("streams OpenAI chunks, with the usage chunk only when asked, equal to the non-streamed usage", async () => {
    const messages = [{ role: "user", content: "Hi there" }];
    const plain = await (await ask({ messages })).json<Completion>();
    const streamed = await ask({ messages, stream: true, stream_options: { include_usage: true } });
    expect(streamed.headers.get("content-type")).toContain("text/event-stream");
    const data = dataEvents(await streamed.text());
    expect(data.at(-1)).toBe("[DONE]");
    const chunks = data.slice(0, -1).map((d) => JSON.parse(d) as { choices: Array<{ delta: { content?: string } }>; usage?: unknown });
    expect(chunks.map((c) => c.choices[0]?.delta.content ?? "").join("")).toBe("Hello from the mock upstream.");
    expect(chunks.at(-1)?.usage).toEqual(plain.usage);
    const unasked = dataEvents(await (await ask({ messages, stream: true })).text());
    expect(unasked.some((d) => d.includes('"usage"'))).toBe(false);
  });

  it("runs a tool-call round trip, streamed and not", async () => {
    const toolCall = { name: "get_weather", input: { city: "Paris" } };
    const first = await (await ask({ messages: [{ role: "user", content: "Weather in Paris?" }], tools: [weatherTool], mock: { toolCall } })).json<Completion>();
    expect(first.choices[0]?.finish_reason).toBe("tool_calls");
    const call = first.choices[0]?.message.tool_calls?.[0];
    expect(call?.function).toEqual({ name: "get_weather", arguments: '{"city":"Paris"}' });

    const streamed = dataEvents(await (await ask({ messages: [{ role: "user", content: "Weather?" }], tools: [weatherTool], stream: true, mock: { toolCall } })).text());
    const args = streamed
      .slice(0, -1)
      .flatMap((d) => (JSON.parse(d) as { choices: Array<{ delta: { tool_calls?: Array<{ function: { arguments?: string } }> } }> }).choices[0]?.delta.tool_calls ?? [])
      .map((t) => t.function.arguments ?? "")
      .join("");
    expect(JSON.parse(args)).toEqual({ city: "Paris" });

    const tag = uniqueTag("tool-result");
    const second = await ask({
      user: tag,
      tools: [weatherTool],
      messages: [
        { role: "user", content: "Weather in Paris?" },
        { role: "assistant", content: null, tool_calls: [{ id: call?.id, type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } }] },
        { role: "tool", tool_call_id: call?.id, content: "18°C, sunny" },
      ],
    });
    expect(second.status).toBe(200);
    const [seen] = await upstreamSaw(tag);
    expect((seen?.body.messages as unknown[]).at(-1)).toEqual({ role: "user", content: [{ type: "tool_result", tool_use_id: call?.id, content: [{ type: "text", text: "18°C, sunny" }] }] });
  });

  it("classifies Anthropic's errors: 529 overloaded fails over, 429 keeps retry-after, 400 passes through", async () => {
    await gateway("/admin/routes/claude-then-gpt", admin("PUT", { targets: [{ provider: "anthropic", model: "claude-sonnet-4-5" }, { provider: "openai", model: "gpt-4o-mini" }] }), env);
    const failover = await gateway("/v1/chat/completions", json({ model: "claude-then-gpt", messages: [{ role: "user", content: "hi" }], mock: { onlyModel: "claude-sonnet-4-5", status: 529 } }), env);
    expect(failover.status).toBe(200);
    expect(failover.headers.get("x-switchyard-provider")).toBe("openai");

    const limited = await ask({ messages: [{ role: "user", content: "hi" }], mock: { status: 429, retryAfter: "9" } });
    expect(limited.status).toBe(429);
    expect(limited.headers.get("retry-after")).toBe("9");

    const invalid = await ask({ messages: [{ role: "user", content: "hi" }], mock: { status: 400, errorMessage: "messages: roles must alternate" } });
    expect(invalid.status).toBe(400);
    const body = await invalid.json<OpenAIError>();
    expect(body.error.message).toBe("messages: roles must alternate");
    expect(body.error.type).toBe("invalid_request_error");
  });

  it("a stream whose first event is an error is a failed attempt: 502 alone, the next target in a route", async () => {
    const alone = await ask({ messages: [{ role: "user", content: "hi" }], stream: true, mock: { firstEventError: true } });
    expect(alone.status).toBe(502);
    expect((await alone.json<OpenAIError>()).error.message).toContain("Overloaded");
    await gateway("/admin/routes/claude-then-gpt", admin("PUT", { targets: [{ provider: "anthropic", model: "claude-sonnet-4-5" }, { provider: "openai", model: "gpt-4o-mini" }] }), env);
    const res = await gateway(
      "/v1/chat/completions",
      json({ model: "claude-then-gpt", stream: true, messages: [{ role: "user", content: "hi" }], mock: { onlyModel: "claude-sonnet-4-5", firstEventError: true } }),
      env,
    );
    expect(res.status).toBe(200);
    expect(res.headers.get("x-switchyard-provider")).toBe("openai");
    expect(dataEvents(await res.text()).at(-1)).toBe("[DONE]");

    // Anthropic's stream opens with message_start and ping: an error right after them still fails over.
    const late = await gateway(
      "/v1/chat/completions",
      json({ model: "claude-then-gpt", stream: true, messages: [{ role: "user", content: "hi" }], mock: { onlyModel: "claude-sonnet-4-5", errorAfterStart: true } }),
      env,
    );
    expect(late.status).toBe(200);
    expect(late.headers.get("x-switchyard-provider")).toBe("openai");
    await late.text();
  });
});

describe("Anthropic's structured outputs and signed thinking, through OpenAI's format", () => {
  it("a JSON-schema response_format comes back as JSON that fits the schema", async () => {
    const tag = uniqueTag("structured");
    const schema = { type: "object", properties: { city: { type: "string" }, celsius: { type: "number" } }, required: ["city", "celsius"], additionalProperties: false };
    const res = await ask({ user: tag, messages: [{ role: "user", content: "Weather?" }], response_format: { type: "json_schema", json_schema: { name: "weather", strict: true, schema } } });
    expect(res.status).toBe(200);
    const body = await res.json<Completion>();
    expect(JSON.parse(body.choices[0]?.message.content ?? "")).toEqual({ city: "mock", celsius: 0 });
    const [seen] = await upstreamSaw(tag);
    expect(seen?.body.output_config).toEqual({ format: { type: "json_schema", schema } });
    // Anthropic's own refusal of a schema it cannot enforce comes back as the client's 400.
    const loose = await ask({ messages: [{ role: "user", content: "Weather?" }], response_format: { type: "json_schema", json_schema: { name: "w", schema: { type: "object" } } } });
    expect(loose.status).toBe(400);
    expect((await loose.json<OpenAIError>()).error.message).toContain("additionalProperties");
  });

  it("a tool loop with reasoning keeps thinking on: the signed thinking handed out comes back before the tool result", async () => {
    const toolCall = { name: "get_weather", input: { city: "Oslo" } };
    const question = { role: "user", content: "Weather in Oslo?" };
    const first = await ask({ messages: [question], tools: [weatherTool], reasoning_effort: "low", max_tokens: 8000, mock: { toolCall } });
    expect(first.status).toBe(200);
    const message = (await first.json<{ choices: Array<{ message: Record<string, unknown> & { tool_calls: Array<{ id: string }> } }> }>()).choices[0]!.message;
    expect(message.reasoning_content).toBe("Let me think about that.");
    expect(message.thinking_blocks).toEqual([{ type: "thinking", thinking: "Let me think about that.", signature: expect.any(String) }]);

    const tag = uniqueTag("signed");
    const next = (assistant: Record<string, unknown>) =>
      ask({ user: tag, tools: [weatherTool], reasoning_effort: "low", max_tokens: 8000, messages: [question, assistant, { role: "tool", tool_call_id: message.tool_calls[0]!.id, content: "-3°C" }] });
    const second = await next(message); // the assistant message sent back as received, as SDK users do
    expect(second.status).toBe(200);
    const [seen] = await upstreamSaw(tag);
    expect(seen?.body.thinking).toEqual({ type: "enabled", budget_tokens: 2048 });
    expect(((seen?.body.messages as Array<{ content: Array<{ type: string }> }>)[1]?.content ?? []).map((b) => b.type)).toEqual(["thinking", "text", "tool_use"]);

    // A tampered signature is Anthropic's 400, passed to the client; it is not retried elsewhere.
    const tampered = await next({ ...message, thinking_blocks: [{ type: "thinking", thinking: "I changed this.", signature: "forged" }] });
    expect(tampered.status).toBe(400);
    expect((await tampered.json<OpenAIError>()).error.message).toContain("signature");
  });
});
