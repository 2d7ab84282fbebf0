/** The gateway in front of Gemini (the mock speaks the Gemini API): OpenAI format in and out. */
import { describe, expect, it } from "vitest";
import { MOCK, admin, gateway, json, scriptUpstream, testEnv, uniqueTag, upstreamClosedEarly, upstreamSaw, type OpenAIError } from "./helpers.ts";

const env = testEnv({ GEMINI_BASE_URL: `${MOCK}/v1beta`, GEMINI_API_KEY: "mock-gemini-key" });
const MODEL = "gemini-3-flash-preview";
const ask = (body: Record<string, unknown>, bindings = env) => gateway("/v1/chat/completions", json({ model: `gemini/${MODEL}`, ...body }), bindings);
const weatherTool = { type: "function", function: { name: "get_weather", parameters: { type: "object", properties: { city: { type: "string" } } } } };

interface ToolCall {
  id: string;
  type: string;
  function: { name: string; arguments: string };
  extra_content?: { google: { thought_signature: string } };
}
interface Completion {
  id: string;
  model: string;
  choices: Array<{ message: { content: string | null; reasoning_content?: string; tool_calls?: ToolCall[] }; finish_reason: string }>;
  usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number; prompt_tokens_details: { cached_tokens: number }; completion_tokens_details: { reasoning_tokens: number } };
}
interface Chunk {
  choices: Array<{ delta: { content?: string; reasoning_content?: string; tool_calls?: ToolCall[] }; finish_reason: string | null }>;
  usage?: unknown;
}

function dataEvents(text: string): string[] {
  return text.split("\n\n").filter((e) => e.startsWith("data: ")).map((e) => e.slice(6));
}

/** A unique word for the conversation: the mock's script matches it and tags the request with it. */
async function scripted(prefix: string, mock: Record<string, unknown> = {}): Promise<string> {
  const word = uniqueTag(prefix);
  await scriptUpstream(word, mock);
  return word;
}

