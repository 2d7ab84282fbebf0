/**
 * POST /v1/responses (issue 15) in the Worker: native answers and streams read and given their
 * cost, the worst case a Responses request reserves, the cost it is charged (by hand), the
 * conversations the gateway keeps. The translation itself is in responses-translation.test.ts.
 */
import { describe, expect, it } from "vitest";
import { NO_BUILT_IN_TOOLS, nativeResponsesStream, offeredTools, readNativeResponse } from "../../src/providers/openai-compatible/responses.ts";
import type { ProviderConfig } from "../../src/providers/types.ts";
import { MOCK, admin, gateway, json, uniqueTag, upstreamSaw, type OpenAIError } from "./helpers.ts";
import { budgetOf, newKey, setBudget, setPrice, settled, withLedger } from "./ledger-helpers.ts";

const L = withLedger({ ANTHROPIC_BASE_URL: `${MOCK}/v1`, ANTHROPIC_API_KEY: "mock-anthropic-key" });

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
    await setPrice(model, 2, 8, { webSearchPerCallUsd: 0.01, maxInputTokens: 100_000 });
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
    // (Two calls at most: each search may also be a pass over gpt-4.1's 1M-token window, $2.10 a pass at worst.)
    const preview = await (await gateway("/v1/responses", codex("gpt-4.1", false, "web_search_preview", { max_tool_calls: 2 }), L)).json<{ usage: { input_tokens: number; output_tokens: number; cost: number } }>();
    const previewNanos = preview.usage.input_tokens * 2_000 + preview.usage.output_tokens * 8_000 + 2 * 25_000_000;
    expect(preview.usage.cost).toBe(previewNanos / 1e9);
    expect((await settled(`key:${id}`, 3)).totalUsd).toBe((wholeNanos + streamedNanos + previewNanos) / 1e9);
    // Codex sets no max_tool_calls: the gateway's (8) bounds the searches and the passes over the context they make, where 128,000 output tokens at
    // 8 a search would bound 16,000 ($160, over the $10 budget). A client's own bound is sent as it set it.
    expect((await gateway("/v1/responses", codex("gpt-5-codex", false, "web_search", { max_tool_calls: 3 }), L)).status).toBe(200);
    expect((await upstreamSaw(tag)).map((r) => r.body.max_tool_calls)).toEqual([8, 8, 2, 3]);
  });

  it("a Codex request through a translated provider is bounded without the tools it is not sent: its web search and namespace leave its input bounded by its bytes", async () => {
    const { id, key } = await newKey();
    // A window of claude-sonnet-4-5's input at its dearest rate ($6 per million for 1-hour writes) is $1.20; 9 of them (8 searches' passes) $10.80.
    expect((await setBudget(`key:${id}`, { limitUsd: 1, period: "day", mode: "hard" })).status).toBe(200);
    const tools = [{ type: "function", name: "exec_command", parameters: { type: "object" } }, { type: "namespace", name: "multi_agent_v1", description: "Sub-agents.", tools: [{ type: "function", name: "spawn_agent", parameters: { type: "object" } }] }, { type: "web_search" }];
    const res = await gateway("/v1/responses", json({ model: "anthropic/claude-sonnet-4-5", input: "Hi", tools, max_output_tokens: 100, store: false }, key), L);
    expect(res.status).toBe(200);
    expect(res.headers.get("x-switchyard-dropped-tools")).toBe("web_search");
    await res.text();
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
