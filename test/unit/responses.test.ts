/**
 * POST /v1/responses (issue 15) in the Worker: the translation of a Responses request to the
 * canonical chat body, of a chat answer to a response object, the worst case a Responses request
 * reserves (its max_output_tokens counted), and the cost it is charged, by hand.
 */
import { describe, expect, it } from "vitest";
import { responsesToChat } from "../../src/http/responses/request.ts";
import { chatToResponse } from "../../src/http/responses/response.ts";
import { NO_BUILT_IN_TOOLS, nativeResponsesStream, normaliseResponsesUsage, offeredTools, readNativeResponse } from "../../src/providers/openai-compatible/responses.ts";
import type { ProviderConfig, StreamTranslator } from "../../src/providers/types.ts";
import { responsesClientStream } from "../../src/http/responses/stream.ts";
import { MOCK, admin, gateway, json, uniqueTag, upstreamSaw, type OpenAIError } from "./helpers.ts";
import { budgetOf, newKey, setBudget, setPrice, settled, withLedger } from "./ledger-helpers.ts";

const L = withLedger({ ANTHROPIC_BASE_URL: `${MOCK}/v1`, ANTHROPIC_API_KEY: "mock-anthropic-key" });
const target = { maxTokensField: "max_completion_tokens" as const, reasoning: true };

describe("a Responses request translated to the canonical chat body", () => {
  it("instructions and developer items become system messages; function calls join the assistant turn; outputs become tool messages; encrypted reasoning is dropped", () => {
    const chat = responsesToChat({
      model: "m",
      instructions: "Be brief.",
      input: [
        { role: "developer", content: "You are Codex." },
        { type: "message", role: "user", content: [{ type: "input_text", text: "Weather?" }, { type: "input_image", image_url: "data:image/png;base64,AAAA" }] },
        { type: "reasoning", id: "rs_1", summary: [], encrypted_content: "opaque" },
        { type: "message", role: "assistant", content: [{ type: "output_text", text: "Checking." }] },
        { type: "function_call", call_id: "call_1", name: "get_weather", arguments: '{"city":"Oslo"}' },
        { type: "function_call", call_id: "call_2", name: "get_time", arguments: "{}" },
        { type: "function_call_output", call_id: "call_1", output: "-3°C" },
        { type: "function_call_output", call_id: "call_2", output: [{ type: "input_text", text: "noon" }] },
      ],
      tools: [{ type: "function", name: "get_weather", parameters: { type: "object" }, strict: true }, { type: "web_search" }],
      tool_choice: "auto",
      parallel_tool_calls: false,
      text: { format: { type: "json_schema", name: "weather", schema: { type: "object" }, strict: true } },
      reasoning: { effort: "minimal" },
      max_output_tokens: 500,
      safety_identifier: "user-7",
      store: false,
      include: ["reasoning.encrypted_content"],
      prompt_cache_key: "s1",
      stream: true,
    }, target);
    expect(chat).toEqual({
      model: "m",
      messages: [
        { role: "system", content: "Be brief." },
        { role: "system", content: "You are Codex." },
        { role: "user", content: [{ type: "text", text: "Weather?" }, { type: "image_url", image_url: { url: "data:image/png;base64,AAAA" } }] },
        { role: "assistant", content: "Checking.", tool_calls: [
          { id: "call_1", type: "function", function: { name: "get_weather", arguments: '{"city":"Oslo"}' } },
          { id: "call_2", type: "function", function: { name: "get_time", arguments: "{}" } },
        ] },
        { role: "tool", tool_call_id: "call_1", content: "-3°C" },
        { role: "tool", tool_call_id: "call_2", content: "noon" },
      ],
      max_completion_tokens: 500,
      tools: [{ type: "function", function: { name: "get_weather", parameters: { type: "object" }, strict: true } }],
      tool_choice: "auto",
      parallel_tool_calls: false,
      response_format: { type: "json_schema", json_schema: { name: "weather", schema: { type: "object" }, strict: true } },
      reasoning_effort: "low",
      user: "user-7",
      stream: true,
    });
  });

  it("allowed_tools sends only the tools it allows, with its mode as the tool choice", () => {
    const fn = (name: string) => ({ type: "function", name, parameters: { type: "object" } });
    const chat = responsesToChat({ model: "m", input: "Hi", tools: [fn("a"), fn("b"), fn("c")], tool_choice: { type: "allowed_tools", mode: "required", tools: [{ type: "function", name: "b" }] } }, target);
    expect((chat.tools as Array<{ function: { name: string } }>).map((t) => t.function.name)).toEqual(["b"]);
    expect(chat.tool_choice).toBe("required");
  });

  it("custom and namespaced tools become functions (a custom tool's grammar in its description), and their past calls and outputs become tool calls and tool messages", () => {
    const chat = responsesToChat({
      model: "m",
      input: [
        { role: "user", content: "Patch it" },
        { type: "custom_tool_call", call_id: "call_p", name: "apply_patch", input: "*** Begin Patch\n*** End Patch" },
        { type: "function_call", call_id: "call_s", name: "spawn_agent", namespace: "multi_agent_v1", arguments: '{"task":"t"}' },
        { type: "custom_tool_call_output", call_id: "call_p", output: "Done!" },
        { type: "function_call_output", call_id: "call_s", output: "agent-1" },
      ],
      tools: [
        { type: "custom", name: "apply_patch", description: "Edit files.", format: { type: "grammar", syntax: "lark", definition: "start: /.+/" } },
        { type: "namespace", name: "multi_agent_v1", description: "Sub-agents.", tools: [{ type: "function", name: "spawn_agent", parameters: { type: "object" } }] },
        { type: "web_search" },
      ],
      tool_choice: { type: "custom", name: "apply_patch" },
    }, target);
    expect(chat.messages).toEqual([
      { role: "user", content: "Patch it" },
      { role: "assistant", content: null, tool_calls: [
        { id: "call_p", type: "function", function: { name: "apply_patch", arguments: JSON.stringify({ input: "*** Begin Patch\n*** End Patch" }) } },
        { id: "call_s", type: "function", function: { name: "multi_agent_v1__spawn_agent", arguments: '{"task":"t"}' } },
      ] },
      { role: "tool", tool_call_id: "call_p", content: "Done!" },
      { role: "tool", tool_call_id: "call_s", content: "agent-1" },
    ]);
    expect(chat.tools).toEqual([
      { type: "function", function: { name: "apply_patch", description: "Edit files.\n\nThe input must match this lark grammar:\nstart: /.+/", parameters: { type: "object", properties: { input: { type: "string", description: "The tool's whole input, as free text." } }, required: ["input"] } } },
      { type: "function", function: { name: "multi_agent_v1__spawn_agent", parameters: { type: "object" } } },
    ]);
    expect(chat.tool_choice).toEqual({ type: "function", function: { name: "apply_patch" } });
  });

  it("refuses what only OpenAI can serve with a 400 naming it", () => {
    const refused = (body: Record<string, unknown>): string => {
      try {
        responsesToChat({ model: "m", ...body }, target);
        return "accepted";
      } catch (err) {
        return String((err as { param?: string }).param ?? err);
      }
    };
    expect(refused({ input: [{ type: "item_reference", id: "msg_1" }] })).toBe("input[0]");
    expect(refused({ input: [{ role: "user", content: [{ type: "input_image", file_id: "file-1" }] }] })).toBe("input[0].content[0]");
    expect(refused({ input: "Hi", background: true })).toBe("background");
    expect(refused({ input: "Hi", tools: [{ type: "file_search" }], tool_choice: { type: "file_search" } })).toBe("tool_choice");
    expect(refused({ input: "Hi", text: { format: { type: "grammar" } } })).toBe("text.format");
  });
});