describe("OpenAI clients served by Gemini", () => {
  it("translates the request (key header, URL, body) and the answer (content, id, model, usage with cache)", async () => {
    const word = await scripted("gemini-plain", { cacheRead: 100 });
    const res = await ask({ messages: [{ role: "system", content: "Be brief." }, { role: "user", content: `Hi ${word}` }], user: "someone", temperature: 0.2 });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-switchyard-provider")).toBe("gemini");
    const body = await res.json<Completion>();
    expect(body.choices[0]?.message.content).toBe("Hello from the mock upstream.");
    expect(body.choices[0]?.finish_reason).toBe("stop");
    expect(body.model).toBe(MODEL);
    expect(body.usage.prompt_tokens_details.cached_tokens).toBe(100);
    expect(body.usage.prompt_tokens).toBeGreaterThan(100);
    expect(body.usage.total_tokens).toBe(body.usage.prompt_tokens + body.usage.completion_tokens);
    const [seen] = await upstreamSaw(word);
    expect(seen?.path).toBe(`/v1beta/models/${MODEL}:generateContent`);
    // The key travels only in its header: never in the URL, where it would end up in logs.
    expect(seen?.query).toBe("");
    expect(seen?.headers["x-goog-api-key"]).toBe("mock-gemini-key");
    expect(seen?.headers.authorization).toBeUndefined();
    expect(seen?.body).toEqual({
      contents: [{ role: "user", parts: [{ text: `Hi ${word}` }] }],
      systemInstruction: { parts: [{ text: "Be brief." }] },
      generationConfig: { temperature: 0.2 },
    });
  });

  it("streams OpenAI chunks; the usage chunk only when asked, equal to the non-streamed usage", async () => {
    const word = await scripted("gemini-stream", { cacheRead: 40, thinkingTokens: 12 });
    const messages = [{ role: "user", content: `Hi there ${word}` }];
    const plain = await (await ask({ messages })).json<Completion>();
    expect(plain.usage.completion_tokens_details.reasoning_tokens).toBe(12);
    const streamed = await ask({ messages, stream: true, stream_options: { include_usage: true } });
    expect(streamed.status).toBe(200);
    expect(streamed.headers.get("content-type")).toContain("text/event-stream");
    const data = dataEvents(await streamed.text());
    expect(data.at(-1)).toBe("[DONE]");
    const chunks = data.slice(0, -1).map((d) => JSON.parse(d) as Chunk);
    expect(chunks.map((c) => c.choices[0]?.delta.content ?? "").join("")).toBe("Hello from the mock upstream.");
    expect(chunks.at(-2)?.choices[0]?.finish_reason).toBe("stop");
    expect(chunks.at(-1)?.usage).toEqual(plain.usage);
    const seen = await upstreamSaw(word);
    expect(seen.map((s) => `${s.path}${s.query}`)).toContain(`/v1beta/models/${MODEL}:streamGenerateContent?alt=sse`);
    const unasked = dataEvents(await (await ask({ messages, stream: true })).text());
    expect(unasked.at(-1)).toBe("[DONE]");
    expect(unasked.some((d) => d.includes('"usage"'))).toBe(false);
  });

  it("runs a tool-call round trip: thoughts as reasoning, the thought signature out and back in", async () => {
    const word = await scripted("gemini-tools", { toolCall: { name: "get_weather", args: { city: "Paris" } }, thoughts: "The user wants the weather." });
    const question = { role: "user", content: `Weather in Paris? ${word}` };
    const first = await (await ask({ messages: [question], tools: [weatherTool], reasoning_effort: "low" })).json<Completion>();
    expect(first.choices[0]?.finish_reason).toBe("tool_calls");
    expect(first.choices[0]?.message.reasoning_content).toBe("The user wants the weather.");
    expect(first.choices[0]?.message.content).toBeNull();
    const call = first.choices[0]?.message.tool_calls?.[0];
    // Gemini 3 issues an id with each call: it is the tool call's id, and goes back with the call and its result.
    const id = call?.id ?? "";
    expect(id).not.toMatch(/^call_/);
    expect(call?.function).toEqual({ name: "get_weather", arguments: '{"city":"Paris"}' });
    const signature = call?.extra_content?.google.thought_signature;
    expect(signature).toEqual(expect.any(String));

    const second = await ask({ tools: [weatherTool], messages: [question, { role: "assistant", content: null, tool_calls: [call] }, { role: "tool", tool_call_id: call?.id, content: "18°C, sunny" }] });
    expect(second.status).toBe(200);
    expect((await second.json<Completion>()).choices[0]).toMatchObject({ message: { content: "Hello from the mock upstream." }, finish_reason: "stop" });
    const seen = (await upstreamSaw(word)).at(-1);
    expect((seen?.body.contents as unknown[]).slice(1)).toEqual([
      { role: "model", parts: [{ functionCall: { id, name: "get_weather", args: { city: "Paris" } }, thoughtSignature: signature }] },
      { role: "user", parts: [{ functionResponse: { id, name: "get_weather", response: { result: "18°C, sunny" } } }] },
    ]);

    // A history from another provider (a failover) has no signature: Google's documented stand-in is sent.
    const foreign = { id: "toolu_01", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } };
    expect((await ask({ tools: [weatherTool], messages: [question, { role: "assistant", content: null, tool_calls: [foreign] }, { role: "tool", tool_call_id: "toolu_01", content: "18°C" }] })).status).toBe(200);
    // A forged signature is Gemini's 400, passed through in its own words.
    const forged = { ...call, extra_content: { google: { thought_signature: "Zm9yZ2Vk" } } };
    const refused = await ask({ tools: [weatherTool], messages: [question, { role: "assistant", content: null, tool_calls: [forged] }, { role: "tool", tool_call_id: call?.id, content: "18°C" }] });
    expect(refused.status).toBe(400);
    expect((await refused.json<OpenAIError>()).error.message).toBe("Corrupted thought signature.");
  });

  it("answers parallel tool results to the right calls, whatever order the client sends them in", async () => {
    const parallel = [{ name: "get_weather", args: { city: "Paris" } }, { name: "get_time", args: { city: "Oslo" } }];
    const timeTool = { type: "function", function: { name: "get_time", parameters: { type: "object", properties: { city: { type: "string" } } } } };
    const roundTrip = async (model: string, prefix: string) => {
      const word = await scripted(prefix, { toolCall: parallel });
      const question = { role: "user", content: `Weather in Paris, time in Oslo? ${word}` };
      const tools = [weatherTool, timeTool];
      const asked = await gateway("/v1/chat/completions", json({ model: `gemini/${model}`, tools, messages: [question] }), env);
      const calls = (await asked.json<Completion>()).choices[0]?.message.tool_calls ?? [];
      expect(calls.map((c) => c.function.name)).toEqual(["get_weather", "get_time"]);
      // Parallel tools finish when they finish: the results come back in the other order.
      const results = [{ role: "tool", tool_call_id: calls[1]?.id, content: "12:00" }, { role: "tool", tool_call_id: calls[0]?.id, content: "18°C" }];
      const answered = await gateway("/v1/chat/completions", json({ model: `gemini/${model}`, tools, messages: [question, { role: "assistant", content: null, tool_calls: calls }, ...results] }), env);
      expect(answered.status).toBe(200);
      const sent = (await upstreamSaw(word)).at(-1)?.body.contents as Array<{ parts: unknown[] }>;
      return { calls, sent: sent[1]?.parts, responses: sent[2]?.parts };
    };

    // Gemini 2.5 issues no ids and pairs by position: the results go in the calls' order.
    const older = await roundTrip("gemini-2.5-flash", "gemini-parallel-25");
    expect(older.calls.every((c) => /^call_/.test(c.id))).toBe(true);
    expect(older.responses).toEqual([
      { functionResponse: { name: "get_weather", response: { result: "18°C" } } },
      { functionResponse: { name: "get_time", response: { result: "12:00" } } },
    ]);
    // Gemini 3 gives each call an id: it goes back on the call and on its result.
    const newer = await roundTrip("gemini-3-flash-preview", "gemini-parallel-3");
    const [weatherId, timeId] = newer.calls.map((c) => c.id);
    expect(weatherId).not.toMatch(/^call_/);
    expect(newer.sent).toMatchObject([{ functionCall: { id: weatherId, name: "get_weather" } }, { functionCall: { id: timeId, name: "get_time" } }]);
    expect(newer.responses).toEqual([
      { functionResponse: { id: weatherId, name: "get_weather", response: { result: "18°C" } } },
      { functionResponse: { id: timeId, name: "get_time", response: { result: "12:00" } } },
    ]);
  });

  it("streams a tool call whole, with its signature", async () => {
    const word = await scripted("gemini-tools-stream", { toolCall: { name: "get_weather", args: { city: "Oslo" } } });
    const res = await ask({ messages: [{ role: "user", content: `Weather? ${word}` }], tools: [weatherTool], stream: true });
    const chunks = dataEvents(await res.text()).slice(0, -1).map((d) => JSON.parse(d) as Chunk);
    const calls = chunks.flatMap((c) => c.choices[0]?.delta.tool_calls ?? []);
    expect(calls).toHaveLength(1);
    expect(JSON.parse(calls[0]?.function.arguments ?? "")).toEqual({ city: "Oslo" });
    expect(calls[0]?.extra_content?.google.thought_signature).toEqual(expect.any(String));
    expect(chunks.at(-1)?.choices[0]?.finish_reason).toBe("tool_calls");
  });

  it("maps stop reasons: length, content_filter, and a blocked prompt", async () => {
    const cut = await scripted("gemini-length");
    const long = await (await ask({ messages: [{ role: "user", content: `Hi ${cut}` }], max_tokens: 2 })).json<Completion>();
    expect(long.choices[0]).toMatchObject({ message: { content: "Hello from " }, finish_reason: "length" });
    expect((await upstreamSaw(cut))[0]?.body.generationConfig).toEqual({ maxOutputTokens: 2 });

    const unsafe = await scripted("gemini-safety", { finishReason: "SAFETY" });
    const filtered = await (await ask({ messages: [{ role: "user", content: `Hi ${unsafe}` }] })).json<Completion>();
    expect(filtered.choices[0]?.finish_reason).toBe("content_filter");
    const streamed = dataEvents(await (await ask({ messages: [{ role: "user", content: `Hi ${unsafe}` }], stream: true })).text());
    expect(streamed.at(-1)).toBe("[DONE]");
    expect((JSON.parse(streamed.at(-2) ?? "") as Chunk).choices[0]?.finish_reason).toBe("content_filter");

    const blocked = await scripted("gemini-blocked", { blockReason: "SAFETY" });
    const answer = await (await ask({ messages: [{ role: "user", content: `Hi ${blocked}` }] })).json<Completion>();
    expect(answer.choices[0]).toMatchObject({ message: { content: null }, finish_reason: "content_filter" });
  });

  it("a model that fails without answering (MALFORMED_FUNCTION_CALL, …) is a 502, never an empty stop", async () => {
    const broken = await scripted("gemini-malformed", { toolCall: { name: "get_weather", args: {} }, finishReason: "MALFORMED_FUNCTION_CALL" });
    const res = await ask({ messages: [{ role: "user", content: `Weather? ${broken}` }], tools: [weatherTool] });
    expect(res.status).toBe(502);
    const error = (await res.json<OpenAIError>()).error;
    expect(error.code).toBe("upstream_bad_response");
    expect(error.message).toContain("MALFORMED_FUNCTION_CALL");

    // Streamed, after the thoughts were sent (too late to fail over): an error event, not a clean end.
    const thinking = await scripted("gemini-malformed-late", { finishReason: "TOO_MANY_TOOL_CALLS", thoughts: "Calling it again." });
    const late = dataEvents(await (await ask({ messages: [{ role: "user", content: `Weather? ${thinking}` }], tools: [weatherTool], reasoning_effort: "low", stream: true })).text());
    expect(JSON.parse(late[1] ?? "")).toMatchObject({ choices: [{ delta: { reasoning_content: "Calling it again." } }] });
    expect(late).not.toContain("[DONE]");
    expect(JSON.parse(late.at(-1) ?? "")).toMatchObject({ error: { code: "upstream_bad_response", message: expect.stringContaining("TOO_MANY_TOOL_CALLS") } });
  });

  it("refuses an untranslatable request with a 400 before calling Gemini", async () => {
    const res = await ask({ messages: [{ role: "user", content: "hi" }], logprobs: true });
    expect(res.status).toBe(400);
    expect((await res.json<OpenAIError>()).error.param).toBe("logprobs");
  });
});

