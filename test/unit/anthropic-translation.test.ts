/**
 * Anthropic ↔ OpenAI translation, driven by payloads in Anthropic's documented
 * wire format (Messages API reference and streaming guide).
 */
import { describe, expect, it } from "vitest";
import { supportsStructuredOutputs } from "../../src/providers/anthropic/models.ts";
import { toAnthropicRequest } from "../../src/providers/anthropic/request.ts";
import { fromAnthropicResponse } from "../../src/providers/anthropic/response.ts";
import { anthropicStream } from "../../src/providers/anthropic/stream.ts";

const opts = { model: "claude-sonnet-4-5", defaultMaxTokens: 64000, stream: false, supportsThinking: true, supportsStructuredOutputs: true };

describe("OpenAI request → Anthropic Messages request", () => {
  it("drops what Anthropic would refuse: blank stops and texts, temperature over 1, OpenAI-only fields, odd tool ids", () => {
    const out = toAnthropicRequest(
      {
        messages: [
          { role: "user", content: [{ type: "text", text: "  " }, { type: "text", text: "hi" }, { type: "file", file: { file_data: "data:application/pdf;base64,JVBERi0=" } }] },
          { role: "assistant", content: "", tool_calls: [{ id: "functions.lookup:0", type: "function", function: { name: "lookup", arguments: "[1]" } }] },
          { role: "tool", tool_call_id: "functions.lookup:0", content: "ok" },
        ],
        stop: ["\n", "END", ""],
        temperature: 1.7,
        metadata: { trace: "x" },
        prompt_cache_key: "k",
        tools: [{ type: "function", function: { name: "lookup", parameters: {} } }],
      },
      opts,
    );
    expect(out.stop_sequences).toEqual(["END"]);
    expect(out.temperature).toBe(1);
    expect(out).not.toHaveProperty("metadata");
    expect(out).not.toHaveProperty("prompt_cache_key");
    expect((out.tools as Array<{ input_schema: unknown }>)[0]?.input_schema).toEqual({ type: "object" });
    expect(out.messages).toEqual([
      { role: "user", content: [{ type: "text", text: "hi" }, { type: "document", source: { type: "base64", media_type: "application/pdf", data: "JVBERi0=" } }] },
      { role: "assistant", content: [{ type: "tool_use", id: "functions_lookup_0", name: "lookup", input: {} }] },
      { role: "user", content: [{ type: "tool_result", tool_use_id: "functions_lookup_0", content: [{ type: "text", text: "ok" }] }] },
    ]);
  });

  it("refuses what it cannot translate (n > 1, JSON mode without a schema) with a 400, and gives a system-only prompt a user turn", () => {
    expect(() => toAnthropicRequest({ messages: [{ role: "user", content: "hi" }], n: 2 }, opts)).toThrow(/'n'/);
    expect(() => toAnthropicRequest({ messages: [{ role: "user", content: "hi" }], response_format: { type: "json_object" } }, opts)).toThrow(/json_schema/);
    expect(toAnthropicRequest({ messages: [{ role: "system", content: "Tell a joke." }] }, opts).messages).toEqual([{ role: "user", content: [{ type: "text", text: "Tell a joke." }] }]);
  });

  it("turns a JSON-schema response_format into structured outputs, on models that have them", () => {
    const schema = { type: "object", properties: { city: { type: "string" } }, required: ["city"], additionalProperties: false };
    const body = { messages: [{ role: "user", content: "hi" }], response_format: { type: "json_schema", json_schema: { name: "place", strict: true, schema } } };
    const out = toAnthropicRequest(body, opts);
    expect(out.output_config).toEqual({ format: { type: "json_schema", schema } });
    expect(out).not.toHaveProperty("response_format");
    expect(() => toAnthropicRequest(body, { ...opts, model: "claude-3-5-haiku-latest", supportsStructuredOutputs: false })).toThrow(/claude-3-5-haiku-latest.*structured outputs/);
  });

  it("knows which models have structured outputs (Opus 4.0's dated name is not Opus 4.1)", () => {
    for (const yes of ["claude-opus-4-1-20250805", "claude-sonnet-4-5", "claude-haiku-4-5-20251001", "claude-opus-5"]) expect(supportsStructuredOutputs(yes)).toBe(true);
    for (const no of ["claude-opus-4-20250514", "claude-sonnet-4-20250514", "claude-3-5-haiku-latest"]) expect(supportsStructuredOutputs(no)).toBe(false);
  });

  it("replays signed thinking from `thinking_blocks`, and only then enables thinking after a tool call", () => {
    const signed = { type: "thinking", thinking: "Need the weather.", signature: "EqQBCgIYAhIM" };
    const call = { id: "toolu_1", type: "function", function: { name: "get_weather", arguments: '{"city":"Oslo"}' } };
    const history = (assistant: Record<string, unknown>) => [
      { role: "user", content: "Weather in Oslo?" },
      { role: "assistant", content: null, tool_calls: [call], ...assistant },
      { role: "tool", tool_call_id: "toolu_1", content: "-3°C" },
    ];
    const replayed = toAnthropicRequest({ messages: history({ thinking_blocks: [signed], reasoning_content: "Need the weather." }), reasoning_effort: "low", max_tokens: 8000 }, opts);
    expect((replayed.messages as Array<{ content: unknown[] }>)[1]?.content).toEqual([signed, { type: "tool_use", id: "toolu_1", name: "get_weather", input: { city: "Oslo" } }]);
    expect(replayed.thinking).toEqual({ type: "enabled", budget_tokens: 2048 });
    // A history from another provider carries no signature: thinking stays off rather than being refused by Anthropic.
    expect(toAnthropicRequest({ messages: history({}), reasoning_effort: "low", max_tokens: 8000 }, opts)).not.toHaveProperty("thinking");
  });

  it("enables thinking only where Anthropic allows it, and then drops the sampling settings it forbids", () => {
    const messages = [{ role: "user", content: "hi" }];
    const on = toAnthropicRequest({ messages, reasoning_effort: "medium", max_tokens: 20000, temperature: 0.3, top_k: 5, top_p: 0.5 }, opts);
    expect(on.thinking).toEqual({ type: "enabled", budget_tokens: 8192 });
    expect(on).not.toHaveProperty("temperature");
    expect(on).not.toHaveProperty("top_k");
    expect(on).not.toHaveProperty("top_p");
    expect(toAnthropicRequest({ messages, reasoning_effort: "high", max_tokens: 1500 }, opts)).not.toHaveProperty("thinking");
    expect(toAnthropicRequest({ messages, reasoning_effort: "high" }, { ...opts, supportsThinking: false })).not.toHaveProperty("thinking");
    const tools = [{ type: "function", function: { name: "f", parameters: { type: "object" } } }];
    expect(toAnthropicRequest({ messages, tools, tool_choice: "required", reasoning_effort: "low" }, opts)).not.toHaveProperty("thinking");
    // "none" is OpenAI's "no reasoning"; a name an object inherits (`constructor`) or an unknown one is refused like OpenAI refuses it.
    expect(toAnthropicRequest({ messages, reasoning_effort: "none", temperature: 0.3 }, opts)).toMatchObject({ temperature: 0.3 });
    for (const reasoning_effort of ["constructor", "toString", "extreme"]) {
      expect(() => toAnthropicRequest({ messages, reasoning_effort, temperature: 0.3 }, opts)).toThrow(expect.objectContaining({ status: 400, param: "reasoning_effort" }));
    }
  });

  it("moves system messages to `system`, requires max_tokens, maps stop/user/tools", () => {
    const out = toAnthropicRequest(
      {
        model: "anthropic/claude-sonnet-4-5",
        messages: [
          { role: "system", content: "Be brief." },
          { role: "developer", content: [{ type: "text", text: "Use metric units.", cache_control: { type: "ephemeral" } }] },
          { role: "user", content: "Weather in Paris?" },
        ],
        stop: "END",
        user: "user-42",
        temperature: 0.2,
        top_k: 5,
        n: 1,
        logit_bias: { "1": 2 },
        tools: [{ type: "function", function: { name: "get_weather", description: "Weather by city", parameters: { type: "object", properties: { city: { type: "string" } } } } }],
        tool_choice: "required",
        parallel_tool_calls: false,
      },
      opts,
    );
    expect(out).toEqual({
      model: "claude-sonnet-4-5",
      system: [{ type: "text", text: "Be brief." }, { type: "text", text: "Use metric units.", cache_control: { type: "ephemeral" } }],
      messages: [{ role: "user", content: [{ type: "text", text: "Weather in Paris?" }] }],
      max_tokens: 64000,
      stop_sequences: ["END"],
      metadata: { user_id: "user-42" },
      temperature: 0.2,
      top_k: 5,
      tools: [{ name: "get_weather", description: "Weather by city", input_schema: { type: "object", properties: { city: { type: "string" } } } }],
      tool_choice: { type: "any", disable_parallel_tool_use: true },
    });
  });

  it("translates images, a tool-call round trip, and merges consecutive tool results into one user turn", () => {
    const out = toAnthropicRequest(
      {
        messages: [
          {
            role: "user",
            content: [
              { type: "text", text: "Compare these" },
              { type: "image_url", image_url: { url: "data:image/png;base64,iVBORw0KGgo=" } },
              { type: "image_url", image_url: { url: "https://example.com/cat.jpg" } },
            ],
          },
          {
            role: "assistant",
            content: null,
            tool_calls: [
              { id: "toolu_1", type: "function", function: { name: "lookup", arguments: '{"q":"cat"}' } },
              { id: "toolu_2", type: "function", function: { name: "lookup", arguments: '{"q":"dog"}' } },
            ],
          },
          { role: "tool", tool_call_id: "toolu_1", content: "a cat" },
          { role: "tool", tool_call_id: "toolu_2", content: "a dog" },
        ],
        max_completion_tokens: 300,
      },
      { ...opts, stream: true },
    );
    expect(out.max_tokens).toBe(300);
    expect(out.stream).toBe(true);
    expect(out.messages).toEqual([
      {
        role: "user",
        content: [
          { type: "text", text: "Compare these" },
          { type: "image", source: { type: "base64", media_type: "image/png", data: "iVBORw0KGgo=" } },
          { type: "image", source: { type: "url", url: "https://example.com/cat.jpg" } },
        ],
      },
      {
        role: "assistant",
        content: [
          { type: "tool_use", id: "toolu_1", name: "lookup", input: { q: "cat" } },
          { type: "tool_use", id: "toolu_2", name: "lookup", input: { q: "dog" } },
        ],
      },
      {
        role: "user",
        content: [
          { type: "tool_result", tool_use_id: "toolu_1", content: [{ type: "text", text: "a cat" }] },
          { type: "tool_result", tool_use_id: "toolu_2", content: [{ type: "text", text: "a dog" }] },
        ],
      },
    ]);
  });

  it("maps tool_choice variants and reasoning_effort; a client's own `thinking` wins", () => {
    const tools = [{ type: "function", function: { name: "f", parameters: { type: "object" } } }];
    const messages = [{ role: "user", content: "hi" }];
    expect(toAnthropicRequest({ messages, tools, tool_choice: "auto" }, opts).tool_choice).toEqual({ type: "auto" });
    expect(toAnthropicRequest({ messages, tools, tool_choice: "none" }, opts).tool_choice).toEqual({ type: "none" });
    expect(toAnthropicRequest({ messages, tools, tool_choice: { type: "function", function: { name: "f" } } }, opts).tool_choice).toEqual({ type: "tool", name: "f" });
    expect(toAnthropicRequest({ messages, reasoning_effort: "low", max_tokens: 10000 }, opts).thinking).toEqual({ type: "enabled", budget_tokens: 2048 });
    const own = { type: "enabled", budget_tokens: 5000 };
    expect(toAnthropicRequest({ messages, reasoning_effort: "high", thinking: own }, opts).thinking).toEqual(own);
  });
});