describe("a chat answer as a response object", () => {
  it("reasoning as a summary item, the text as a message, tool calls as function_call items; a cut answer is incomplete", () => {
    const usage = { prompt_tokens: 20, completion_tokens: 12, total_tokens: 32, prompt_tokens_details: { cached_tokens: 5 }, completion_tokens_details: { reasoning_tokens: 4 } };
    const completion = { created: 1_800_000_000, choices: [{ finish_reason: "length", message: { role: "assistant", content: "Partly", reasoning_content: "Thinking…", tool_calls: [{ id: "call_9", type: "function", function: { name: "f", arguments: "{}" } }] } }] };
    const response = chatToResponse(completion, usage, { instructions: "Be brief.", metadata: { team: "a" } }, "fast", { id: "resp_test", store: false });
    expect(response).toMatchObject({
      object: "response",
      created_at: 1_800_000_000,
      status: "incomplete",
      incomplete_details: { reason: "max_output_tokens" },
      model: "fast",
      instructions: "Be brief.",
      metadata: { team: "a" },
      usage: { input_tokens: 20, input_tokens_details: { cached_tokens: 5 }, output_tokens: 12, output_tokens_details: { reasoning_tokens: 4 }, total_tokens: 32 },
    });
    const output = response.output as Array<Record<string, unknown>>;
    expect(output.map((o) => o.type)).toEqual(["reasoning", "message", "function_call"]);
    expect(output[0]).toMatchObject({ summary: [{ type: "summary_text", text: "Thinking…" }] });
    expect(output[1]).toMatchObject({ role: "assistant", content: [{ type: "output_text", text: "Partly", annotations: [] }] });
    expect(output[2]).toMatchObject({ call_id: "call_9", name: "f", arguments: "{}", status: "completed" });
  });

  it("a call of a custom tool is a custom_tool_call with its input, a call of a namespaced tool a function_call with its namespace", () => {
    const request = { tools: [{ type: "custom", name: "apply_patch" }, { type: "namespace", name: "ns", tools: [{ type: "function", name: "go" }] }] };
    const calls = [
      { id: "call_1", type: "function", function: { name: "apply_patch", arguments: JSON.stringify({ input: "patch text" }) } },
      { id: "call_2", type: "function", function: { name: "ns__go", arguments: "{}" } },
      { id: "call_3", type: "function", function: { name: "apply_patch", arguments: "not json" } },
    ];
    const response = chatToResponse({ choices: [{ finish_reason: "tool_calls", message: { role: "assistant", content: null, tool_calls: calls } }] }, null, request, "m", { id: "resp_t", store: false });
    const output = response.output as Array<Record<string, unknown>>;
    expect(output[0]).toMatchObject({ type: "custom_tool_call", call_id: "call_1", name: "apply_patch", input: "patch text" });
    expect(output[1]).toMatchObject({ type: "function_call", call_id: "call_2", name: "go", namespace: "ns", arguments: "{}" });
    // A model that ignored the wrapper: its text is the input.
    expect(output[2]).toMatchObject({ type: "custom_tool_call", input: "not json" });
  });

  it("a native usage reads in the gateway's terms (cached within input, reasoning within output)", () => {
    expect(normaliseResponsesUsage({ input_tokens: 100, input_tokens_details: { cached_tokens: 40 }, output_tokens: 30, output_tokens_details: { reasoning_tokens: 10 } })).toEqual({
      prompt_tokens: 100, completion_tokens: 30, total_tokens: 130, prompt_tokens_details: { cached_tokens: 40 }, completion_tokens_details: { reasoning_tokens: 10 },
    });
    expect(normaliseResponsesUsage({ foo: 1 })).toBeNull();
  });
});

