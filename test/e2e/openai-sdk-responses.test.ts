/**
 * OpenAI's Responses API through the gateway (issue 15), with the official
 * openai SDK unchanged, against every kind of provider: OpenAI natively (body,
 * answer and events relayed), and Azure OpenAI natively; Anthropic, Gemini,
 * Bedrock and an OpenAI-compatible preset through the translation. Plain and
 * streamed answers agree (text, status, usage and its cost); a function-tool round trip;
 * structured output; a cut answer is `incomplete`; a failover on a first-event
 * error; a budget 402 and a rate-limit 429 reach the SDK as its errors.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import OpenAI from "openai";
import { openAIGatewayForFile } from "../support/openai-gateway.ts";

const { gw, client, script } = openAIGatewayForFile();

async function admin<T>(method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${gw().url}${path}`, { method, headers: { authorization: `Bearer ${gw().adminToken}`, "content-type": "application/json" }, body: body === undefined ? undefined : JSON.stringify(body) });
  assert.ok(res.ok, `${method} ${path}: ${res.status} ${await res.clone().text()}`);
  return (await res.json()) as T;
}

const weather: OpenAI.Responses.FunctionTool = { type: "function", name: "get_weather", description: "Weather for a city", parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"], additionalProperties: false }, strict: true };

const PROVIDERS: ReadonlyArray<{ kind: string; model: string; native: boolean }> = [
  { kind: "OpenAI (native)", model: "openai/gpt-4.1", native: true },
  { kind: "Azure OpenAI (native)", model: "azure/my-gpt-deployment", native: true },
  { kind: "an OpenAI-compatible preset (Groq)", model: "groq/llama-3.3-70b-versatile", native: false },
  { kind: "Anthropic", model: "anthropic/claude-sonnet-4-5", native: false },
  { kind: "Gemini", model: "gemini/gemini-2.5-flash", native: false },
  { kind: "Bedrock Converse", model: "bedrock/us.anthropic.claude-sonnet-4-5-20250929-v1:0", native: false },
];

for (const { kind, model, native } of PROVIDERS) {
  describe(`client().responses served by ${kind}`, () => {
    test("create, and the same streamed: the same text, status and usage; the cost in usage and its header", async () => {
      const { data: plain, response } = await client().responses.create({ model, instructions: "Be brief.", input: "Say hello" }).withResponse();
      assert.equal(response.headers.get("x-switchyard-provider"), model.split("/")[0]);
      assert.equal(plain.object, "response");
      assert.equal(plain.status, "completed");
      assert.equal(plain.output_text, "Hello from the mock upstream.");
      assert.ok(plain.usage !== undefined && plain.usage.input_tokens > 0 && plain.usage.output_tokens > 0);
      assert.equal(plain.usage.total_tokens, plain.usage.input_tokens + plain.usage.output_tokens);
      // An Azure deployment's name says nothing of its model: it has no price (and so no cost) unless one is set.
      if (!model.startsWith("azure/")) {
        const cost = Number(response.headers.get("x-switchyard-cost-usd"));
        assert.ok(cost > 0);
        assert.equal((plain.usage as unknown as { cost: number }).cost, cost);
      }

      const stream = client().responses.stream({ model, instructions: "Be brief.", input: "Say hello" });
      const types = new Set<string>();
      let sequence = -1;
      let text = "";
      for await (const event of stream) {
        types.add(event.type);
        assert.ok(event.sequence_number > sequence, "sequence numbers increase");
        sequence = event.sequence_number;
        if (event.type === "response.output_text.delta") text += event.delta;
      }
      const final = await stream.finalResponse();
      assert.equal(text, plain.output_text);
      assert.equal(final.output_text, plain.output_text);
      assert.equal(final.status, "completed");
      for (const type of ["response.created", "response.in_progress", "response.output_item.added", "response.content_part.added", "response.output_text.done", "response.output_item.done", "response.completed"]) assert.ok(types.has(type), `${type} was sent`);
      assert.equal(final.usage?.input_tokens, plain.usage.input_tokens);
      assert.equal(final.usage?.output_tokens, plain.usage.output_tokens);
      // The stream's final usage carries the cost, as the plain answer's does (an Azure deployment has no price).
      if (!model.startsWith("azure/")) assert.equal((final.usage as unknown as { cost?: number }).cost, (plain.usage as unknown as { cost?: number }).cost);
    });

    test("a function-tool round trip: function_call → function_call_output → the answer", async () => {
      const word = `tools-${crypto.randomUUID()}`;
      await script(word, { toolCall: { name: "get_weather", input: { city: "Oslo" }, args: { city: "Oslo" } } });
      const ask: OpenAI.Responses.ResponseInputItem[] = [{ role: "user", content: `Weather in Oslo? ${word}` }];
      const first = await client().responses.create({ model, input: ask, tools: [weather] });
      const call = first.output.find((item): item is OpenAI.Responses.ResponseFunctionToolCall => item.type === "function_call");
      assert.ok(call !== undefined, `a function call in ${JSON.stringify(first.output)}`);
      assert.equal(call.name, "get_weather");
      assert.deepEqual(JSON.parse(call.arguments), { city: "Oslo" });
      assert.ok(call.call_id.length > 0);

      const streamed = client().responses.stream({ model, input: ask, tools: [weather] });
      let args = "";
      for await (const event of streamed) if (event.type === "response.function_call_arguments.delta") args += event.delta;
      assert.deepEqual(JSON.parse(args), { city: "Oslo" });

      const answer = await client().responses.create({ model, tools: [weather], input: [...ask, call, { type: "function_call_output", call_id: call.call_id, output: "-3°C, snow" }] });
      assert.equal(answer.status, "completed");
      assert.equal(answer.output_text, "Hello from the mock upstream.");
    });

    test("structured output (text.format json_schema) and reasoning effort are accepted; an answer cut at max_output_tokens is incomplete", async () => {
      const word = `format-${crypto.randomUUID()}`;
      await script(word, {});
      const res = await client().responses.create({
        model,
        input: `Weather as JSON ${word}`,
        text: { format: { type: "json_schema", name: "weather", schema: { type: "object", properties: { city: { type: "string" } }, required: ["city"], additionalProperties: false }, strict: true } },
        max_output_tokens: 200,
      });
      assert.equal(res.status, "completed");
      const [seen] = gw().mock.requests.filter((r) => r.tag === word);
      const body = seen?.body as Record<string, unknown> | undefined;
      if (native) assert.deepEqual((body?.text as { format: { name: string } }).format.name, "weather");
      const cut = await client().responses.create({ model, input: "Say hello", max_output_tokens: 2 });
      assert.equal(cut.status, "incomplete");
      assert.equal(cut.incomplete_details?.reason, "max_output_tokens");
    });

    test("a rate-limited provider is a RateLimitError in the SDK", async () => {
      const word = `limited-${crypto.randomUUID()}`;
      await script(word, { status: 429 });
      await assert.rejects(client().responses.create({ model, input: word }), OpenAI.RateLimitError);
    });
  });
}

describe("client().responses and the gateway's rules", () => {
  test("a first-event error fails over to the route's next target, before anything reached the client", async () => {
    await admin("PUT", "/admin/routes/responses-failover", { targets: [{ provider: "groq", model: "llama-3.3-70b-versatile" }, { provider: "anthropic", model: "claude-sonnet-4-5" }] });
    const word = `first-event-${crypto.randomUUID()}`;
    await script(word, { firstEventError: true, onlyModel: "llama-3.3-70b-versatile" });
    const { data, response } = await client().responses.create({ model: "responses-failover", input: word, stream: true }).withResponse();
    let text = "";
    for await (const event of data) if (event.type === "response.output_text.delta") text += event.delta;
    assert.equal(text, "Hello from the mock upstream.");
    assert.equal(response.headers.get("x-switchyard-provider"), "anthropic");
    assert.match(response.headers.get("x-switchyard-fallbacks") ?? "", /groq\/llama-3.3-70b-versatile/);
  });

  test("a hard budget too small for the request is a 402 in OpenAI's error shape", async () => {
    const key = await admin<{ id: string; key: string }>("POST", "/admin/keys", { name: "responses-budget" });
    await admin("PUT", `/admin/budgets/key:${key.id}`, { limitUsd: 0.000001, period: "day", mode: "hard" });
    const limited = new OpenAI({ baseURL: `${gw().url}/v1`, apiKey: key.key, maxRetries: 0 });
    const err = await limited.responses.create({ model: "openai/gpt-4.1", input: "Hello" }).then(() => null, (e: unknown) => e);
    assert.ok(err instanceof OpenAI.APIError, String(err));
    assert.equal(err.status, 402);
    assert.equal(err.code, "budget_exceeded");
  });

  test("a key's rate limit is a 429 RateLimitError", async () => {
    const key = await admin<{ id: string; key: string }>("POST", "/admin/keys", { name: "responses-limited", limits: { rpm: 1 } });
    const limited = new OpenAI({ baseURL: `${gw().url}/v1`, apiKey: key.key, maxRetries: 0 });
    await limited.responses.create({ model: "openai/gpt-4.1", input: "Hello" });
    await assert.rejects(limited.responses.create({ model: "openai/gpt-4.1", input: "Hello" }), OpenAI.RateLimitError);
  });

  test("built-in tools a translated target cannot run are left out and named in a header; forcing one is a 400", async () => {
    const { data, response } = await client().responses.create({ model: "anthropic/claude-sonnet-4-5", input: "Hello", tools: [weather, { type: "web_search" }] }).withResponse();
    assert.equal(data.status, "completed");
    assert.equal(response.headers.get("x-switchyard-dropped-tools"), "web_search");
    const err = await client().responses.create({ model: "anthropic/claude-sonnet-4-5", input: "Hello", tools: [{ type: "web_search" }], tool_choice: { type: "web_search" } as unknown as "auto" }).then(() => null, (e: unknown) => e);
    assert.ok(err instanceof OpenAI.BadRequestError, String(err));
  });

  test("store: false with the whole history each turn, as Codex sends it: encrypted reasoning goes back to OpenAI untouched and is dropped for others", async () => {
    const reasoning = { type: "reasoning", id: "rs_1", summary: [], encrypted_content: "gAAAA-opaque" } as unknown as OpenAI.Responses.ResponseInputItem;
    const input: OpenAI.Responses.ResponseInputItem[] = [{ role: "developer", content: "You are Codex." }, { role: "user", content: "Hi" }, reasoning, { role: "assistant", content: "Hello." } as OpenAI.Responses.ResponseInputItem, { role: "user", content: "Again" }];
    for (const model of ["openai/gpt-4.1", "anthropic/claude-sonnet-4-5"]) {
      const word = `codex-${crypto.randomUUID()}`;
      await script(word, {});
      const res = await client().responses.create({ model, input: [...input, { role: "user", content: word }], store: false, include: ["reasoning.encrypted_content"], prompt_cache_key: "session-1" });
      assert.equal(res.status, "completed");
      const [seen] = gw().mock.requests.filter((r) => r.tag === word);
      const text = JSON.stringify(seen?.body);
      assert.equal(text.includes("gAAAA-opaque"), model.startsWith("openai/"), `${model}: ${text.slice(0, 300)}`);
      assert.equal(text.includes("session-1"), model.startsWith("openai/"));
    }
  });
});
