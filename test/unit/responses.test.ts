/**
 * POST /v1/responses (issue 15) in the Worker: the translation of a Responses request to the
 * canonical chat body, of a chat answer to a response object, the worst case a Responses request
 * reserves (its max_output_tokens counted), and the cost it is charged, by hand.
 */
import { describe, expect, it } from "vitest";
import { responsesToChat } from "../../src/http/responses/request.ts";
import { chatToResponse } from "../../src/http/responses/response.ts";
import { normaliseResponsesUsage } from "../../src/providers/openai-compatible/responses.ts";
import { MOCK, gateway, json, uniqueTag, upstreamSaw, type OpenAIError } from "./helpers.ts";
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
    const response = chatToResponse(completion, usage, { instructions: "Be brief.", metadata: { team: "a" } }, "fast");
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

  it("a native usage reads in the gateway's terms (cached within input, reasoning within output)", () => {
    expect(normaliseResponsesUsage({ input_tokens: 100, input_tokens_details: { cached_tokens: 40 }, output_tokens: 30, output_tokens_details: { reasoning_tokens: 10 } })).toEqual({
      prompt_tokens: 100, completion_tokens: 30, total_tokens: 130, prompt_tokens_details: { cached_tokens: 40 }, completion_tokens_details: { reasoning_tokens: 10 },
    });
    expect(normaliseResponsesUsage({ foo: 1 })).toBeNull();
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

  it("a request without input or a model is a 400 in OpenAI's shape; other methods are 405", async () => {
    const noInput = await gateway("/v1/responses", json({ model: "openai/gpt-4.1" }), L);
    expect(noInput.status).toBe(400);
    expect((await noInput.json<OpenAIError>()).error.param).toBe("input");
    const noModel = await gateway("/v1/responses", json({ input: "Hi" }), L);
    expect(noModel.status).toBe(400);
    expect((await gateway("/v1/responses", { method: "GET", headers: { authorization: "Bearer sk-test-dev-key" } }, L)).status).toBe(405);
  });

  it("previous_response_id reaches OpenAI untouched, and is refused (400) by a provider that cannot continue OpenAI's conversation", async () => {
    const tag = uniqueTag("resp-prev");
    const native = await gateway("/v1/responses", json({ model: "openai/gpt-4.1", input: "And then?", previous_response_id: "resp_abc", user: tag }), L);
    expect(native.status).toBe(200);
    expect((await upstreamSaw(tag))[0]?.body.previous_response_id).toBe("resp_abc");
    const other = await gateway("/v1/responses", json({ model: "anthropic/claude-sonnet-4-5", input: "And then?", previous_response_id: "resp_abc" }), L);
    expect(other.status).toBe(400);
    expect((await other.json<OpenAIError>()).error.param).toBe("previous_response_id");
  });
});