describe("OpenAI's built-in tool calls, billed per call", () => {
  const provider = { preset: { serviceTiers: true }, maxAnswerBytes: 1_000_000 } as unknown as ProviderConfig;
  const usage = { input_tokens: 10, output_tokens: 5 };
  const output = [{ type: "web_search_call", id: "ws_1", status: "completed" }, { type: "web_search_call", id: "ws_2", status: "completed" }, { type: "file_search_call", id: "fs_1" }, { type: "message", content: [] }];

  it("are counted from a native answer into the usage's billing (never free: priced or listed as unpriced)", async () => {
    const read = await readNativeResponse(new Response(JSON.stringify({ id: "resp_1", output, usage })), provider, offeredTools(["web_search", "file_search"]));
    expect(read.usage?.billing).toEqual({ searches: 2, otherUses: { file_search_call: 1 } });
    // Without built-in tools in the request the answer is not searched.
    expect((await readNativeResponse(new Response(JSON.stringify({ id: "resp_1", output, usage })), provider, NO_BUILT_IN_TOOLS)).usage?.billing).toBeUndefined();
  });

  it("are counted from a native stream's response.completed", () => {
    const stream = nativeResponsesStream();
    const completed = `event: response.completed\ndata: ${JSON.stringify({ type: "response.completed", sequence_number: 3, response: { id: "resp_1", output, usage } })}\n\n`;
    const sent: Uint8Array[] = [];
    stream.push(new TextEncoder().encode(completed), (b) => sent.push(b));
    stream.end((b) => sent.push(b));
    expect(stream.completed()).toBe(true);
    expect(stream.usage()?.billing).toEqual({ searches: 2, otherUses: { file_search_call: 1 } });
    expect(new TextDecoder().decode(sent[0])).toBe(completed);
  });

  it("the final event of a native stream carries the gateway's cost in its usage; the events before it pass as they came", () => {
    const stream = nativeResponsesStream({ costOf: (u) => (u.prompt_tokens * 2_000 + u.completion_tokens * 8_000) / 1e9 });
    const created = `event: response.created\ndata: {"type":"response.created","sequence_number":0,"response":{"id":"resp_1"}}\n\n`;
    const completed = `event: response.completed\ndata: ${JSON.stringify({ type: "response.completed", sequence_number: 1, response: { id: "resp_1", output: [], usage } })}\n\n`;
    const sent: string[] = [];
    stream.push(new TextEncoder().encode(created + completed), (b) => sent.push(new TextDecoder().decode(b)));
    stream.end((b) => sent.push(new TextDecoder().decode(b)));
    const text = sent.join("");
    expect(text.startsWith(created)).toBe(true);
    const final = JSON.parse(text.slice(created.length).split("data: ")[1] ?? "{}") as { response: { usage: Record<string, number> } };
    // Hand computation: 10 input tokens × 2,000 nanos + 5 output tokens × 8,000 nanos = 60,000 nanos.
    expect(final.response.usage).toEqual({ ...usage, cost: 0.00006 });
  });

  it("counts the events it relays, so an error event the gateway adds after a cut continues OpenAI's numbering", () => {
    let n = 0;
    const stream = nativeResponsesStream({ sequence: { next: () => n++ } });
    const event = (type: string, seq: number): string => `event: ${type}\ndata: {"type":"${type}","sequence_number":${seq}}\n\n`;
    stream.push(new TextEncoder().encode(event("response.created", 0) + event("response.in_progress", 1) + event("response.output_text.delta", 2).slice(0, 30)), () => {});
    expect(n).toBe(2);
    stream.push(new TextEncoder().encode(event("response.output_text.delta", 2).slice(30)), () => {});
    expect(n).toBe(3);
  });
});

