/** POST /v1/messages: Anthropic-format clients, served natively by Anthropic or translated from any other provider. */
import { describe, expect, it } from "vitest";
import { MOCK, admin, gateway, scriptUpstream, testEnv, uniqueTag, upstreamSaw } from "./helpers.ts";

const env = testEnv({ ANTHROPIC_BASE_URL: `${MOCK}/v1`, ANTHROPIC_API_KEY: "mock-anthropic-key" });
const KEY = "sk-test-dev-key";

function post(body: unknown, headers: Record<string, string> = {}): RequestInit {
  return {
    method: "POST",
    headers: { "x-api-key": KEY, "anthropic-version": "2023-06-01", "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  };
}
const send = (body: Record<string, unknown>, headers: Record<string, string> = {}) => gateway("/v1/messages", post(body, headers), env);

interface Message {
  id: string;
  type: string;
  role: string;
  model: string;
  content: Array<{ type: string; text?: string; id?: string; name?: string; input?: unknown }>;
  stop_reason: string;
  stop_sequence: string | null;
  usage: { input_tokens: number; output_tokens: number; cache_read_input_tokens?: number; cache_creation_input_tokens?: number };
}
interface AnthropicError {
  type: "error";
  error: { type: string; message: string };
}
interface StreamEvent {
  event: string;
  data: Record<string, unknown> & { type: string };
}

/** Parses an Anthropic SSE body, checking that every event's `event:` name matches its data's `type`. */
function events(text: string): StreamEvent[] {
  return text
    .split("\n\n")
    .filter((block) => block.startsWith("event: "))
    .map((block) => {
      const [head, data] = block.split("\n");
      const parsed = { event: head!.slice(7), data: JSON.parse(data!.slice(6)) as StreamEvent["data"] };
      expect(parsed.data.type).toBe(parsed.event);
      return parsed;
    });
}

/** Rebuilds the message from a stream, as the Anthropic SDK does. */
function assemble(list: StreamEvent[]): { text: string; tools: Array<{ name: unknown; input: unknown }>; stop: unknown; usage: unknown } {
  const blocks: Array<{ type: string; text: string; json: string; name?: unknown }> = [];
  let stop: unknown = null;
  let usage: unknown = null;
  for (const { data } of list) {
    if (data.type === "content_block_start") {
      const block = data.content_block as { type: string; name?: string };
      blocks[data.index as number] = { type: block.type, text: "", json: "", name: block.name };
    } else if (data.type === "content_block_delta") {
      const delta = data.delta as { type: string; text?: string; partial_json?: string };
      const block = blocks[data.index as number]!;
      if (delta.type === "text_delta") block.text += delta.text;
      if (delta.type === "input_json_delta") block.json += delta.partial_json;
    } else if (data.type === "message_delta") {
      stop = (data.delta as { stop_reason: unknown }).stop_reason;
      usage = data.usage;
    }
  }
  return {
    text: blocks.filter((b) => b.type === "text").map((b) => b.text).join(""),
    tools: blocks.filter((b) => b.type === "tool_use").map((b) => ({ name: b.name, input: JSON.parse(b.json || "{}") })),
    stop,
    usage,
  };
}

const weather = { name: "get_weather", description: "Weather for a city", input_schema: { type: "object", properties: { city: { type: "string" } }, required: ["city"] } };

describe("/v1/messages served natively by Anthropic", () => {
  it("passes the body through untouched (model replaced, beta flags kept) and answers Anthropic's bytes", async () => {
    const tag = uniqueTag("native");
    const body = { model: "anthropic/claude-sonnet-4-5", max_tokens: 100, top_k: 5, system: [{ type: "text", text: "Be brief.", cache_control: { type: "ephemeral" } }], messages: [{ role: "user", content: "Hi" }], metadata: { user_id: tag }, mock: { cacheRead: 7 } };
    const res = await send(body, { "anthropic-beta": "interleaved-thinking-2025-05-14" });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-switchyard-provider")).toBe("anthropic");
    const message = await res.json<Message>();
    expect(message).toMatchObject({ type: "message", role: "assistant", content: [{ type: "text", text: "Hello from the mock upstream." }], stop_reason: "end_turn" });
    expect(message.usage.cache_read_input_tokens).toBe(7);
    const [seen] = await upstreamSaw(tag);
    expect(seen?.body).toEqual({ ...body, model: "claude-sonnet-4-5" });
    expect(seen?.headers["anthropic-beta"]).toBe("interleaved-thinking-2025-05-14");
    expect(seen?.headers["x-api-key"]).toBe("mock-anthropic-key");
  });

  it("relays the native event stream byte for byte", async () => {
    const res = await send({ model: "anthropic/claude-sonnet-4-5", max_tokens: 100, stream: true, messages: [{ role: "user", content: "Hi" }], tools: [weather], mock: { toolCall: { name: "get_weather", input: { city: "Oslo" } } } });
    expect(res.headers.get("content-type")).toContain("text/event-stream");
    const list = events(await res.text());
    expect(list[0]?.event).toBe("message_start");
    expect(list.some((e) => e.event === "ping")).toBe(true); // untouched: even Anthropic's pings arrive
    expect(list.at(-1)?.event).toBe("message_stop");
    const message = assemble(list);
    expect(message.tools).toEqual([{ name: "get_weather", input: { city: "Oslo" } }]);
    expect(message.stop).toBe("tool_use");
  });

  it("fails over from an overloaded Anthropic to another provider, translating its answer", async () => {
    await gateway("/admin/routes/claude-then-gpt", admin("PUT", { targets: [{ provider: "anthropic", model: "claude-sonnet-4-5" }, { provider: "openai", model: "gpt-4.1" }] }), env);
    const res = await send({ model: "claude-then-gpt", max_tokens: 100, messages: [{ role: "user", content: "Hi" }], mock: { status: 529 } });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-switchyard-provider")).toBe("openai");
    expect(res.headers.get("x-switchyard-attempts")).toBe("2");
    expect((await res.json<Message>()).content).toEqual([{ type: "text", text: "Hello from the mock upstream." }]);
  });
});

describe("/v1/messages translated for an OpenAI-format provider", () => {
  it("translates the request: system, tool results, tool calls, stops, output cap, end user", async () => {
    const tag = uniqueTag("translated");
    const res = await send({
      model: "openai/gpt-4.1",
      max_tokens: 300,
      system: "You are terse.",
      stop_sequences: ["END"],
      temperature: 0.3,
      metadata: { user_id: tag },
      tools: [weather],
      tool_choice: { type: "tool", name: "get_weather", disable_parallel_tool_use: true },
      messages: [
        { role: "user", content: [{ type: "text", text: "Weather in Paris?" }, { type: "image", source: { type: "base64", media_type: "image/png", data: "iVBORw0KGgo=" } }] },
        { role: "assistant", content: [{ type: "thinking", thinking: "…", signature: "sig" }, { type: "text", text: "Checking." }, { type: "tool_use", id: "toolu_1", name: "get_weather", input: { city: "Paris" } }] },
        { role: "user", content: [{ type: "tool_result", tool_use_id: "toolu_1", content: "18°C" }, { type: "text", text: "And tomorrow?" }] },
      ],
    });
    expect(res.status).toBe(200);
    const [seen] = await upstreamSaw(tag);
    expect(seen?.path).toBe("/v1/chat/completions");
    expect(seen?.body).toEqual({
      model: "gpt-4.1",
      max_completion_tokens: 300, // OpenAI's newer models refuse max_tokens
      temperature: 0.3,
      stop: ["END"],
      user: tag,
      tools: [{ type: "function", function: { name: "get_weather", description: "Weather for a city", parameters: weather.input_schema } }],
      tool_choice: { type: "function", function: { name: "get_weather" } },
      parallel_tool_calls: false,
      messages: [
        { role: "system", content: "You are terse." },
        { role: "user", content: [{ type: "text", text: "Weather in Paris?" }, { type: "image_url", image_url: { url: "data:image/png;base64,iVBORw0KGgo=" } }] },
        { role: "assistant", content: "Checking.", tool_calls: [{ id: "toolu_1", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } }] },
        { role: "tool", tool_call_id: "toolu_1", content: "18°C" },
        { role: "user", content: "And tomorrow?" },
      ],
    });
  });

  it("keeps what strict OpenAI-compatible servers refuse out of the body: cache_control, part arrays of text, stream_options", async () => {
    const tag = uniqueTag("strict");
    const mistral = testEnv({ MISTRAL_BASE_URL: `${MOCK}/mistral/v1`, MISTRAL_API_KEY: "k" });
    const res = await gateway("/v1/messages", post({
      model: "mistral/mistral-large-latest",
      max_tokens: 50,
      stream: true,
      metadata: { user_id: tag },
      system: [{ type: "text", text: "You are Claude Code.", cache_control: { type: "ephemeral" } }, { type: "text", text: "Be careful." }],
      messages: [{ role: "user", content: [{ type: "text", text: "<reminder>", cache_control: { type: "ephemeral" } }, { type: "text", text: "Hi" }] }],
    }), mistral);
    expect(res.status).toBe(200);
    await res.text();
    const [seen] = await upstreamSaw(tag);
    expect(seen?.body.messages).toEqual([
      { role: "system", content: "You are Claude Code.\n\nBe careful." },
      { role: "user", content: "<reminder>\n\nHi" },
    ]);
    expect(seen?.body).not.toHaveProperty("stream_options"); // Mistral answers 422 to it
  });

  it("moves a tool result's images into a user message (OpenAI takes images from users only), and names PDFs", async () => {
    const tag = uniqueTag("tool-image");
    const png = { type: "image", source: { type: "base64", media_type: "image/png", data: "iVBORw0KGgo=" } };
    await send({
      model: "openai/gpt-4.1",
      max_tokens: 50,
      metadata: { user_id: tag },
      tools: [weather],
      messages: [
        { role: "user", content: [{ type: "document", title: "q3.pdf", source: { type: "base64", media_type: "application/pdf", data: "JVBERi0=" } }, { type: "text", text: "Screenshot it" }] },
        { role: "assistant", content: [{ type: "tool_use", id: "toolu_9", name: "get_weather", input: { city: "Oslo" } }] },
        { role: "user", content: [{ type: "tool_result", tool_use_id: "toolu_9", content: [{ type: "text", text: "Here:" }, png] }] },
      ],
    });
    const [seen] = await upstreamSaw(tag);
    const messages = seen?.body.messages as unknown[];
    expect(messages[0]).toEqual({ role: "user", content: [{ type: "file", file: { filename: "q3.pdf", file_data: "data:application/pdf;base64,JVBERi0=" } }, { type: "text", text: "Screenshot it" }] });
    expect(messages.slice(2)).toEqual([
      { role: "tool", tool_call_id: "toolu_9", content: "Here:\n[1 attachment(s) follow in the next user message]" },
      { role: "user", content: [{ type: "image_url", image_url: { url: "data:image/png;base64,iVBORw0KGgo=" } }] },
    ]);
  });

  it("sends thinking as reasoning_effort only to models that take it, and structured outputs as a json_schema response_format", async () => {
    const schema = { type: "object", properties: { city: { type: "string" } }, required: ["city"], additionalProperties: false };
    const ask = (model: string, tag: string) =>
      send({ model, max_tokens: 5000, metadata: { user_id: tag }, thinking: { type: "enabled", budget_tokens: 4000 }, output_config: { format: { type: "json_schema", schema } }, messages: [{ role: "user", content: "Where?" }] });
    const [plain, reasoning] = [uniqueTag("gpt41"), uniqueTag("o4")];
    await ask("openai/gpt-4.1", plain);
    await ask("openai/o4-mini", reasoning);
    const [seenPlain] = await upstreamSaw(plain);
    const [seenReasoning] = await upstreamSaw(reasoning);
    expect(seenPlain?.body).not.toHaveProperty("reasoning_effort");
    expect(seenReasoning?.body.reasoning_effort).toBe("medium");
    expect(seenPlain?.body.response_format).toEqual({ type: "json_schema", json_schema: { name: "output", schema, strict: true } });
  });

  it("a prefilled answer cannot be continued elsewhere: 400 alone, the Anthropic target in a route", async () => {
    const prefill = [{ role: "user", content: "JSON please" }, { role: "assistant", content: "{" }];
    const alone = await send({ model: "openai/gpt-4.1", max_tokens: 50, messages: prefill });
    expect(alone.status).toBe(400);
    expect((await alone.json<AnthropicError>()).error.message).toContain("prefill");
    await gateway("/admin/routes/gpt-then-claude", admin("PUT", { targets: [{ provider: "openai", model: "gpt-4.1" }, { provider: "anthropic", model: "claude-sonnet-4-5" }] }), env);
    const routed = await send({ model: "gpt-then-claude", max_tokens: 50, messages: prefill });
    expect(routed.status).toBe(200);
    expect(routed.headers.get("x-switchyard-provider")).toBe("anthropic");
    expect(routed.headers.get("x-switchyard-attempts")).toBe("1"); // the refusing target cost no upstream call
  });

  it("answers an Anthropic message, with usage equal to the stream's", async () => {
    const ask = { model: "openai/gpt-4.1", max_tokens: 100, messages: [{ role: "user", content: "Hi there" }] };
    const res = await send(ask);
    const message = await res.json<Message>();
    expect(message).toMatchObject({ type: "message", role: "assistant", model: "gpt-4.1", stop_reason: "end_turn", stop_sequence: null, content: [{ type: "text", text: "Hello from the mock upstream." }] });
    expect(message.id).toMatch(/^msg_/);
    expect(message.usage.output_tokens).toBe(5);
    expect(message.usage.input_tokens).toBeGreaterThan(0);

    const streamed = await send({ ...ask, stream: true });
    expect(streamed.headers.get("content-type")).toContain("text/event-stream");
    const list = events(await streamed.text());
    expect(list.map((e) => e.event)).toEqual([
      "message_start",
      "content_block_start",
      ...Array<string>(5).fill("content_block_delta"),
      "content_block_stop",
      "message_delta",
      "message_stop",
    ]);
    const assembled = assemble(list);
    expect(assembled.text).toBe("Hello from the mock upstream.");
    expect(assembled.stop).toBe("end_turn");
    expect(assembled.usage).toEqual(message.usage);
  });

  it("maps the stop reason for a capped answer", async () => {
    const message = await (await send({ model: "openai/gpt-4.1", max_tokens: 2, messages: [{ role: "user", content: "Hi" }] })).json<Message>();
    expect(message.stop_reason).toBe("max_tokens");
  });

  it("runs a tool-call round trip, streamed and not", async () => {
    const word = uniqueTag("toolcall");
    await scriptUpstream(word, { toolCall: { name: "get_weather", input: { city: "Oslo" } } });
    const ask = { model: "openai/gpt-4.1", max_tokens: 100, tools: [weather], messages: [{ role: "user", content: `Weather in Oslo? ${word}` }] };
    const first = await (await send(ask)).json<Message>();
    expect(first.stop_reason).toBe("tool_use");
    const call = first.content.find((b) => b.type === "tool_use");
    expect(call).toMatchObject({ name: "get_weather", input: { city: "Oslo" } });
    expect(call?.id).toMatch(/^call_/);

    const streamed = assemble(events(await (await send({ ...ask, stream: true })).text()));
    expect(streamed.tools).toEqual([{ name: "get_weather", input: { city: "Oslo" } }]);
    expect(streamed.stop).toBe("tool_use");

    const answer = await send({
      model: "openai/gpt-4.1",
      max_tokens: 100,
      tools: [weather],
      messages: [...ask.messages, { role: "assistant", content: first.content }, { role: "user", content: [{ type: "tool_result", tool_use_id: call?.id, content: [{ type: "text", text: "-3°C" }] }] }],
    });
    expect((await answer.json<Message>()).stop_reason).toBe("end_turn");
    const seen = (await upstreamSaw(word)).at(-1); // the script's word tags every request of the conversation
    expect((seen?.body.messages as unknown[]).slice(-2)).toEqual([
      { role: "assistant", content: null, tool_calls: [{ id: call?.id, type: "function", function: { name: "get_weather", arguments: '{"city":"Oslo"}' } }] },
      { role: "tool", tool_call_id: call?.id, content: "-3°C" },
    ]);
  });

  it("ends a stream that breaks after its start with an Anthropic error event", async () => {
    const word = uniqueTag("breaks");
    await scriptUpstream(word, { breakAfterEvents: 3 });
    const list = events(await (await send({ model: "openai/gpt-4.1", max_tokens: 100, stream: true, messages: [{ role: "user", content: word }] })).text());
    expect(list[0]?.event).toBe("message_start");
    expect(list.at(-1)?.event).toBe("error");
    expect((list.at(-1)?.data.error as { type: string }).type).toBe("api_error");
    expect(list.some((e) => e.event === "message_stop")).toBe(false);
  });
});

describe("/v1/messages across providers: history and failover", () => {
  it("drops another provider's unsigned thinking before sending the history to Anthropic (which would refuse it)", async () => {
    const res = await send({
      model: "anthropic/claude-sonnet-4-5",
      max_tokens: 50,
      messages: [
        { role: "user", content: "Hi" },
        { role: "assistant", content: [{ type: "thinking", thinking: "Gemini thought this.", signature: "" }, { type: "text", text: "Hello." }] },
        { role: "user", content: "Again" },
      ],
    });
    expect(res.status).toBe(200);
  });

  it("an overloaded Anthropic is a 529 overloaded_error to Anthropic clients, as Anthropic sends it", async () => {
    const res = await send({ model: "anthropic/claude-sonnet-4-5", max_tokens: 5, messages: [{ role: "user", content: "Hi" }], mock: { status: 529 } });
    expect(res.status).toBe(529);
    expect((await res.json<AnthropicError>()).error.type).toBe("overloaded_error");
  });

  it("a key allowed `anthropic/*` may use a bare claude name; a key allowed only `openai/*` may not", async () => {
    const create = async (models: string[]) => (await (await gateway("/admin/keys", admin("POST", { name: "scoped", models }), env)).json<{ key: string }>()).key;
    const anthropicKey = await create(["anthropic/*"]);
    const openaiKey = await create(["openai/*"]);
    const ask = { model: "claude-sonnet-4-5", max_tokens: 5, messages: [{ role: "user", content: "Hi" }] };
    expect((await send(ask, { "x-api-key": anthropicKey })).status).toBe(200);
    const refused = await send(ask, { "x-api-key": openaiKey });
    expect(refused.status).toBe(403);
    expect((await refused.json<AnthropicError>()).error.type).toBe("permission_error");
  });
});

describe("/v1/messages errors, in Anthropic's shape", () => {
  async function expectError(res: Response, status: number, type: string, mentions: string): Promise<void> {
    expect(res.status).toBe(status);
    const body = await res.json<AnthropicError & { request_id?: string }>();
    expect(body.type).toBe("error");
    expect(body.error.type).toBe(type);
    expect(body.error.message).toContain(mentions);
    expect(body.request_id).toBe(res.headers.get("x-switchyard-request-id"));
  }

  it("a missing max_tokens is a 400 invalid_request_error", async () => {
    await expectError(await send({ model: "openai/gpt-4.1", messages: [{ role: "user", content: "Hi" }] }), 400, "invalid_request_error", "max_tokens");
  });

  it("a message without a role is a 400 that says what a role is (a system turn is accepted: Claude Code sends them)", async () => {
    await expectError(await send({ model: "openai/gpt-4.1", max_tokens: 5, messages: [{ content: "x" }] }), 400, "invalid_request_error", "role");
    expect((await send({ model: "openai/gpt-4.1", max_tokens: 5, messages: [{ role: "user", content: "Hi" }, { role: "system", content: "Be brief." }] })).status).toBe(200);
  });

  it("a body that is not JSON is a 400", async () => {
    await expectError(await gateway("/v1/messages", post("{nope"), env), 400, "invalid_request_error", "JSON");
  });

  it("a bad key is a 401 authentication_error", async () => {
    await expectError(await send({ model: "openai/gpt-4.1", max_tokens: 5, messages: [] }, { "x-api-key": "sk-sy-wrong" }), 401, "authentication_error", "key");
  });

  it("an unknown model is a 404 not_found_error", async () => {
    await expectError(await send({ model: "nobody/none", max_tokens: 5, messages: [{ role: "user", content: "Hi" }] }), 404, "not_found_error", "nobody");
  });

  it("Anthropic's server tools cannot go to another provider: a 400 naming the tool", async () => {
    const res = await send({ model: "openai/gpt-4.1", max_tokens: 5, tools: [{ type: "web_search_20250305", name: "web_search" }], messages: [{ role: "user", content: "Hi" }] });
    await expectError(res, 400, "invalid_request_error", "web_search_20250305");
  });

  it("a provider's rate limit is a 429 rate_limit_error with its retry-after", async () => {
    const res = await send({ model: "anthropic/claude-sonnet-4-5", max_tokens: 5, messages: [{ role: "user", content: "Hi" }], mock: { status: 429, retryAfter: "7" } });
    expect(res.headers.get("retry-after")).toBe("7");
    await expectError(res, 429, "rate_limit_error", "rate limiting");
  });

  it("a wrong method is a 405 in Anthropic's shape", async () => {
    await expectError(await gateway("/v1/messages", { method: "GET", headers: { "x-api-key": KEY } }, env), 405, "invalid_request_error", "POST");
  });
});

describe("/v1/messages/count_tokens", () => {
  it("is answered by the plan's Anthropic target, and refused for a model no Anthropic target serves", async () => {
    const res = await gateway("/v1/messages/count_tokens", post({ model: "claude-sonnet-4-5", system: "Be brief.", messages: [{ role: "user", content: "Hello there, how are you?" }] }), env);
    expect(res.status).toBe(200);
    expect(res.headers.get("x-switchyard-provider")).toBe("anthropic");
    expect(await res.json()).toEqual({ input_tokens: expect.any(Number) });
    const other = await gateway("/v1/messages/count_tokens", post({ model: "openai/gpt-4.1", messages: [{ role: "user", content: "Hi" }] }), env);
    expect(other.status).toBe(400);
    expect((await other.json<AnthropicError>()).error.message).toContain("Anthropic model");
  });
});