// The documented example of a tool-use answer.
const toolAnswer = {
  id: "msg_01Aq9w938a90dw8q",
  type: "message",
  role: "assistant",
  model: "claude-sonnet-4-5-20250929",
  content: [
    { type: "text", text: "I'll check the weather." },
    { type: "tool_use", id: "toolu_01A09q90qw90lq917835lq9", name: "get_weather", input: { location: "San Francisco, CA" } },
  ],
  stop_reason: "tool_use",
  stop_sequence: null,
  usage: { input_tokens: 472, cache_creation_input_tokens: 100, cache_read_input_tokens: 2000, output_tokens: 89 },
};

describe("Anthropic response → OpenAI chat.completion", () => {
  it("turns text and tool_use blocks into content and tool_calls, stop_reason into finish_reason, and normalises usage", () => {
    const { completion, usage } = fromAnthropicResponse(toolAnswer, 1700000000);
    expect(completion).toMatchObject({
      id: "msg_01Aq9w938a90dw8q",
      object: "chat.completion",
      model: "claude-sonnet-4-5-20250929",
      choices: [
        {
          message: {
            role: "assistant",
            content: "I'll check the weather.",
            tool_calls: [{ id: "toolu_01A09q90qw90lq917835lq9", type: "function", function: { name: "get_weather", arguments: '{"location":"San Francisco, CA"}' } }],
          },
          finish_reason: "tool_calls",
        },
      ],
    });
    expect(usage).toEqual({ prompt_tokens: 2572, completion_tokens: 89, total_tokens: 2661, prompt_tokens_details: { cached_tokens: 2000, cache_write_tokens: 100 } });
  });

  it("hands out signed thinking (and redacted thinking) as `thinking_blocks`, its text as `reasoning_content`", () => {
    const thinking = [{ type: "thinking", thinking: "Let me see.", signature: "EqQBCgIYAhIM" }, { type: "redacted_thinking", data: "EmwKAhgBEgy3va3" }];
    const { completion } = fromAnthropicResponse({ ...toolAnswer, content: [...thinking, ...toolAnswer.content] }, 0);
    const message = (completion.choices as Array<{ message: Record<string, unknown> }>)[0]?.message;
    expect(message?.reasoning_content).toBe("Let me see.");
    expect(message?.thinking_blocks).toEqual(thinking);
  });

  it("maps every stop reason", () => {
    const reason = (stop_reason: string) => (fromAnthropicResponse({ ...toolAnswer, stop_reason }, 0).completion.choices as Array<{ finish_reason: string }>)[0]?.finish_reason;
    expect(reason("end_turn")).toBe("stop");
    expect(reason("stop_sequence")).toBe("stop");
    expect(reason("max_tokens")).toBe("length");
    expect(reason("tool_use")).toBe("tool_calls");
    expect(reason("refusal")).toBe("content_filter");
  });
});

