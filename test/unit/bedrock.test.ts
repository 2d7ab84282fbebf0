/** The gateway in front of Bedrock (the mock speaks Converse, checks SigV4 itself): OpenAI format in and out. */
import { describe, expect, it } from "vitest";
import { BEDROCK_TEST_CREDENTIALS, BEDROCK_TEST_SESSION } from "../support/mock-upstream/bedrock-credentials.ts";
import { MOCK, admin, gateway, json, scriptUpstream, testEnv, uniqueTag, upstreamSaw, type OpenAIError } from "./helpers.ts";

const env = testEnv({
  BEDROCK_BASE_URL: MOCK,
  BEDROCK_REGION: "us-east-1",
  BEDROCK_ACCESS_KEY_ID: BEDROCK_TEST_CREDENTIALS.accessKeyId,
  BEDROCK_SECRET_ACCESS_KEY: BEDROCK_TEST_CREDENTIALS.secretAccessKey,
});
const MODEL = "us.anthropic.claude-sonnet-4-5-20250929-v1:0";
const ask = (body: Record<string, unknown>, bindings = env) => gateway("/v1/chat/completions", json({ model: `bedrock/${MODEL}`, ...body }), bindings);
const weatherTool = { type: "function", function: { name: "get_weather", description: "Weather now", parameters: { type: "object", properties: { city: { type: "string" } } } } };
/** A user message carrying a unique word, which scripts the mock's answer (Converse takes no `mock` field). */
async function scripted(mock: Record<string, unknown>): Promise<{ word: string; messages: Array<{ role: string; content: string }> }> {
  const word = uniqueTag("bedrock");
  await scriptUpstream(word, mock);
  return { word, messages: [{ role: "user", content: `Hello ${word}` }] };
}

interface Completion {
  id: string;
  model: string;
  choices: Array<{ message: { content: string | null; reasoning_content?: string; tool_calls?: Array<{ id: string; function: { name: string; arguments: string } }> }; finish_reason: string }>;
  usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number; prompt_tokens_details: { cached_tokens: number; cache_write_tokens: number } };
}
type Chunk = { choices: Array<{ delta: { role?: string; content?: string; reasoning_content?: string; tool_calls?: Array<{ index: number; id?: string; function: { name?: string; arguments?: string } }> }; finish_reason: string | null }>; usage?: unknown; error?: { message: string; code: string } };

const dataEvents = (text: string): string[] => text.split("\n\n").filter((e) => e.startsWith("data: ")).map((e) => e.slice(6));
const chunks = (text: string): Chunk[] => dataEvents(text).filter((d) => d !== "[DONE]").map((d) => JSON.parse(d) as Chunk);