describe("a translated stream", () => {
  it("gives a call id the provider repeats its own, so the SDK sees two calls", () => {
    const passThrough: StreamTranslator = { push: (b, emit) => emit(b), end: () => {}, discardPartial: () => {}, usage: () => null, completed: () => true };
    let n = 0;
    const stream = responsesClientStream(passThrough, { request: {}, requestedModel: "m", sequence: { next: () => n++ }, identity: { id: "resp_t", store: false }, onFinal: () => {} });
    const chunk = (delta: object, finish: string | null = null): Uint8Array => new TextEncoder().encode(`data: ${JSON.stringify({ choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`);
    const out: string[] = [];
    const emit = (b: Uint8Array): void => void out.push(new TextDecoder().decode(b));
    stream.push(chunk({ tool_calls: [{ index: 0, id: "call_same", type: "function", function: { name: "a", arguments: "{}" } }] }), emit);
    stream.push(chunk({ tool_calls: [{ index: 1, id: "call_same", type: "function", function: { name: "b", arguments: "{}" } }] }, "tool_calls"), emit);
    stream.end(emit);
    const completed = out.map((e) => JSON.parse(e.split("data: ")[1] ?? "{}") as { type: string; response?: { output: Array<{ call_id: string }> } }).find((e) => e.type === "response.completed");
    const ids = completed?.response?.output.map((o) => o.call_id) ?? [];
    expect(ids).toHaveLength(2);
    expect(ids[0]).toBe("call_same");
    expect(ids[1]).not.toBe("call_same");
  });
});

describe("a translated stream's custom and namespaced tool calls", () => {
  it("a custom call streams its input as custom_tool_call_input events, a namespaced call its arguments with the namespace on the item", () => {
    const passThrough: StreamTranslator = { push: (b, emit) => emit(b), end: () => {}, discardPartial: () => {}, usage: () => null, completed: () => true };
    let n = 0;
    const request = { tools: [{ type: "custom", name: "apply_patch" }, { type: "namespace", name: "ns", tools: [{ type: "function", name: "go" }] }] };
    const stream = responsesClientStream(passThrough, { request, requestedModel: "m", sequence: { next: () => n++ }, identity: { id: "resp_t", store: false }, onFinal: () => {} });
    const chunk = (delta: object, finish: string | null = null): Uint8Array => new TextEncoder().encode(`data: ${JSON.stringify({ choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`);
    const events: Array<Record<string, unknown>> = [];
    const emit = (b: Uint8Array): void => void events.push(JSON.parse(new TextDecoder().decode(b).split("data: ")[1] ?? "{}") as Record<string, unknown>);
    stream.push(chunk({ tool_calls: [{ index: 0, id: "call_p", type: "function", function: { name: "apply_patch", arguments: '{"input":"*** Begin' } }] }), emit);
    stream.push(chunk({ tool_calls: [{ index: 0, function: { arguments: ' Patch"}' } }] }), emit);
    stream.push(chunk({ tool_calls: [{ index: 1, id: "call_g", type: "function", function: { name: "ns__go", arguments: "{}" } }] }, "tool_calls"), emit);
    stream.end(emit);
    const types = events.map((e) => e.type);
    expect(types).toEqual([
      "response.created", "response.in_progress",
      "response.output_item.added", "response.output_item.added", "response.function_call_arguments.delta",
      "response.custom_tool_call_input.delta", "response.custom_tool_call_input.done", "response.output_item.done",
      "response.function_call_arguments.done", "response.output_item.done",
      "response.completed",
    ]);
    expect(events[2]?.item).toMatchObject({ type: "custom_tool_call", call_id: "call_p", name: "apply_patch", input: "" });
    expect(events[6]).toMatchObject({ input: "*** Begin Patch", output_index: 0 });
    expect(events.map((e) => e.sequence_number)).toEqual(events.map((_, i) => i));
    const completed = events.at(-1)?.response as { output: unknown[] };
    expect(completed.output).toEqual([
      expect.objectContaining({ type: "custom_tool_call", input: "*** Begin Patch" }),
      expect.objectContaining({ type: "function_call", name: "go", namespace: "ns", arguments: "{}", status: "completed" }),
    ]);
  });
});

