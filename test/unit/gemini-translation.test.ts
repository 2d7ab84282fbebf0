/**
 * Gemini ↔ OpenAI translation, driven by payloads in the Gemini API's
 * documented format (generateContent reference, function calling, thinking
 * and thought-signature guides).
 */
import { describe, expect, it } from "vitest";
import { GatewayError } from "../../src/http/errors.ts";
import { geminiErrorDetail } from "../../src/providers/gemini/errors.ts";
import { toGeminiRequest } from "../../src/providers/gemini/request.ts";
import { fromGeminiResponse } from "../../src/providers/gemini/response.ts";
import { geminiStream } from "../../src/providers/gemini/stream.ts";

const weather = { type: "function", function: { name: "get_weather", description: "Weather by city", parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] } } };

function refusal(run: () => unknown): GatewayError {
  try {
    run();
  } catch (err) {
    if (err instanceof GatewayError) return err;
    throw err;
  }
  throw new Error("expected a refusal");
}

describe("OpenAI request → Gemini generateContent request", () => {
  it("builds contents, systemInstruction, tools, toolConfig and generationConfig from OpenAI fields alone", () => {
    const out = toGeminiRequest(
      {
        model: "gemini/gemini-2.5-flash",
        messages: [
          { role: "system", content: "Be brief." },
          { role: "developer", content: [{ type: "text", text: "Use metric units." }] },
          { role: "user", content: [{ type: "text", text: "What is this?" }, { type: "image_url", image_url: { url: "data:image/png;base64,iVBORw0KGgo=" } }] },
          { role: "user", content: [{ type: "image_url", image_url: { url: "https://example.com/cat.JPG?size=large" } }] },
        ],
        temperature: 0.3,
        top_p: 0.9,
        max_completion_tokens: 256,
        stop: "END",
        n: 2,
        seed: 7,
        presence_penalty: 0.5,
        frequency_penalty: 0.25,
        response_format: { type: "json_schema", json_schema: { name: "answer", schema: { type: "object", properties: { a: { type: "string" } } } } },
        tools: [weather],
        tool_choice: { type: "function", function: { name: "get_weather" } },
        user: "user-42",
        stream_options: { include_usage: true },
        metadata: { trace: "x" },
        vendor_field: true,
      },
      "gemini-2.5-flash",
    );
    expect(out).toEqual({
      contents: [
        {
          role: "user",
          parts: [
            { text: "What is this?" },
            { inlineData: { mimeType: "image/png", data: "iVBORw0KGgo=" } },
            { fileData: { mimeType: "image/jpeg", fileUri: "https://example.com/cat.JPG?size=large" } },
          ],
        },
      ],
      systemInstruction: { parts: [{ text: "Be brief." }, { text: "Use metric units." }] },
      tools: [{ functionDeclarations: [{ name: "get_weather", description: "Weather by city", parametersJsonSchema: weather.function.parameters }] }],
      toolConfig: { functionCallingConfig: { mode: "ANY", allowedFunctionNames: ["get_weather"] } },
      generationConfig: {
        temperature: 0.3,
        topP: 0.9,
        maxOutputTokens: 256,
        stopSequences: ["END"],
        candidateCount: 2,
        seed: 7,
        presencePenalty: 0.5,
        frequencyPenalty: 0.25,
        responseMimeType: "application/json",
        responseJsonSchema: { type: "object", properties: { a: { type: "string" } } },
      },
    });
  });

  it("maps tool_choice auto/none/required and json_object", () => {
    const messages = [{ role: "user", content: "hi" }];
    const mode = (tool_choice: unknown) => (toGeminiRequest({ messages, tools: [weather], tool_choice }, "gemini-2.5-flash").toolConfig as { functionCallingConfig: unknown }).functionCallingConfig;
    expect(mode("auto")).toEqual({ mode: "AUTO" });
    expect(mode("none")).toEqual({ mode: "NONE" });
    expect(mode("required")).toEqual({ mode: "ANY" });
    expect(toGeminiRequest({ messages, response_format: { type: "json_object" } }, "gemini-2.5-flash").generationConfig).toEqual({ responseMimeType: "application/json" });
    expect(toGeminiRequest({ messages: [{ role: "system", content: "Tell a joke." }] }, "gemini-2.5-flash").contents).toEqual([{ role: "user", parts: [{ text: "Tell a joke." }] }]);
  });

  it("turns a tool-call history into functionCall/functionResponse turns, signatures carried back or stood in for", () => {
    const history = [
      { role: "user", content: "Weather in Paris and Oslo?" },
      {
        role: "assistant",
        content: null,
        tool_calls: [
          { id: "k3b9x2", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' }, extra_content: { google: { thought_signature: "c2lnLTE=" } } },
          { id: "p7q1w5", type: "function", function: { name: "get_time", arguments: "" } },
        ],
      },
      // Results in the other order than the calls: Gemini pairs by position, so they are put back in the calls' order.
      { role: "tool", tool_call_id: "p7q1w5", content: "12:00" },
      { role: "tool", tool_call_id: "k3b9x2", content: '{"temp":18}' },
      { role: "assistant", content: "Paris: 18°C." },
      { role: "user", content: "And Rome?" },
      // A turn from another provider (after a failover): no signature at all.
      { role: "assistant", content: null, tool_calls: [{ id: "toolu_01", type: "function", function: { name: "get_weather", arguments: '{"city":"Rome"}' } }] },
      { role: "tool", tool_call_id: "toolu_01", content: [{ type: "text", text: "21°C" }] },
      { role: "user", content: "And Oslo?" },
      // Gemini sent no id, so the gateway made one up: it is not Gemini's to map.
      { role: "assistant", content: null, tool_calls: [{ id: "call_r1_0_0", type: "function", function: { name: "get_weather", arguments: '{"city":"Oslo"}' }, extra_content: { google: { thought_signature: "c2lnLTI=" } } }] },
      { role: "tool", tool_call_id: "call_r1_0_0", content: "9°C" },
    ];
    // Gemini 3 issues ids and maps results to calls by them: they go back on both.
    expect(toGeminiRequest({ messages: history }, "gemini-3-pro-preview").contents).toEqual([
      { role: "user", parts: [{ text: "Weather in Paris and Oslo?" }] },
      { role: "model", parts: [{ functionCall: { id: "k3b9x2", name: "get_weather", args: { city: "Paris" } }, thoughtSignature: "c2lnLTE=" }, { functionCall: { id: "p7q1w5", name: "get_time", args: {} } }] },
      { role: "user", parts: [{ functionResponse: { id: "k3b9x2", name: "get_weather", response: { temp: 18 } } }, { functionResponse: { id: "p7q1w5", name: "get_time", response: { result: "12:00" } } }] },
      { role: "model", parts: [{ text: "Paris: 18°C." }] },
      { role: "user", parts: [{ text: "And Rome?" }] },
      { role: "model", parts: [{ functionCall: { id: "toolu_01", name: "get_weather", args: { city: "Rome" } }, thoughtSignature: "skip_thought_signature_validator" }] },
      // One turn per speaker change: the next question joins the tool result's turn.
      { role: "user", parts: [{ functionResponse: { id: "toolu_01", name: "get_weather", response: { result: "21°C" } } }, { text: "And Oslo?" }] },
      { role: "model", parts: [{ functionCall: { name: "get_weather", args: { city: "Oslo" } }, thoughtSignature: "c2lnLTI=" }] },
      { role: "user", parts: [{ functionResponse: { name: "get_weather", response: { result: "9°C" } } }] },
    ]);
    // Gemini 2.5 knows no ids: position alone pairs them.
    expect(toGeminiRequest({ messages: history.slice(0, 4) }, "models/gemini-2.5-flash").contents).toEqual([
      { role: "user", parts: [{ text: "Weather in Paris and Oslo?" }] },
      { role: "model", parts: [{ functionCall: { name: "get_weather", args: { city: "Paris" } }, thoughtSignature: "c2lnLTE=" }, { functionCall: { name: "get_time", args: {} } }] },
      { role: "user", parts: [{ functionResponse: { name: "get_weather", response: { temp: 18 } } }, { functionResponse: { name: "get_time", response: { result: "12:00" } } }] },
    ]);
  });

  it("pairs results by position across assistant messages that make one model turn", () => {
    const call = (id: string, name: string) => ({ role: "assistant", content: null, tool_calls: [{ id, type: "function", function: { name, arguments: "{}" } }] });
    const out = toGeminiRequest({ messages: [{ role: "user", content: "go" }, call("c1", "first"), call("c2", "second"), { role: "tool", tool_call_id: "c2", content: "2" }, { role: "tool", tool_call_id: "c1", content: "1" }] }, "gemini-2.5-flash");
    expect((out.contents as Array<{ parts: unknown[] }>)[2]?.parts).toEqual([
      { functionResponse: { name: "first", response: { result: "1" } } },
      { functionResponse: { name: "second", response: { result: "2" } } },
    ]);
  });

  it("maps reasoning_effort to thinkingLevel on Gemini 3 and thinkingBudget on 2.5", () => {
    const messages = [{ role: "user", content: "hi" }];
    const thinking = (model: string, reasoning_effort: string) => (toGeminiRequest({ messages, reasoning_effort }, model).generationConfig as { thinkingConfig?: unknown } | undefined)?.thinkingConfig;
    expect(thinking("gemini-3-pro-preview", "medium")).toEqual({ thinkingLevel: "high", includeThoughts: true });
    expect(thinking("gemini-3-flash-preview", "minimal")).toEqual({ thinkingLevel: "minimal", includeThoughts: true });
    expect(thinking("gemini-2.5-flash", "low")).toEqual({ thinkingBudget: 1024, includeThoughts: true });
    expect(thinking("gemini-2.5-flash", "none")).toEqual({ thinkingBudget: 0 });
    expect(thinking("gemini-2.5-pro", "none")).toEqual({ thinkingBudget: 128, includeThoughts: true });
    expect(thinking("gemini-2.0-flash", "high")).toBeUndefined();
    // The API's resource names, and the -latest aliases (Gemini 3 models now).
    expect(thinking("models/gemini-2.5-flash", "low")).toEqual({ thinkingBudget: 1024, includeThoughts: true });
    expect(thinking("models/gemini-3-pro-preview", "low")).toEqual({ thinkingLevel: "low", includeThoughts: true });
    expect(thinking("gemini-pro-latest", "medium")).toEqual({ thinkingLevel: "high", includeThoughts: true });
    expect(thinking("gemini-flash-latest", "minimal")).toEqual({ thinkingLevel: "minimal", includeThoughts: true });
    expect(thinking("models/gemini-flash-lite-latest", "medium")).toEqual({ thinkingLevel: "medium", includeThoughts: true });
  });

  it("refuses what it cannot translate with a 400 naming the parameter", () => {
    const messages = [{ role: "user", content: "hi" }];
    expect(refusal(() => toGeminiRequest({ messages, logprobs: true }, "gemini-2.5-flash")).param).toBe("logprobs");
    expect(refusal(() => toGeminiRequest({ messages, logit_bias: { "1": 5 } }, "gemini-2.5-flash")).param).toBe("logit_bias");
    expect(refusal(() => toGeminiRequest({ messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: "https://example.com/photo" } }] }] }, "gemini-2.5-flash")).param).toBe("messages[0].content[0]");
    // Not a URL at all, though it starts like one: a 400 naming the part, not a crash.
    for (const url of ["https://", "http://exa mple.com/a.png", "https://[::1/x.png"]) {
      const bad = refusal(() => toGeminiRequest({ messages: [{ role: "user", content: [{ type: "text", text: "see" }, { type: "image_url", image_url: { url } }] }] }, "gemini-2.5-flash"));
      expect([bad.status, bad.param, bad.message]).toEqual([400, "messages[0].content[1]", `'${url}' is not a valid URL.`]);
    }
    expect(refusal(() => toGeminiRequest({ messages: [{ role: "tool", tool_call_id: "nope", content: "x" }] }, "gemini-2.5-flash")).param).toBe("messages[0].tool_call_id");
    expect(refusal(() => toGeminiRequest({ messages, tools: [{ type: "custom", custom: { name: "x" } }] }, "gemini-2.5-flash")).param).toBe("tools[0]");
    const effort = refusal(() => toGeminiRequest({ messages, reasoning_effort: "extreme" }, "gemini-2.5-flash"));
    expect(effort.status).toBe(400);
    expect(effort.param).toBe("reasoning_effort");
  });
});