describe("OpenAI clients served by Bedrock Converse", () => {
  it("signs with SigV4 and translates request (system, inferenceConfig) and answer (text, usage with cache)", async () => {
    const { word, messages } = await scripted({ cacheRead: 100, cacheWrite: 20 });
    const res = await ask({ messages: [{ role: "system", content: "Be brief." }, ...messages], max_tokens: 50, temperature: 1.5, stop: "END", top_p: 0.9, frequency_penalty: 0.5 });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-switchyard-provider")).toBe("bedrock");
    const body = await res.json<Completion>();
    expect(body.choices[0]?.message.content).toBe("Hello from the mock upstream.");
    expect(body.choices[0]?.finish_reason).toBe("stop");
    expect(body.model).toBe(MODEL);
    expect(body.usage.prompt_tokens_details).toEqual({ cached_tokens: 100, cache_write_tokens: 20 });
    const [seen] = await upstreamSaw(word);
    expect(seen?.path).toBe(`/model/${encodeURIComponent(MODEL)}/converse`);
    expect(seen?.headers.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIAMOCKBEDROCK00001\/\d{8}\/us-east-1\/bedrock\/aws4_request, SignedHeaders=accept;content-type;host;x-amz-date, Signature=/);
    expect(seen?.body).toEqual({
      messages: [{ role: "user", content: [{ text: `Hello ${word}` }] }],
      system: [{ text: "Be brief." }],
      inferenceConfig: { maxTokens: 50, temperature: 1, topP: 0.9, stopSequences: ["END"] },
    });
    // prompt_tokens is every input token: the mock's inputTokens (3 per message + 1 per 4 characters) plus cache reads and writes.
    const mockInput = Math.ceil((`Hello ${word}`.length + "Be brief.".length) / 4) + 3;
    expect(body.usage).toMatchObject({ prompt_tokens: mockInput + 120, completion_tokens: 5, total_tokens: mockInput + 125 });
  });

  it("streams OpenAI chunks from binary frames; streamed usage equals the non-streamed usage", async () => {
    const { messages } = await scripted({ cacheRead: 7, cacheWrite: 3 });
    const plain = await (await ask({ messages })).json<Completion>();
    const res = await ask({ messages, stream: true, stream_options: { include_usage: true } });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/event-stream");
    const text = await res.text();
    expect(dataEvents(text).at(-1)).toBe("[DONE]");
    const all = chunks(text);
    expect(all[0]?.choices[0]?.delta.role).toBe("assistant");
    expect(all.map((c) => c.choices[0]?.delta.content ?? "").join("")).toBe("Hello from the mock upstream.");
    expect(all.find((c) => c.choices[0]?.finish_reason !== null && c.choices.length > 0)?.choices[0]?.finish_reason).toBe("stop");
    expect(all.at(-1)?.usage).toEqual(plain.usage);
    const unasked = await (await ask({ messages, stream: true })).text();
    expect(unasked.includes('"usage"')).toBe(false);
    expect(dataEvents(unasked).at(-1)).toBe("[DONE]");
  });

  it("runs a tool-call round trip, streamed and not", async () => {
    const toolCall = { name: "get_weather", input: { city: "Paris" } };
    const { messages } = await scripted({ toolCall });
    const first = await (await ask({ messages, tools: [weatherTool], tool_choice: "required" })).json<Completion>();
    expect(first.choices[0]?.finish_reason).toBe("tool_calls");
    const call = first.choices[0]?.message.tool_calls?.[0];
    expect(call?.function).toEqual({ name: "get_weather", arguments: '{"city":"Paris"}' });

    const streamed = chunks(await (await ask({ messages, tools: [weatherTool], stream: true })).text());
    const calls = streamed.flatMap((c) => c.choices[0]?.delta.tool_calls ?? []);
    expect(calls[0]).toMatchObject({ index: 0, function: { name: "get_weather" } });
    expect(JSON.parse(calls.map((t) => t.function.arguments ?? "").join(""))).toEqual({ city: "Paris" });
    expect(streamed.some((c) => c.choices[0]?.finish_reason === "tool_calls")).toBe(true);

    const { word } = await scripted({ content: "It is 18 degrees." });
    const second = await ask({
      tools: [weatherTool],
      messages: [
        { role: "user", content: `Weather in Paris? ${word}` },
        { role: "assistant", content: null, tool_calls: [
          { id: call?.id, type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } },
          { id: "second", type: "function", function: { name: "get_weather", arguments: '{"city":"Lyon"}' } },
        ] },
        { role: "tool", tool_call_id: call?.id, content: "18°C, sunny" },
        { role: "tool", tool_call_id: "second", content: '{"humidity":40}' },
      ],
    });
    expect(second.status).toBe(200);
    expect((await second.json<Completion>()).choices[0]?.message.content).toBe("It is 18 degrees.");
    const [seen] = await upstreamSaw(word);
    expect(seen?.body.messages).toEqual([
      { role: "user", content: [{ text: `Weather in Paris? ${word}` }] },
      { role: "assistant", content: [
        { toolUse: { toolUseId: call?.id, name: "get_weather", input: { city: "Paris" } } },
        { toolUse: { toolUseId: "second", name: "get_weather", input: { city: "Lyon" } } },
      ] },
      { role: "user", content: [{ toolResult: { toolUseId: call?.id, content: [{ text: "18°C, sunny" }] } }, { toolResult: { toolUseId: "second", content: [{ json: { humidity: 40 } }] } }] },
    ]);
    expect(seen?.body.toolConfig).toEqual({ tools: [{ toolSpec: { name: "get_weather", description: "Weather now", inputSchema: { json: weatherTool.function.parameters } } }] });
  });

  it("maps stop reasons and carries reasoning", async () => {
    for (const [stopReason, finish] of [["max_tokens", "length"], ["guardrail_intervened", "content_filter"], ["content_filtered", "content_filter"], ["model_context_window_exceeded", "length"], ["stop_sequence", "stop"]] as const) {
      const { messages } = await scripted({ stopReason });
      const body = await (await ask({ messages })).json<Completion>();
      expect(body.choices[0]?.finish_reason).toBe(finish);
    }
    const { messages } = await scripted({ reasoning: "Think it over." });
    const plain = await (await ask({ messages })).json<Completion>();
    expect(plain.choices[0]?.message.reasoning_content).toBe("Think it over.");
    const streamed = chunks(await (await ask({ messages, stream: true })).text());
    expect(streamed.map((c) => c.choices[0]?.delta.reasoning_content ?? "").join("")).toBe("Think it over.");
  });

  it("accepts a Bedrock API key as a bearer token, and temporary credentials with their session token", async () => {
    const { word, messages } = await scripted({});
    const keyed = testEnv({ BEDROCK_BASE_URL: MOCK, BEDROCK_REGION: "us-east-1", BEDROCK_API_KEY: "ABSKbedrockApiKey" });
    expect((await ask({ messages }, keyed)).status).toBe(200);
    expect((await upstreamSaw(word))[0]?.headers.authorization).toBe("Bearer ABSKbedrockApiKey");
    const session = testEnv({
      BEDROCK_BASE_URL: MOCK, BEDROCK_REGION: "eu-west-3", BEDROCK_ACCESS_KEY_ID: BEDROCK_TEST_SESSION.accessKeyId,
      BEDROCK_SECRET_ACCESS_KEY: BEDROCK_TEST_SESSION.secretAccessKey, BEDROCK_SESSION_TOKEN: BEDROCK_TEST_SESSION.sessionToken,
    });
    expect((await ask({ messages, stream: true }, session)).status).toBe(200);
  });

  it("a wrong secret fails the mock's own signature check (403 → failed attempt, reported as an auth failure)", async () => {
    const { messages } = await scripted({});
    const wrong = testEnv({ BEDROCK_BASE_URL: MOCK, BEDROCK_REGION: "us-east-1", BEDROCK_ACCESS_KEY_ID: BEDROCK_TEST_CREDENTIALS.accessKeyId, BEDROCK_SECRET_ACCESS_KEY: "not-the-secret" });
    const res = await ask({ messages }, wrong);
    expect(res.status).toBe(502);
    const body = await res.json<OpenAIError>();
    expect(body.error.code).toBe("upstream_auth_failed");
    // The signature mismatch is the operator's credentials: logged, not told to the client (issue 12).
    expect(body.error.message).not.toContain("The request signature we calculated does not match");
    expect(body.error.message).toContain("refused the gateway's credentials or account (HTTP 403)");
  });

  it("is configured only with a region and a key or an access key pair", async () => {
    const { configuredProviders } = await import("../../src/providers/registry.ts");
    const keys = { BEDROCK_ACCESS_KEY_ID: "AKIA", BEDROCK_SECRET_ACCESS_KEY: "s" };
    expect(configuredProviders(testEnv(keys)).has("bedrock")).toBe(false);
    const configured = configuredProviders(testEnv({ ...keys, BEDROCK_REGION: "ap-south-1" })).get("bedrock");
    expect(configured?.baseUrl).toBe("https://bedrock-runtime.ap-south-1.amazonaws.com");
    expect(configured?.credentials).toEqual({ REGION: "ap-south-1", ACCESS_KEY_ID: "AKIA", SECRET_ACCESS_KEY: "s" });
    expect(configuredProviders(testEnv({ BEDROCK_REGION: "ap-south-1", BEDROCK_ACCESS_KEY_ID: "AKIA" })).has("bedrock")).toBe(false);
  });
});