describe("a native stream whose final event is too long to hold", () => {
  it("is relayed byte for byte, in any chunking; its usage is read from the event's end and its built-in calls from their announcements", () => {
    const image = "A".repeat(1_500_000); // a generated image's base64: the final event is over 1 MiB
    const response = { id: "resp_big", output: [{ type: "image_generation_call", id: "ig_1", result: image }], usage: { input_tokens: 12, output_tokens: 7 }, metadata: {} };
    const added = `event: response.output_item.added\ndata: {"type":"response.output_item.added","sequence_number":1,"output_index":0,"item":{"id":"ig_1","type":"image_generation_call","status":"in_progress"}}\n\n`;
    const text = `event: response.created\ndata: {"type":"response.created","sequence_number":0,"response":{"id":"resp_big"}}\n\n${added}event: response.completed\ndata: ${JSON.stringify({ type: "response.completed", sequence_number: 2, response })}\n\n`;
    const bytes = new TextEncoder().encode(text);
    for (const size of [65_536, 1_000_003, bytes.length]) {
      const stream = nativeResponsesStream();
      const sent: Uint8Array[] = [];
      for (let i = 0; i < bytes.length; i += size) stream.push(bytes.subarray(i, i + size), (b) => sent.push(b));
      stream.end((b) => sent.push(b));
      expect(new TextDecoder().decode(new Uint8Array(sent.flatMap((b) => [...b])))).toBe(text);
      expect(stream.completed()).toBe(true);
      expect(stream.usage()).toMatchObject({ prompt_tokens: 12, completion_tokens: 7, billing: { otherUses: { image_generation_call: 1 } } });
    }
  });
});