describe("Gemini response → OpenAI chat.completion", () => {
  it("joins text, keeps thoughts apart, turns function calls into tool_calls with ids and signatures", () => {
    const { completion, usage } = fromGeminiResponse(
      {
        candidates: [
          {
            content: {
              role: "model",
              parts: [
                { text: "Let me check the weather.", thought: true },
                { text: "Checking " },
                { text: "now." },
                { functionCall: { name: "get_weather", args: { city: "Paris" } }, thoughtSignature: "c2ln" },
              ],
            },
            finishReason: "STOP",
          },
        ],
        usageMetadata: { promptTokenCount: 120, candidatesTokenCount: 20, thoughtsTokenCount: 50, cachedContentTokenCount: 100, toolUsePromptTokenCount: 5, totalTokenCount: 195 },
        modelVersion: "gemini-3-pro-preview",
        responseId: "resp-1",
      },
      1700000000,
    );
    expect(completion).toEqual({
      id: "resp-1",
      object: "chat.completion",
      created: 1700000000,
      model: "gemini-3-pro-preview",
      choices: [
        {
          index: 0,
          message: {
            role: "assistant",
            content: "Checking now.",
            refusal: null,
            reasoning_content: "Let me check the weather.",
            tool_calls: [{ id: "call_resp-1_0_0", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' }, extra_content: { google: { thought_signature: "c2ln" } } }],
          },
          logprobs: null,
          finish_reason: "tool_calls",
        },
      ],
      usage,
    });
    // promptTokenCount already includes the cached tokens; tool-use prompts and thoughts are counted apart.
    expect(usage).toEqual({
      prompt_tokens: 125,
      completion_tokens: 70,
      total_tokens: 195,
      prompt_tokens_details: { cached_tokens: 100 },
      completion_tokens_details: { reasoning_tokens: 50 },
    });
  });

  it("maps finish reasons, and a blocked prompt to content null with content_filter", () => {
    const finish = (finishReason: string) =>
      (fromGeminiResponse({ candidates: [{ content: { parts: [{ text: "x" }] }, finishReason }] }, 1).completion.choices as Array<{ finish_reason: string }>)[0]?.finish_reason;
    expect(finish("STOP")).toBe("stop");
    expect(finish("MAX_TOKENS")).toBe("length");
    for (const filtered of ["SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "IMAGE_SAFETY"]) expect(finish(filtered)).toBe("content_filter");
    // After some text, a failed tool call still leaves an answer; with nothing at all, it is the provider's failure.
    expect(finish("MALFORMED_FUNCTION_CALL")).toBe("stop");
    for (const failed of ["MALFORMED_FUNCTION_CALL", "UNEXPECTED_TOOL_CALL", "TOO_MANY_TOOL_CALLS", "MISSING_THOUGHT_SIGNATURE", "MALFORMED_RESPONSE"]) {
      const empty = { candidates: [{ content: { parts: [{ text: "hmm", thought: true }] }, finishReason: failed, finishMessage: "Malformed function call: get_weather(" }] };
      expect(() => fromGeminiResponse(empty, 1)).toThrow(`Gemini ended its answer with ${failed} before any text or tool call (Malformed function call: get_weather(`);
    }
    const blocked = fromGeminiResponse({ promptFeedback: { blockReason: "SAFETY" }, usageMetadata: { promptTokenCount: 9, totalTokenCount: 9 } }, 1);
    expect(blocked.completion.choices).toEqual([{ index: 0, message: { role: "assistant", content: null, refusal: null }, logprobs: null, finish_reason: "content_filter" }]);
    expect(blocked.usage?.prompt_tokens).toBe(9);
  });
});

function translate(events: string[], clientWantsUsage: boolean, size = 7): { text: string; completed: boolean } {
  const translator = geminiStream({ clientWantsUsage, created: 1700000000 });
  const bytes = new TextEncoder().encode(events.join(""));
  let text = "";
  const decoder = new TextDecoder();
  const emit = (b: Uint8Array) => (text += decoder.decode(b));
  // Split at arbitrary points: events and characters cut across chunks must be reassembled.
  for (let i = 0; i < bytes.length; i += size) translator.push(bytes.slice(i, i + size), emit);
  const completed = translator.completed();
  if (completed) translator.end(emit);
  return { text, completed };
}

const sse = (data: unknown) => `data: ${JSON.stringify(data)}\r\n\r\n`;
const chunks = (text: string) => text.split("\n\n").filter((e) => e.startsWith("data: ")).map((e) => e.slice(6));

describe("Gemini stream → OpenAI chunks", () => {
  const usage = (candidates: number) => ({ promptTokenCount: 10, candidatesTokenCount: candidates, thoughtsTokenCount: 4, totalTokenCount: 14 + candidates });
  const events = [
    sse({ candidates: [{ content: { role: "model", parts: [{ text: "Thinking…", thought: true }] } }], usageMetadata: usage(0), modelVersion: "gemini-2.5-flash", responseId: "r1" }),
    sse({ candidates: [{ content: { role: "model", parts: [{ text: "Héllo " }] } }], usageMetadata: usage(1), modelVersion: "gemini-2.5-flash", responseId: "r1" }),
    sse({ candidates: [{ content: { role: "model", parts: [{ functionCall: { name: "a", args: { x: 1 } } }, { functionCall: { id: "fc-2", name: "b", args: {} } }] } }], usageMetadata: usage(6), modelVersion: "gemini-2.5-flash", responseId: "r1" }),
    sse({ candidates: [{ content: { role: "model", parts: [{ text: "" }] }, finishReason: "STOP" }], usageMetadata: usage(8), modelVersion: "gemini-2.5-flash", responseId: "r1" }),
  ];

  it("sends role, reasoning, text and whole tool calls with their own indexes, the finish, then usage (the last seen) and [DONE]", () => {
    const { text, completed } = translate(events, true);
    expect(completed).toBe(true);
    const data = chunks(text);
    expect(data.at(-1)).toBe("[DONE]");
    const parsed = data.slice(0, -1).map((d) => JSON.parse(d) as { id: string; model: string; choices: Array<{ delta: Record<string, unknown>; finish_reason: string | null }>; usage?: unknown });
    expect(parsed.every((c) => c.id === "r1" && c.model === "gemini-2.5-flash")).toBe(true);
    expect(parsed.map((c) => c.choices[0]?.delta ?? null)).toEqual([
      { role: "assistant", content: "" },
      { reasoning_content: "Thinking…" },
      { content: "Héllo " },
      { tool_calls: [{ index: 0, id: "call_r1_0_0", type: "function", function: { name: "a", arguments: '{"x":1}' } }] },
      { tool_calls: [{ index: 1, id: "fc-2", type: "function", function: { name: "b", arguments: "{}" } }] },
      {},
      null,
    ]);
    expect(parsed.at(-2)?.choices[0]?.finish_reason).toBe("tool_calls");
    expect(parsed.at(-1)?.usage).toEqual({ prompt_tokens: 10, completion_tokens: 12, total_tokens: 22, prompt_tokens_details: { cached_tokens: 0 }, completion_tokens_details: { reasoning_tokens: 4 } });
    expect(translate(events, false).text).not.toContain('"usage"');
  });

  it("is incomplete without a finishReason, and reports an error event in-band", () => {
    expect(translate(events.slice(0, 2), true).completed).toBe(false);
    const failed = translate([events[1] ?? "", sse({ error: { code: 503, message: "The model is overloaded. Please try again later.", status: "UNAVAILABLE" } })], true);
    expect(failed.completed).toBe(true);
    const last = chunks(failed.text).at(-1) ?? "";
    expect(JSON.parse(last)).toEqual({ error: { message: "The model is overloaded. Please try again later.", type: "server_error", param: null, code: "unavailable" } });
    expect(failed.text).not.toContain("[DONE]");

    const malformed = translate([events[0] ?? "", sse({ candidates: [{ content: {}, finishReason: "MALFORMED_FUNCTION_CALL", finishMessage: "Malformed function call: x(" }], responseId: "r1" })], true);
    expect(malformed.completed).toBe(true);
    expect(JSON.parse(chunks(malformed.text).at(-1) ?? "")).toEqual({
      error: { message: "Gemini ended its answer with MALFORMED_FUNCTION_CALL before any text or tool call (Malformed function call: x().", type: "upstream_error", param: null, code: "upstream_bad_response" },
    });
    expect(malformed.text).not.toContain("finish_reason\":\"stop");
  });
});

describe("Google errors → the gateway's classes", () => {
  it("reads status, reason, field and retry delay; a bad key and a barred account are reclassified", () => {
    expect(geminiErrorDetail({ code: 429, message: "quota", status: "RESOURCE_EXHAUSTED", details: [{ "@type": "type.googleapis.com/google.rpc.RetryInfo", retryDelay: "36.5s" }] })).toEqual({
      message: "quota", type: "rate_limit_error", code: "resource_exhausted", param: null, retryAfter: "37",
    });
    const badKey = geminiErrorDetail({ code: 400, message: "API key not valid. Please pass a valid API key.", status: "INVALID_ARGUMENT", details: [{ "@type": "type.googleapis.com/google.rpc.ErrorInfo", reason: "API_KEY_INVALID" }] });
    expect(badKey).toMatchObject({ code: "API_KEY_INVALID", status: 401 });
    expect(geminiErrorDetail({ code: 400, message: "User location is not supported for the API use.", status: "FAILED_PRECONDITION" }).status).toBe(403);
    expect(geminiErrorDetail({ code: 400, message: "Gemini API free tier is not available in your country. Please enable billing on your project in Google AI Studio.", status: "FAILED_PRECONDITION" }).status).toBe(403);
    expect(geminiErrorDetail({ code: 400, message: "The File abc123 is not in an ACTIVE state and usage is not allowed.", status: "FAILED_PRECONDITION" }).status).toBeUndefined();
    const missing = geminiErrorDetail({ code: 404, message: "models/gemini-1.0-pro is not found for API version v1beta, or is not supported for generateContent.", status: "NOT_FOUND" });
    expect(missing).toMatchObject({ type: "not_found_error", retryable: true });
    expect(geminiErrorDetail({ code: 404, message: "Requested entity was not found.", status: "NOT_FOUND" }).retryable).toBeUndefined();
    const invalid = geminiErrorDetail({ code: 400, message: "bad", status: "INVALID_ARGUMENT", details: [{ "@type": "type.googleapis.com/google.rpc.BadRequest", fieldViolations: [{ field: "contents[0]", description: "bad" }] }] });
    expect(invalid).toEqual({ message: "bad", type: "invalid_request_error", code: "invalid_argument", param: "contents[0]" });
  });
});