describe("Converse's request rules, as Bedrock enforces them", () => {
  const pdf = (filename?: string) => ({ type: "file", file: { ...(filename === undefined ? {} : { filename }), file_data: "data:application/pdf;base64,JVBERi0=" } });

  it("names every document of a request apart, in the characters Converse allows (it rejects the whole request otherwise)", async () => {
    const { word } = await scripted({});
    const long = `${"a".repeat(150)}  ${"b".repeat(150)}.pdf`;
    const res = await ask({
      messages: [
        { role: "user", content: [{ type: "text", text: `Compare ${word}` }, pdf("report.pdf"), pdf("Report.docx"), pdf()] },
        { role: "assistant", content: "Which part?" },
        { role: "user", content: [pdf("report.pdf"), pdf(), pdf("John's  report #1 (final)_v2.pdf"), pdf(long), pdf(long)] },
      ],
    });
    expect(res.status).toBe(200);
    const [seen] = await upstreamSaw(word);
    const names = (seen?.body.messages as Array<{ content: Array<{ document?: { name: string } }> }>).flatMap((m) => m.content.flatMap((b) => (b.document ? [b.document.name] : [])));
    expect(names.slice(0, 6)).toEqual(["report", "Report (2)", "document", "report (3)", "document (2)", "John s report 1 (final) v2"]);
    expect(names[6]).toBe(`${"a".repeat(150)} ${"b".repeat(49)}`);
    expect(names[7]).toBe(`${"a".repeat(150)} ${"b".repeat(45)} (2)`);
    expect(names.every((n) => n.length <= 200)).toBe(true);
  });

  it("the mock refuses what Bedrock refuses, in its words: duplicate or ill-formed document names, tool results that answer no toolUse", async () => {
    const converse = (body: unknown) =>
      fetch(`${MOCK}/model/${encodeURIComponent(MODEL)}/converse`, { method: "POST", headers: { authorization: "Bearer ABSKkey", "content-type": "application/json" }, body: JSON.stringify(body) });
    const doc = (name: string) => ({ document: { format: "pdf", name, source: { bytes: "JVBERi0=" } } });
    const message = async (body: unknown) => {
      const res = await converse(body);
      expect(res.status).toBe(400);
      expect(res.headers.get("x-amzn-errortype")).toMatch(/^ValidationException:/);
      return (await res.json<{ message: string }>()).message;
    };
    expect(await message({ messages: [{ role: "user", content: [doc("a")] }, { role: "assistant", content: [{ text: "ok" }] }, { role: "user", content: [doc("a")] }] })).toBe(
      "Messages can't contain duplicate document names. Rename the document and retry your request.",
    );
    for (const name of ["report.pdf", "two  spaces", "under_score"]) {
      expect(await message({ messages: [{ role: "user", content: [doc(name)] }] })).toMatch(/^The document file name can only contain alphanumeric characters/);
    }
    expect(await message({ messages: [{ role: "user", content: [doc("x".repeat(201))] }] })).toContain("length less than or equal to 200");
    const tools = { tools: [{ toolSpec: { name: "f", inputSchema: { json: {} } } }] };
    const use = { role: "assistant", content: [{ toolUse: { toolUseId: "t1", name: "f", input: {} } }] };
    const result = (id: string) => ({ toolResult: { toolUseId: id, content: [{ text: "ok" }] } });
    expect(await message({ toolConfig: tools, messages: [{ role: "user", content: [{ text: "hi" }] }, use, { role: "user", content: [result("t1"), result("t2")] }] })).toBe(
      "The number of toolResult blocks at messages.2.content exceeds the number of toolUse blocks of previous turn.",
    );
    expect(await message({ toolConfig: tools, messages: [{ role: "user", content: [{ text: "hi" }] }, use, { role: "user", content: [result("other")] }] })).toBe(
      "Expected toolResult blocks at messages.2.content for the following Ids: t1",
    );
    const hi = [{ role: "user", content: [{ text: "hi" }] }];
    expect(await message({ toolConfig: { ...tools, toolChoice: { auto: {}, any: {} } }, messages: hi })).toContain("toolChoice");
    expect(await message({ toolConfig: { ...tools, toolChoice: { tool: { name: "g" } } }, messages: hi })).toContain("g");
    expect(await message({ outputConfig: { textFormat: { type: "json_schema", structure: { jsonSchema: { schema: { type: "object" } } } } }, messages: hi })).toContain("schema");
    expect(await message({ outputConfig: { textFormat: { type: "json", structure: { jsonSchema: { schema: "{}" } } } }, messages: hi })).toContain("[json_schema]");
    expect((await converse({ toolConfig: { ...tools, toolChoice: { tool: { name: "f" } } }, outputConfig: { textFormat: { type: "json_schema", structure: { jsonSchema: { schema: "{}", name: "n" } } } }, messages: hi })).status).toBe(200);
  });

  it("sends toolChoice and outputConfig in the shapes Converse takes", async () => {
    const { word, messages } = await scripted({});
    const schema = { type: "object", properties: { n: { type: "number" } } };
    const res = await ask({ messages, tools: [weatherTool], tool_choice: { type: "function", function: { name: "get_weather" } }, response_format: { type: "json_schema", json_schema: { name: "num", schema } } });
    expect(res.status).toBe(200);
    const [seen] = await upstreamSaw(word);
    expect((seen?.body.toolConfig as { toolChoice: unknown }).toolChoice).toEqual({ tool: { name: "get_weather" } });
    expect(seen?.body.outputConfig).toEqual({ textFormat: { type: "json_schema", structure: { jsonSchema: { schema: JSON.stringify(schema), name: "num" } } } });
  });

  it("refuses an unknown reasoning_effort (an inherited name too) with a 400 naming it, through the gateway", async () => {
    for (const reasoning_effort of ["constructor", "extreme"]) {
      const res = await ask({ messages: [{ role: "user", content: "hi" }], reasoning_effort });
      expect(res.status).toBe(400);
      expect((await res.json<OpenAIError>()).error.param).toBe("reasoning_effort");
    }
    const { word, messages } = await scripted({});
    expect((await ask({ messages, reasoning_effort: "none", temperature: 0.5 })).status).toBe(200);
    expect(((await upstreamSaw(word))[0]?.body.inferenceConfig as { temperature: number }).temperature).toBe(0.5);
  });
});