describe("Gemini's errors, classified", () => {
  const route = (name: string) =>
    gateway(`/admin/routes/${name}`, admin("PUT", { targets: [{ provider: "gemini", model: MODEL }, { provider: "openai", model: "gpt-4o-mini" }] }), env);
  const viaRoute = (name: string, content: string, extra: Record<string, unknown> = {}, bindings = env) =>
    gateway("/v1/chat/completions", json({ model: name, messages: [{ role: "user", content }], ...extra }), bindings);

  it("429 RESOURCE_EXHAUSTED and 503 UNAVAILABLE fail over to the next target", async () => {
    await route("gemini-then-gpt");
    for (const status of [429, 503, 500]) {
      const word = await scripted(`gemini-${status}`, { onlyModel: MODEL, status });
      const res = await viaRoute("gemini-then-gpt", `hi ${word}`);
      expect(res.status).toBe(200);
      expect(res.headers.get("x-switchyard-provider")).toBe("openai");
      // A 500 is tried once more on the same target (often a one-off) before failing over.
      expect(res.headers.get("x-switchyard-attempts")).toBe(status === 500 ? "3" : "2");
    }
  });

  it("429 alone is a 429 with retry-after from Google's RetryInfo; 400 passes through with Google's message", async () => {
    const limited = await scripted("gemini-429", { status: 429, retryDelay: "7s" });
    const res = await ask({ messages: [{ role: "user", content: `hi ${limited}` }] });
    expect(res.status).toBe(429);
    expect(res.headers.get("retry-after")).toBe("7");
    expect((await res.json<OpenAIError>()).error.message).toContain("You exceeded your current quota");

    await route("gemini-then-gpt");
    const invalid = await scripted("gemini-400", { onlyModel: MODEL, status: 400, errorMessage: "Please use a valid role: user, model." });
    const refused = await viaRoute("gemini-then-gpt", `hi ${invalid}`);
    expect(refused.status).toBe(400);
    const body = await refused.json<OpenAIError>();
    expect(body.error).toMatchObject({ message: "Please use a valid role: user, model.", type: "invalid_request_error", code: "invalid_argument" });
  });

  it("a 400 about the gateway's account (bad key, region or billing) fails over, and alone is a 502", async () => {
    await route("gemini-then-gpt");
    const region = await scripted("gemini-region", { onlyModel: MODEL, status: 400, errorStatus: "FAILED_PRECONDITION" });
    const res = await viaRoute("gemini-then-gpt", `hi ${region}`);
    expect(res.status).toBe(200);
    expect(res.headers.get("x-switchyard-provider")).toBe("openai");

    const badKeyEnv = testEnv({ GEMINI_BASE_URL: `${MOCK}/v1beta`, GEMINI_API_KEY: "bad-key" });
    await gateway("/admin/routes/gemini-badkey", admin("PUT", { targets: [{ provider: "gemini", model: MODEL }, { provider: "openai", model: "gpt-4o-mini" }] }), badKeyEnv);
    const failover = await viaRoute("gemini-badkey", "hi", {}, badKeyEnv);
    expect(failover.status).toBe(200);
    expect(failover.headers.get("x-switchyard-provider")).toBe("openai");
    const alone = await ask({ messages: [{ role: "user", content: "hi" }] }, badKeyEnv);
    expect(alone.status).toBe(502);
    const error = (await alone.json<OpenAIError>()).error;
    expect(error.code).toBe("upstream_auth_failed");
    // The provider's words are about the operator's key: they go to the log, not to the client (issue 12).
    expect(error.message).not.toContain("API key not valid");
    expect(error.message).toContain("refused the gateway's credentials or account");
  });

  it("a model Google does not serve fails over to the next target, and alone is Google's 404; a file not yet ready stays the client's 400", async () => {
    await gateway("/admin/routes/gemini-retired", admin("PUT", { targets: [{ provider: "gemini", model: "gemini-1.0-pro" }, { provider: "openai", model: "gpt-4o-mini" }] }), env);
    const res = await viaRoute("gemini-retired", "hi");
    expect(res.status).toBe(200);
    expect(res.headers.get("x-switchyard-provider")).toBe("openai");
    expect(res.headers.get("x-switchyard-attempts")).toBe("2");
    const alone = await gateway("/v1/chat/completions", json({ model: "gemini/models/gemini-1.0-pro", messages: [{ role: "user", content: "hi" }] }), env);
    expect(alone.status).toBe(404);
    expect((await alone.json<OpenAIError>()).error).toMatchObject({ type: "not_found_error", message: expect.stringMatching(/^models\/gemini-1\.0-pro is not found for API version v1beta/) });

    await route("gemini-then-gpt");
    const processing = await scripted("gemini-file-processing", { onlyModel: MODEL, status: 400, errorStatus: "FAILED_PRECONDITION", errorMessage: "The File cxgja95z0ak1 is not in an ACTIVE state and usage is not allowed." });
    const refused = await viaRoute("gemini-then-gpt", `hi ${processing}`);
    expect(refused.status).toBe(400);
    expect(refused.headers.get("x-switchyard-provider")).toBeNull();
    expect((await refused.json<OpenAIError>()).error).toMatchObject({ code: "failed_precondition", message: expect.stringContaining("is not in an ACTIVE state") });
  });

  it("a stream whose first event is an error fails over; an error mid-stream is an in-band error event", async () => {
    await route("gemini-then-gpt");
    const first = await scripted("gemini-first-error", { onlyModel: MODEL, firstEventError: true });
    const res = await viaRoute("gemini-then-gpt", `hi ${first}`, { stream: true });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-switchyard-provider")).toBe("openai");
    expect(dataEvents(await res.text()).at(-1)).toBe("[DONE]");
    const alone = await ask({ messages: [{ role: "user", content: `hi ${first}` }], stream: true });
    expect(alone.status).toBe(502);
    expect((await alone.json<OpenAIError>()).error.message).toContain("The model is overloaded");

    // The first event's error keeps its class: a rate limit is a 429 with Google's retry delay.
    const limited = await scripted("gemini-first-429", { firstEventError: true, errorCode: 429, retryDelay: "7s" });
    const rateLimited = await ask({ messages: [{ role: "user", content: `hi ${limited}` }], stream: true });
    expect(rateLimited.status).toBe(429);
    expect(rateLimited.headers.get("retry-after")).toBe("7");
    expect((await rateLimited.json<OpenAIError>()).error.code).toBe("upstream_rate_limited");

    // A first event where the model failed without answering fails over too.
    const malformed = await scripted("gemini-first-malformed", { onlyModel: MODEL, finishReason: "MALFORMED_FUNCTION_CALL" });
    const failedOver = await viaRoute("gemini-then-gpt", `hi ${malformed}`, { stream: true });
    expect(failedOver.headers.get("x-switchyard-provider")).toBe("openai");
    expect(dataEvents(await failedOver.text()).at(-1)).toBe("[DONE]");
    const malformedAlone = await ask({ messages: [{ role: "user", content: `hi ${malformed}` }], stream: true });
    expect(malformedAlone.status).toBe(502);
    expect((await malformedAlone.json<OpenAIError>()).error.message).toContain("MALFORMED_FUNCTION_CALL");

    const mid = await scripted("gemini-mid-error", { errorAfterEvents: 2 });
    const broken = dataEvents(await (await ask({ messages: [{ role: "user", content: `hi ${mid}` }], stream: true })).text());
    expect(broken).not.toContain("[DONE]");
    expect(JSON.parse(broken.at(-1) ?? "")).toMatchObject({ error: { code: "internal", type: "server_error" } });

    // An error relayed in-band ends the stream at once, even if the provider then keeps the connection open:
    // one error event, no idle-timeout error after it.
    const hung = await scripted("gemini-error-then-hang", { errorAfterEvents: 2, hangAfterEvents: 3 });
    const started = Date.now();
    const ended = dataEvents(await (await ask({ messages: [{ role: "user", content: `hi ${hung}` }], stream: true })).text());
    expect(Date.now() - started).toBeLessThan(1000); // the idle timeout here is 1500 ms
    expect(ended.filter((d) => d.startsWith('{"error"'))).toHaveLength(1);
    expect((await upstreamClosedEarly(hung)).closed).toBe(true);

    const cut = await scripted("gemini-cut", { endWithoutFinish: true });
    const incomplete = dataEvents(await (await ask({ messages: [{ role: "user", content: `hi ${cut}` }], stream: true })).text());
    expect(JSON.parse(incomplete.at(-1) ?? "")).toMatchObject({ error: { code: "upstream_stream_incomplete" } });
  });
});