// The same answer as a stream, in the documented event sequence (with a ping and thinking).
const sse = (type: string, data: unknown) => `event: ${type}\ndata: ${JSON.stringify(data)}\n\n`;
const streamed =
  sse("message_start", { type: "message_start", message: { ...toolAnswer, content: [], stop_reason: null, usage: { input_tokens: 472, cache_creation_input_tokens: 100, cache_read_input_tokens: 2000, output_tokens: 1 } } }) +
  sse("content_block_start", { type: "content_block_start", index: 0, content_block: { type: "thinking", thinking: "" } }) +
  sse("content_block_delta", { type: "content_block_delta", index: 0, delta: { type: "thinking_delta", thinking: "Need a tool." } }) +
  sse("content_block_delta", { type: "content_block_delta", index: 0, delta: { type: "signature_delta", signature: "EqQB" } }) +
  sse("content_block_stop", { type: "content_block_stop", index: 0 }) +
  sse("ping", { type: "ping" }) +
  sse("content_block_start", { type: "content_block_start", index: 1, content_block: { type: "text", text: "" } }) +
  sse("content_block_delta", { type: "content_block_delta", index: 1, delta: { type: "text_delta", text: "I'll check " } }) +
  sse("content_block_delta", { type: "content_block_delta", index: 1, delta: { type: "text_delta", text: "the weather." } }) +
  sse("content_block_stop", { type: "content_block_stop", index: 1 }) +
  sse("content_block_start", { type: "content_block_start", index: 2, content_block: { type: "tool_use", id: "toolu_01A09q90qw90lq917835lq9", name: "get_weather", input: {} } }) +
  sse("content_block_delta", { type: "content_block_delta", index: 2, delta: { type: "input_json_delta", partial_json: '{"location": "San Fra' } }) +
  sse("content_block_delta", { type: "content_block_delta", index: 2, delta: { type: "input_json_delta", partial_json: 'ncisco, CA"}' } }) +
  sse("content_block_stop", { type: "content_block_stop", index: 2 }) +
  sse("message_delta", { type: "message_delta", delta: { stop_reason: "tool_use", stop_sequence: null }, usage: { output_tokens: 89 } }) +
  sse("message_stop", { type: "message_stop" });