describe("Bedrock's answers and streams, read robustly", () => {
  it("an exception frame after the answer is whole sends nothing after [DONE]", async () => {
    const { messages } = await scripted({ exceptionAfterEnd: "internalServerException" });
    const text = await (await ask({ messages, stream: true })).text();
    expect(dataEvents(text).at(-1)).toBe("[DONE]");
    expect(text).not.toContain('"error"');
  });

  it("a good frame and a corrupt one arriving together: the good one still reaches the client before the error", async () => {
    const { messages } = await scripted({ corruptFrameAt: 3, joinFramesFrom: 1 });
    const all = chunks(await (await ask({ messages, stream: true })).text());
    expect(all.slice(0, -1).map((c) => c.choices[0]?.delta.content ?? "").join("")).toBe("Hello from ");
    expect(all.at(-1)?.error?.message).toContain("checksum");
  });

  it("an answer that carries no URL (not from fetch) is still an answer, named after the provider", async () => {
    const { bedrockAdapter } = await import("../../src/providers/bedrock/adapter.ts");
    const answer = new Response(JSON.stringify({ output: { message: { role: "assistant", content: [{ text: "hi" }] } }, stopReason: "end_turn", usage: { inputTokens: 1, outputTokens: 1, totalTokens: 2 } }));
    const { body } = await bedrockAdapter.readChatResponse(answer, { name: "bedrock" } as never);
    const parsed = JSON.parse(String(body)) as Completion;
    expect(parsed.choices[0]?.message.content).toBe("hi");
    expect(parsed.model).toBe("bedrock");
  });
});