describe("embeddings served by Gemini's batchEmbedContents", () => {
  const embed = (body: Record<string, unknown>) => gateway("/v1/embeddings", json({ model: "gemini/gemini-embedding-001", ...body }), env);

  it("translates inputs and dimensions, answers floats or base64, and reports usage as unknown", async () => {
    const word = await scripted("gemini-embed");
    const res = await embed({ input: [`one ${word}`, "two"], dimensions: 4 });
    expect(res.status).toBe(200);
    const body = await res.json<{ object: string; data: Array<{ index: number; embedding: number[] }>; model: string; usage: unknown }>();
    expect(body.object).toBe("list");
    expect(body.data.map((d) => [d.index, d.embedding.length])).toEqual([[0, 4], [1, 4]]);
    // Gemini cuts its vector short without rescaling it; OpenAI clients take the dot product as the cosine.
    for (const { embedding } of body.data) expect(Math.hypot(...embedding)).toBeCloseTo(1, 6);
    expect(body.usage).toBeNull();
    const [seen] = await upstreamSaw(word);
    expect(seen?.path).toBe("/v1beta/models/gemini-embedding-001:batchEmbedContents");
    expect(seen?.headers["x-goog-api-key"]).toBe("mock-gemini-key");
    expect(seen?.body).toEqual({
      requests: [
        { model: "models/gemini-embedding-001", content: { parts: [{ text: `one ${word}` }] }, outputDimensionality: 4 },
        { model: "models/gemini-embedding-001", content: { parts: [{ text: "two" }] }, outputDimensionality: 4 },
      ],
    });

    const encoded = await (await embed({ input: `one ${word}`, dimensions: 4, encoding_format: "base64" })).json<{ data: Array<{ embedding: string }> }>();
    const bytes = Uint8Array.from(atob(encoded.data[0]?.embedding ?? ""), (c) => c.charCodeAt(0));
    expect(Array.from(new Float32Array(bytes.buffer))).toEqual(body.data[0]?.embedding);

    const tokens = await embed({ input: [1, 2, 3] });
    expect(tokens.status).toBe(400);
    expect((await tokens.json<OpenAIError>()).error.param).toBe("input");

    // Google takes at most 100 per batch: more is refused up front, in the gateway's words.
    const many = await embed({ input: Array.from({ length: 101 }, (_, i) => `text ${i} ${word}`) });
    expect(many.status).toBe(400);
    expect((await many.json<OpenAIError>()).error).toMatchObject({ param: "input", message: expect.stringContaining("at most 100 inputs") });
    const hundred = await embed({ input: Array.from({ length: 100 }, (_, i) => `text ${i}`), dimensions: 2 });
    expect((await hundred.json<{ data: unknown[] }>()).data).toHaveLength(100);
  });
});
