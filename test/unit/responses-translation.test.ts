/**
 * The Responses API translated for providers that do not speak it (issue 15), as pure functions:
 * a Responses request to the canonical chat body (items, tools of every client-run kind,
 * tool_choice, text.format, reasoning), a chat answer to a response object, and chat chunks to
 * OpenAI's semantic events. The gateway-level behaviour is in responses.test.ts.
 */
import { describe, expect, it } from "vitest";
import { responsesToChat } from "../../src/http/responses/request.ts";
import { chatToResponse } from "../../src/http/responses/response.ts";
import { responsesClientStream } from "../../src/http/responses/stream.ts";
import { normaliseResponsesUsage } from "../../src/providers/openai-compatible/responses.ts";
import type { StreamTranslator } from "../../src/providers/types.ts";

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

  it("a function and a namespace member that would share a chat name are a 400; allowed_tools may name a whole namespace; a forced choice may name a namespaced tool bare", () => {
    const ns = { type: "namespace", name: "a", description: "", tools: [{ type: "function", name: "b" }, { type: "function", name: "c" }] };
    let param: unknown;
    try {
      responsesToChat({ model: "m", input: "Hi", tools: [{ type: "function", name: "a__b" }, ns] }, target);
    } catch (err) {
      param = (err as { param?: string; status?: number }).param;
    }
    expect(param).toBe("tools");
    const names = (chat: Record<string, unknown>): string[] => (chat.tools as Array<{ function: { name: string } }>).map((t) => t.function.name);
    const allowed = responsesToChat({ model: "m", input: "Hi", tools: [{ type: "function", name: "f" }, ns], tool_choice: { type: "allowed_tools", mode: "auto", tools: [{ type: "namespace", name: "a" }] } }, target);
    expect(names(allowed)).toEqual(["a__b", "a__c"]);
    const forced = responsesToChat({ model: "m", input: "Hi", tools: [{ type: "function", name: "f" }, ns], tool_choice: { type: "function", name: "c" } }, target);
    expect(forced.tool_choice).toEqual({ type: "function", function: { name: "a__c" } });
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
      // The namespace's description leads its members' (the model sees no namespace otherwise).
      { type: "function", function: { name: "multi_agent_v1__spawn_agent", description: "Sub-agents.", parameters: { type: "object" } } },
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
    expect(output[0]).toEqual({ type: "custom_tool_call", id: expect.stringMatching(/^ctc_/), call_id: "call_1", name: "apply_patch", input: "patch text", status: "completed" });
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
    expect(events[2]?.item).toEqual({ type: "custom_tool_call", id: expect.stringMatching(/^ctc_/), call_id: "call_p", name: "apply_patch", input: "", status: "in_progress" });
    expect(events[6]).toMatchObject({ input: "*** Begin Patch", output_index: 0 });
    expect(events.map((e) => e.sequence_number)).toEqual(events.map((_, i) => i));
    const completed = events.at(-1)?.response as { output: unknown[] };
    expect(completed.output).toEqual([
      expect.objectContaining({ type: "custom_tool_call", input: "*** Begin Patch" }),
      expect.objectContaining({ type: "function_call", name: "go", namespace: "ns", arguments: "{}", status: "completed" }),
    ]);
  });
});