function runStream(text: string, size: number, clientWantsUsage: boolean) {
  const translator = anthropicStream({ clientWantsUsage, created: 1700000000 });
  const bytes = new TextEncoder().encode(text);
  let out = "";
  const emit = (b: Uint8Array) => (out += new TextDecoder().decode(b));
  for (let i = 0; i < bytes.length; i += size) translator.push(bytes.slice(i, i + size), emit);
  translator.end(emit);
  const data = out.split("\n\n").filter((e) => e.startsWith("data: ")).map((e) => e.slice(6));
  return { data, translator };
}

describe("Anthropic stream → OpenAI chunks", () => {
  it("streams text, reasoning and tool-call arguments incrementally with OpenAI's tool indices", () => {
    const { data, translator } = runStream(streamed, 1 << 20, false);
    expect(data.at(-1)).toBe("[DONE]");
    const chunks = data.slice(0, -1).map((d) => JSON.parse(d) as { id: string; choices: Array<{ delta: Record<string, unknown>; finish_reason: string | null }> });
    expect(chunks.every((c) => c.id === "msg_01Aq9w938a90dw8q")).toBe(true);
    const deltas = chunks.map((c) => c.choices[0]?.delta);
    expect(deltas[0]).toEqual({ role: "assistant", content: "" });
    expect(deltas.map((d) => d?.content ?? "").join("")).toBe("I'll check the weather.");
    expect(deltas.map((d) => d?.reasoning_content ?? "").join("")).toBe("Need a tool.");
    const toolDeltas = deltas.flatMap((d) => (d?.tool_calls as Array<{ index: number; id?: string; function: { name?: string; arguments: string } }> | undefined) ?? []);
    expect(toolDeltas[0]).toEqual({ index: 0, id: "toolu_01A09q90qw90lq917835lq9", type: "function", function: { name: "get_weather", arguments: "" } });
    expect(toolDeltas.every((t) => t.index === 0)).toBe(true);
    expect(toolDeltas.map((t) => t.function.arguments).join("")).toBe('{"location": "San Francisco, CA"}');
    // The signed thinking block arrives whole when it ends, for the client to send back with its tool result.
    expect(deltas.flatMap((d) => (d?.thinking_blocks as unknown[] | undefined) ?? [])).toEqual([{ type: "thinking", thinking: "Need a tool.", signature: "EqQB" }]);
    expect(chunks.at(-1)?.choices[0]?.finish_reason).toBe("tool_calls");
    expect(translator.completed()).toBe(true);
  });

  it("gives the same output whatever the chunking, and usage equal to the non-streamed answer's", () => {
    const whole = runStream(streamed, 1 << 20, true);
    for (const size of [1, 7, 64]) expect(runStream(streamed, size, true).data).toEqual(whole.data);
    const usageChunk = JSON.parse(whole.data.at(-2) ?? "{}") as { choices: unknown[]; usage: unknown };
    expect(usageChunk.choices).toEqual([]);
    expect(usageChunk.usage).toEqual(fromAnthropicResponse(toolAnswer, 0).usage);
    expect(whole.translator.usage()).toEqual(fromAnthropicResponse(toolAnswer, 0).usage);
  });

  it("sends no usage chunk unasked, reports an error event in OpenAI's shape, and a stream without message_stop as incomplete", () => {
    expect(runStream(streamed, 1 << 20, false).data.some((d) => d.includes('"usage"'))).toBe(false);
    const overloaded = sse("error", { type: "error", error: { type: "overloaded_error", message: "Overloaded" } });
    const failed = runStream(streamed.slice(0, streamed.indexOf("event: message_delta")) + overloaded, 1 << 20, false);
    expect(JSON.parse(failed.data.at(-1) ?? "{}")).toEqual({ error: { message: "Overloaded", type: "overloaded_error", param: null, code: "overloaded_error" } });
    expect(failed.translator.completed()).toBe(true); // already reported in-band: no second error event
    expect(failed.translator.inBandError?.()).toBe("Overloaded"); // and the stream is logged as failed
    const cut = runStream(streamed.slice(0, streamed.indexOf("event: message_delta")), 1 << 20, false);
    expect(cut.translator.completed()).toBe(false);
  });

  it("ignores null counts in message_delta usage, and sends '{}' for a tool called without arguments", () => {
    const start = sse("message_start", { type: "message_start", message: { id: "msg_1", model: "m", usage: { input_tokens: 10, cache_read_input_tokens: 5, output_tokens: 1 } } });
    const tool =
      sse("content_block_start", { type: "content_block_start", index: 0, content_block: { type: "tool_use", id: "toolu_1", name: "now", input: {} } }) +
      sse("content_block_delta", { type: "content_block_delta", index: 0, delta: { type: "input_json_delta", partial_json: "" } }) +
      sse("content_block_stop", { type: "content_block_stop", index: 0 });
    const end =
      sse("message_delta", { type: "message_delta", delta: { stop_reason: "tool_use" }, usage: { input_tokens: null, cache_read_input_tokens: null, output_tokens: 7 } }) +
      sse("message_stop", { type: "message_stop" });
    const { data, translator } = runStream(start + tool + end, 5, true);
    expect(translator.usage()).toMatchObject({ prompt_tokens: 15, completion_tokens: 7 });
    const args = data
      .slice(0, -1)
      .flatMap((d) => (JSON.parse(d) as { choices: Array<{ delta: { tool_calls?: Array<{ function: { arguments?: string } }> } }> }).choices[0]?.delta.tool_calls ?? [])
      .map((t) => t.function.arguments ?? "")
      .join("");
    expect(args).toBe("{}");
  });
});