describe("Bedrock's errors, classified", () => {
  const route = { targets: [{ provider: "bedrock", model: MODEL }, { provider: "openai", model: "gpt-4o-mini" }] };
  const viaRoute = async (messages: unknown, stream = false) => {
    await gateway("/admin/routes/bedrock-then-gpt", admin("PUT", route), env);
    return gateway("/v1/chat/completions", json({ model: "bedrock-then-gpt", messages, stream }), env);
  };

  it("ThrottlingException (429) and ModelErrorException (424) fail over to the next target", async () => {
    for (const status of [429, 424, 503]) {
      const { messages } = await scripted({ status, onlyModel: MODEL });
      const res = await viaRoute(messages);
      expect(res.status).toBe(200);
      expect(res.headers.get("x-switchyard-provider")).toBe("openai");
      expect(res.headers.get("x-switchyard-attempts")).toBe("2");
    }
    const { messages } = await scripted({ status: 429 });
    const alone = await ask({ messages });
    expect(alone.status).toBe(429);
    expect((await alone.json<OpenAIError>()).error.message).toContain("Too many requests");
  });

  it("ValidationException (400) about the request passes through with Bedrock's words, without failover", async () => {
    const words = "Malformed input request: #: extraneous key [foo] is not permitted, please reformat your input and try again.";
    const { messages } = await scripted({ status: 400, errorMessage: words, onlyModel: MODEL });
    const res = await viaRoute(messages);
    expect(res.status).toBe(400);
    expect(res.headers.get("x-switchyard-attempts")).toBe("1");
    const body = await res.json<OpenAIError>();
    expect(body.error).toMatchObject({ message: words, type: "invalid_request_error", code: "ValidationException" });
  });

  it("a configured target Bedrock will not serve (bad model id, needs an inference profile, no use-case form, retired) fails over", async () => {
    const unusable = [
      ["ValidationException", "The provided model identifier is invalid."],
      ["ValidationException", `Invocation of model ID ${MODEL} with on-demand throughput isn\u2019t supported. Retry your request with the ID or ARN of an inference profile that contains this model.`],
      ["ResourceNotFoundException", "Model use case details have not been submitted for this account. Fill out the Anthropic use case details form before using the model."],
      ["ResourceNotFoundException", "This model version has reached the end of its life. Please refer to the AWS documentation for more details."],
    ] as const;
    for (const [errorType, errorMessage] of unusable) {
      const { messages } = await scripted({ status: 400, errorType, errorMessage, onlyModel: MODEL });
      const res = await viaRoute(messages);
      expect(res.status).toBe(200);
      expect(res.headers.get("x-switchyard-provider")).toBe("openai");
      expect(res.headers.get("x-switchyard-attempts")).toBe("2");
    }
    // The same in a stream's first frame.
    const { messages: streamed } = await scripted({ firstEventException: "validationException", errorMessage: "The provided model identifier is invalid." });
    expect((await viaRoute(streamed, true)).headers.get("x-switchyard-provider")).toBe("openai");
    // Alone, it is the provider's failure (502), not the client's 400.
    const { messages } = await scripted({ status: 400, errorMessage: "The provided model identifier is invalid." });
    const alone = await ask({ messages });
    expect(alone.status).toBe(502);
    const body = await alone.json<OpenAIError>();
    expect(body.error.code).toBe("upstream_error");
    expect(body.error.message).toContain("The provided model identifier is invalid.");
  });

  it("ServiceQuotaExceededException (a 400 about the account) fails over, and alone is a 429 rate limit; so is ModelNotReadyException", async () => {
    const { messages } = await scripted({ status: 400, errorType: "ServiceQuotaExceededException", errorMessage: "quota", onlyModel: MODEL });
    const res = await viaRoute(messages);
    expect(res.status).toBe(200);
    expect(res.headers.get("x-switchyard-provider")).toBe("openai");
    for (const mock of [
      { status: 400, errorType: "ServiceQuotaExceededException", errorMessage: "Your request exceeds the service quota for your account." },
      { firstEventException: "serviceQuotaExceededException", errorMessage: "Your request exceeds the service quota for your account." },
      { firstEventException: "modelNotReadyException", errorMessage: "Model is not ready." },
      { status: 429, errorType: "ModelNotReadyException", errorMessage: "Model is not ready." },
    ]) {
      const { messages: alone } = await scripted(mock);
      const limited = await ask({ messages: alone, stream: mock.firstEventException !== undefined });
      expect(limited.status).toBe(429);
      expect((await limited.json<OpenAIError>()).error.code).toBe("upstream_rate_limited");
    }
  });

  it("an exception frame as the first event (alone, or after messageStart) is a failed attempt", async () => {
    for (const mock of [{ firstEventException: "throttlingException" }, { exceptionAfterStart: "serviceUnavailableException" }, { firstEventException: "modelStreamErrorException" }]) {
      const { messages } = await scripted(mock);
      const res = await viaRoute(messages, true);
      expect(res.status).toBe(200);
      expect(res.headers.get("x-switchyard-provider")).toBe("openai");
      expect(dataEvents(await res.text()).at(-1)).toBe("[DONE]");
    }
    const { messages } = await scripted({ firstEventException: "throttlingException" });
    const alone = await ask({ messages, stream: true });
    expect(alone.status).toBe(429); // a throttlingException counts as a 429
    const { messages: invalid } = await scripted({ firstEventException: "validationException", errorMessage: "bad input" });
    const refused = await viaRoute(invalid, true);
    expect(refused.status).toBe(400);
    expect((await refused.json<OpenAIError>()).error.message).toBe("bad input");
  });

  it("a corrupted first frame fails the attempt; a corrupted or exception frame mid-stream ends the stream with an error event", async () => {
    const { messages: first } = await scripted({ corruptFrameAt: 0 });
    expect((await viaRoute(first, true)).headers.get("x-switchyard-provider")).toBe("openai");

    const { messages } = await scripted({ corruptFrameAt: 3 });
    const res = await ask({ messages, stream: true });
    expect(res.status).toBe(200);
    const all = chunks(await res.text());
    expect(all.at(-1)?.error?.code).toBe("upstream_stream_error");
    expect(all.at(-1)?.error?.message).toContain("checksum");
    expect(all.slice(0, -1).map((c) => c.choices[0]?.delta.content ?? "").join("")).toBe("Hello from ");

    const { messages: mid } = await scripted({ exceptionMidStream: "modelStreamErrorException" });
    const broken = chunks(await (await ask({ messages: mid, stream: true })).text());
    expect(broken.at(-1)?.error).toMatchObject({ code: "ModelStreamErrorException", message: "The model stream failed." });
    // The exception ends the stream at once, even if Bedrock keeps the connection open after it.
    const { messages: hung } = await scripted({ exceptionMidStream: "modelStreamErrorException", hangAfterEvents: 4 });
    const started = Date.now();
    const ended = chunks(await (await ask({ messages: hung, stream: true })).text());
    expect(Date.now() - started).toBeLessThan(1000); // the idle timeout here is 1500 ms
    expect(ended.filter((c) => c.error !== undefined)).toHaveLength(1);

    const { messages: cut } = await scripted({ breakAfterEvents: 3, breakMidEvent: true });
    const cutShort = chunks(await (await ask({ messages: cut, stream: true })).text());
    expect(cutShort.at(-1)?.error?.code).toBe("upstream_stream_error");
  });
});