describe("/v1/responses metering", () => {
  it("charges the price table's cost, by hand, natively and translated, into the ledger and the answer", async () => {
    const { id, key } = await newKey();
    const model = uniqueTag("resp-priced");
    // $2 per million input tokens, $8 per million output tokens.
    await setPrice(model, 2, 8);
    const tag = uniqueTag("resp-cost");
    const res = await gateway("/v1/responses", json({ model: `openai/${model}`, input: `Hello ${tag}`, user: tag }, key), L);
    expect(res.status).toBe(200);
    const body = await res.json<{ usage: { input_tokens: number; output_tokens: number; cost: number } }>();
    const { input_tokens: input, output_tokens: output } = body.usage;
    // Hand computation: input × 2,000 nanos + output × 8,000 nanos per token.
    const nanos = input * 2_000 + output * 8_000;
    expect(body.usage.cost).toBe(nanos / 1e9);
    expect(Number(res.headers.get("x-switchyard-cost-usd"))).toBe(nanos / 1e9);
    const [seen] = await upstreamSaw(tag);
    expect(seen?.path).toMatch(/\/responses$/);
    const usage = await settled(`key:${id}`, 1);
    expect(usage.totalUsd).toBe(nanos / 1e9);
  });

  it("reserves the output max_output_tokens allows: a cap that does not fit a hard budget is a 402, a small one is served", async () => {
    const { id, key } = await newKey();
    const model = uniqueTag("resp-cap");
    await setPrice(model, 2, 8);
    expect((await setBudget(`key:${id}`, { limitUsd: 0.1, period: "day", mode: "hard" })).status).toBe(200);
    // 100,000 output tokens at $8 per million: $0.80 at worst, over the $0.10 left.
    const big = await gateway("/v1/responses", json({ model: `openai/${model}`, input: "Hello", max_output_tokens: 100_000 }, key), L);
    expect(big.status).toBe(402);
    expect((await big.json<OpenAIError>()).error.code).toBe("budget_exceeded");
    const small = await gateway("/v1/responses", json({ model: `openai/${model}`, input: "Hello", max_output_tokens: 50 }, key), L);
    expect(small.status).toBe(200);
    await small.text();
    expect((await budgetOf(`key:${id}`)).reservedUsd).toBeGreaterThanOrEqual(0);
  });

  it("OpenAI's built-in tools are billed per call: without that fee in the price, a hard budget refuses them (402), as it refuses unpriced models", async () => {
    const { id, key } = await newKey();
    const model = uniqueTag("resp-tools");
    await setPrice(model, 2, 8);
    expect((await setBudget(`key:${id}`, { limitUsd: 10, period: "day", mode: "hard" })).status).toBe(200);
    const searching = await gateway("/v1/responses", json({ model: `openai/${model}`, input: "News?", max_output_tokens: 50, tools: [{ type: "web_search" }] }, key), L);
    expect(searching.status).toBe(402);
    const error = (await searching.json<OpenAIError>()).error;
    expect([error.code, error.message.includes("web_search")]).toEqual(["model_unpriced", true]);
    const functions = await gateway("/v1/responses", json({ model: `openai/${model}`, input: "News?", max_output_tokens: 50, tools: [{ type: "function", name: "f", parameters: { type: "object" } }] }, key), L);
    expect(functions.status).toBe(200);
    await functions.text();
    // With the fee in the price (an admin's override), the searches are bounded and the request served.
    await setPrice(model, 2, 8, { webSearchPerCallUsd: 0.01 });
    const priced = await gateway("/v1/responses", json({ model: `openai/${model}`, input: "News?", max_output_tokens: 50, tools: [{ type: "web_search" }] }, key), L);
    expect(priced.status).toBe(200);
    await priced.text();
  });

  it("Codex's web search on its own models is priced out of the box ($10 per 1,000 calls; the preview tool $25 on models that do not reason), streamed or not, under a hard budget", async () => {
    const { id, key } = await newKey();
    expect((await setBudget(`key:${id}`, { limitUsd: 10, period: "day", mode: "hard" })).status).toBe(200);
    const tag = uniqueTag("codex-search");
    const codex = (model: string, stream: boolean, tool = "web_search", extra: Record<string, unknown> = {}) =>
      json({ model: `openai/${model}`, input: [{ type: "message", role: "user", content: [{ type: "input_text", text: "News?" }] }], tools: [{ type: tool, external_web_access: true }], store: false, include: ["reasoning.encrypted_content"], stream, mock: { webSearches: 2, tag }, ...extra }, key);
    const whole = await gateway("/v1/responses", codex("gpt-5-codex", false), L);
    expect(whole.status).toBe(200);
    const body = await whole.json<{ output: Array<{ type: string }>; usage: { input_tokens: number; output_tokens: number; cost: number } }>();
    expect(body.output.filter((o) => o.type === "web_search_call")).toHaveLength(2);
    // gpt-5-codex: $1.25 per million input tokens, $10 per million output, $0.01 a search: input × 1,250 + output × 10,000 + 2 × 10,000,000 nanos.
    const wholeNanos = body.usage.input_tokens * 1_250 + body.usage.output_tokens * 10_000 + 2 * 10_000_000;
    expect(body.usage.cost).toBe(wholeNanos / 1e9);
    const streamed = await gateway("/v1/responses", codex("gpt-5-codex", true), L);
    expect(streamed.status).toBe(200);
    const text = await streamed.text();
    const completed = JSON.parse(text.split("\n").filter((l) => l.startsWith("data: ")).map((l) => l.slice(6)).find((d) => d.includes('"response.completed"')) ?? "{}") as { response: { usage: { input_tokens: number; output_tokens: number; cost: number } } };
    const u = completed.response.usage;
    const streamedNanos = u.input_tokens * 1_250 + u.output_tokens * 10_000 + 2 * 10_000_000;
    expect(u.cost).toBe(streamedNanos / 1e9);
    // gpt-4.1 does not reason: its preview searches are $0.025 each: input × 2,000 + output × 8,000 + 2 × 25,000,000 nanos.
    const preview = await (await gateway("/v1/responses", codex("gpt-4.1", false, "web_search_preview"), L)).json<{ usage: { input_tokens: number; output_tokens: number; cost: number } }>();
    const previewNanos = preview.usage.input_tokens * 2_000 + preview.usage.output_tokens * 8_000 + 2 * 25_000_000;
    expect(preview.usage.cost).toBe(previewNanos / 1e9);
    expect((await settled(`key:${id}`, 3)).totalUsd).toBe((wholeNanos + streamedNanos + previewNanos) / 1e9);
    // Codex sets no max_tool_calls: the gateway's (50) bounds the searches, $0.50 of them, where 128,000 output tokens at
    // 8 a search would bound 16,000 ($160, over the $10 budget). A client's own bound is sent as it set it.
    expect((await gateway("/v1/responses", codex("gpt-5-codex", false, "web_search", { max_tool_calls: 3 }), L)).status).toBe(200);
    expect((await upstreamSaw(tag)).map((r) => r.body.max_tool_calls)).toEqual([50, 50, 50, 3]);
  });

  it("a request without input or a model is a 400 in OpenAI's shape; other methods are 405", async () => {
    const noInput = await gateway("/v1/responses", json({ model: "openai/gpt-4.1" }), L);
    expect(noInput.status).toBe(400);
    expect((await noInput.json<OpenAIError>()).error.param).toBe("input");
    const noModel = await gateway("/v1/responses", json({ input: "Hi" }), L);
    expect(noModel.status).toBe(400);
    expect((await gateway("/v1/responses", { method: "GET", headers: { authorization: "Bearer sk-test-dev-key" } }, L)).status).toBe(405);
  });

  it("previous_response_id reaches OpenAI untouched for the key that made the response, is a 404 for another key, and is refused (400) by a provider that cannot continue it", async () => {
    const owner = await newKey();
    const other = await newKey();
    const first = await (await gateway("/v1/responses", json({ model: "openai/gpt-4.1", input: "Hello" }, owner.key), L)).json<{ id: string }>();
    const tag = uniqueTag("resp-prev");
    // The tie to the key is written in the background: the next turn may come a moment later.
    let native: Response | undefined;
    for (let i = 0; i < 20; i++) {
      native = await gateway("/v1/responses", json({ model: "openai/gpt-4.1", input: "And then?", previous_response_id: first.id, user: tag }, owner.key), L);
      if (native.status !== 404) break;
      await native.text();
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(native?.status).toBe(200);
    expect((await upstreamSaw(tag))[0]?.body.previous_response_id).toBe(first.id);
    const stolen = await gateway("/v1/responses", json({ model: "openai/gpt-4.1", input: "And then?", previous_response_id: first.id }, other.key), L);
    expect(stolen.status).toBe(404);
    const elsewhere = await gateway("/v1/responses", json({ model: "anthropic/claude-sonnet-4-5", input: "And then?", previous_response_id: first.id }, owner.key), L);
    expect(elsewhere.status).toBe(400);
    expect((await elsewhere.json<OpenAIError>()).error.param).toBe("previous_response_id");
  });

  it("background runs and conversations by id are refused on every target (a background run bills past the budget)", async () => {
    for (const [field, value] of [["background", true], ["conversation", "conv_1"]] as const) {
      const res = await gateway("/v1/responses", json({ model: "openai/gpt-4.1", input: "Hi", [field]: value }), L);
      expect(res.status).toBe(400);
      expect((await res.json<OpenAIError>()).error.param).toBe(field);
    }
  });
});

describe("responses the gateway keeps (providers other than OpenAI)", () => {
  const post = (body: Record<string, unknown>, key = "sk-test-dev-key"): Promise<Response> => gateway("/v1/responses", json(body, key), L);
  const call = (method: string, path: string, key = "sk-test-dev-key"): Promise<Response> => gateway(path, { method, headers: { authorization: `Bearer ${key}` } }, L);

  it("previous_response_id chains three turns on Anthropic: each turn sends the whole conversation, kept by the gateway", async () => {
    const tag = uniqueTag("chain");
    const first = await post({ model: "anthropic/claude-sonnet-4-5", instructions: "Be brief.", input: `Turn one ${tag}`, user: tag });
    expect(first.status).toBe(200);
    const one = await first.json<{ id: string; store: boolean }>();
    expect(one.id).toMatch(/^resp_sy\d{8}[0-9a-f]{32}$/);
    expect(one.store).toBe(true);
    const second = await (await post({ model: "anthropic/claude-sonnet-4-5", input: `Turn two ${tag}`, previous_response_id: one.id, user: tag })).json<{ id: string; previous_response_id: string | null }>();
    expect(second.previous_response_id).toBe(one.id);
    // The third turn streamed: its response is kept as the stream ends.
    const third = await post({ model: "anthropic/claude-sonnet-4-5", input: `Turn three ${tag}`, previous_response_id: second.id, stream: true, user: tag });
    const events = await third.text();
    const completed = JSON.parse(events.split("\n\n").find((e) => e.startsWith("event: response.completed"))?.split("data: ")[1] ?? "{}") as { response: { id: string } };
    const seen = await upstreamSaw(tag);
    const lastTurn = seen.at(-1)?.body.messages as Array<{ role: string; content: unknown }>;
    // Anthropic saw the whole conversation: user, assistant, user, assistant, user (instructions are not carried over, as at OpenAI).
    expect(lastTurn.map((m) => m.role)).toEqual(["user", "assistant", "user", "assistant", "user"]);
    expect(JSON.stringify(lastTurn)).toContain("Turn one");
    expect(seen.at(-1)?.body.system).toBeUndefined();
    // The streamed turn is kept too, and its input items are the whole conversation.
    const items = await (await call("GET", `/v1/responses/${completed.response.id}/input_items?order=asc`)).json<{ data: Array<{ role?: string; type?: string }>; has_more: boolean }>();
    expect(items.data.map((i) => i.role)).toEqual(["user", "assistant", "user", "assistant", "user"]);
  });

  it("GET and DELETE serve the key's own responses only; store: false keeps nothing; an unknown id is a 404", async () => {
    const owner = await newKey();
    const other = await newKey();
    const made = await (await post({ model: "anthropic/claude-sonnet-4-5", input: "Keep me" }, owner.key)).json<{ id: string; output: unknown[] }>();
    const got = await call("GET", `/v1/responses/${made.id}`, owner.key);
    expect(got.status).toBe(200);
    expect((await got.json<{ id: string; output: unknown[] }>()).output).toEqual(made.output);
    expect((await call("GET", `/v1/responses/${made.id}`, other.key)).status).toBe(404);
    expect((await call("DELETE", `/v1/responses/${made.id}`, other.key)).status).toBe(404);
    // Another key cannot continue it either.
    const stolen = await post({ model: "anthropic/claude-sonnet-4-5", input: "More", previous_response_id: made.id }, other.key);
    expect(stolen.status).toBe(404);
    expect((await stolen.json<OpenAIError>()).error.code).toBe("response_not_found");
    const deleted = await call("DELETE", `/v1/responses/${made.id}`, owner.key);
    expect(await deleted.json()).toEqual({ id: made.id, object: "response", deleted: true });
    expect((await call("GET", `/v1/responses/${made.id}`, owner.key)).status).toBe(404);
    const unkept = await (await post({ model: "anthropic/claude-sonnet-4-5", input: "Forget me", store: false }, owner.key)).json<{ id: string; store: boolean }>();
    expect(unkept.store).toBe(false);
    expect((await call("GET", `/v1/responses/${unkept.id}`, owner.key)).status).toBe(404);
  });

  it("a key set to keep no responses (storeResponses: false) is served but keeps nothing, whatever the request's store", async () => {
    const discreet = await newKey({ storeResponses: false });
    const made = await (await post({ model: "anthropic/claude-sonnet-4-5", input: "Forget me too", store: true }, discreet.key)).json<{ id: string; store: boolean; output: unknown[] }>();
    expect([made.store, made.output.length]).toEqual([false, 1]);
    expect((await call("GET", `/v1/responses/${made.id}`, discreet.key)).status).toBe(404);
    const chained = await post({ model: "anthropic/claude-sonnet-4-5", input: "More", previous_response_id: made.id }, discreet.key);
    expect(chained.status).toBe(404);
    // The admin API edits the setting like any other (null: back to the default, keep).
    const patched = await gateway(`/admin/keys/${discreet.id}`, admin("PATCH", { storeResponses: null }), L);
    expect(patched.status).toBe(200);
    const record = await patched.json<Record<string, unknown>>();
    expect([record.id, record.storeResponses]).toEqual([discreet.id, undefined]);
  });

  it("a response OpenAI stored pins the request to the route's OpenAI targets; a route without one is a 400 that says so", async () => {
    const made = await (await post({ model: "openai/gpt-4.1", input: "Hello" })).json<{ id: string }>();
    await gateway("/admin/routes/anthropic-then-openai", admin("PUT", { targets: [{ provider: "anthropic", model: "claude-sonnet-4-5" }, { provider: "openai", model: "gpt-4.1" }] }), L);
    let pinned: Response | undefined;
    for (let i = 0; i < 20; i++) {
      pinned = await post({ model: "anthropic-then-openai", input: "And then?", previous_response_id: made.id });
      if (pinned.status !== 404) break;
      await pinned.text();
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(pinned?.status).toBe(200);
    expect(pinned?.headers.get("x-switchyard-provider")).toBe("openai");
    await pinned?.text();
    const none = await post({ model: "anthropic/claude-sonnet-4-5", input: "And then?", previous_response_id: made.id });
    expect(none.status).toBe(400);
    expect((await none.json<OpenAIError>()).error.param).toBe("previous_response_id");
  });

  it("a continued conversation counts as input: over the request size limit it is a 413", async () => {
    const small = withLedger({ ANTHROPIC_BASE_URL: `${MOCK}/v1`, ANTHROPIC_API_KEY: "mock-anthropic-key", MAX_REQUEST_BYTES: "4000" });
    const long = "x".repeat(2_500);
    const first = await (await gateway("/v1/responses", json({ model: "anthropic/claude-sonnet-4-5", input: long }), small)).json<{ id: string }>();
    const next = await gateway("/v1/responses", json({ model: "anthropic/claude-sonnet-4-5", input: long, previous_response_id: first.id }), small);
    expect(next.status).toBe(413);
    expect((await next.json<OpenAIError>()).error.param).toBe("previous_response_id");
  });

  it("input_items pages with order, limit and after, and an unknown after is a 400", async () => {
    const made = await (await post({ model: "anthropic/claude-sonnet-4-5", input: [{ role: "user", content: "one" }, { role: "user", content: "two" }, { role: "user", content: "three" }] })).json<{ id: string }>();
    const page = await (await call("GET", `/v1/responses/${made.id}/input_items?limit=2&include[]=message.input_image.image_url`)).json<{ data: Array<{ id: string; content: string }>; has_more: boolean; last_id: string }>();
    expect(page.data.map((i) => i.content)).toEqual(["three", "two"]);
    expect(page.has_more).toBe(true);
    const rest = await (await call("GET", `/v1/responses/${made.id}/input_items?limit=2&after=${page.last_id}`)).json<{ data: Array<{ content: string }>; has_more: boolean }>();
    expect([rest.data.map((i) => i.content), rest.has_more]).toEqual([["one"], false]);
    expect((await call("GET", `/v1/responses/${made.id}/input_items?after=nope`)).status).toBe(400);
  });
});
