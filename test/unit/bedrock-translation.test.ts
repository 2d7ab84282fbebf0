/** OpenAI request → Converse request, against Converse's documented request format. */
import { describe, expect, it } from "vitest";
import { GatewayError } from "../../src/http/errors.ts";
import { toConverseRequest } from "../../src/providers/bedrock/request.ts";

const CLAUDE = "us.anthropic.claude-sonnet-4-5-20250929-v1:0";
const NOVA = "amazon.nova-pro-v1:0";
const PNG = "iVBORw0KGgo=";
/** The output cap the gateway reserved (metering outputCap), sent for Claude when the body sets none. */
const CAP = 4_096;

function refusal(body: Record<string, unknown>, model = NOVA): { status: number; param: string | null; message: string } {
  try {
    toConverseRequest(body, model, CAP);
  } catch (err) {
    if (err instanceof GatewayError) return { status: err.status, param: err.param, message: err.message };
    throw err;
  }
  throw new Error("not refused");
}

describe("OpenAI → Converse request", () => {
  it("builds content blocks: text, data: URL images, documents; merges roles so they alternate; drops unknown fields", () => {
    const out = toConverseRequest({
      model: "x", user: "u", seed: 1, vendor_param: true, stream: true,
      messages: [
        { role: "developer", content: [{ type: "text", text: "Rules." }] },
        { role: "user", content: "One" },
        { role: "user", content: [{ type: "text", text: "Two" }, { type: "image_url", image_url: { url: `data:image/png;base64,${PNG}` } }, { type: "text", text: "  " }] },
        { role: "user", content: [{ type: "file", file: { filename: "report.v2.pdf", file_data: "data:application/pdf;base64,JVBERi0=" } }] },
      ],
      guardrailConfig: { guardrailIdentifier: "g1", guardrailVersion: "1" },
    }, NOVA, CAP);
    expect(out).toEqual({
      guardrailConfig: { guardrailIdentifier: "g1", guardrailVersion: "1" },
      system: [{ text: "Rules." }],
      messages: [{ role: "user", content: [
        { text: "One" }, { text: "Two" }, { image: { format: "png", source: { bytes: PNG } } },
        { document: { format: "pdf", name: "report v2", source: { bytes: "JVBERi0=" } } },
      ] }],
    });
  });

  it("translates tools and tool_choice (auto, required, named)", () => {
    const tools = [{ type: "function", function: { name: "f", parameters: { type: "object", properties: { a: { type: "string" } } }, strict: true } }, { type: "function", function: { name: "g" } }];
    const base = { messages: [{ role: "user", content: "hi" }], tools };
    const specs = [
      { toolSpec: { name: "f", inputSchema: { json: { type: "object", properties: { a: { type: "string" } } } }, strict: true } },
      { toolSpec: { name: "g", inputSchema: { json: { type: "object", properties: {} } } } },
    ];
    expect(toConverseRequest(base, NOVA, CAP).toolConfig).toEqual({ tools: specs });
    expect(toConverseRequest({ ...base, tool_choice: "auto" }, NOVA, CAP).toolConfig).toEqual({ tools: specs, toolChoice: { auto: {} } });
    expect(toConverseRequest({ ...base, tool_choice: "required" }, NOVA, CAP).toolConfig).toEqual({ tools: specs, toolChoice: { any: {} } });
    expect(toConverseRequest({ ...base, tool_choice: { type: "function", function: { name: "g" } } }, NOVA, CAP).toolConfig).toEqual({ tools: specs, toolChoice: { tool: { name: "g" } } });
    // "none" without tool history: no tools at all, so none can be called.
    expect(toConverseRequest({ ...base, tool_choice: "none" }, NOVA, CAP).toolConfig).toBeUndefined();
  });

  it("translates response_format json_schema into structured output (schema as a JSON string)", () => {
    const schema = { type: "object", properties: { n: { type: "number" } } };
    const out = toConverseRequest({ messages: [{ role: "user", content: "hi" }], response_format: { type: "json_schema", json_schema: { name: "num", schema } } }, NOVA, CAP);
    expect(out.outputConfig).toEqual({ textFormat: { type: "json_schema", structure: { jsonSchema: { schema: JSON.stringify(schema), name: "num" } } } });
  });

  it("turns reasoning_effort into a thinking budget for Claude models only", () => {
    const body = { messages: [{ role: "user", content: "hi" }], reasoning_effort: "low", temperature: 0.3 };
    const claude = toConverseRequest(body, CLAUDE, CAP);
    expect(claude.additionalModelRequestFields).toEqual({ thinking: { type: "enabled", budget_tokens: 2048 } });
    // The cap reserved for the request is the cap sent (one function decides both: metering outputCap).
    expect(claude.inferenceConfig).toEqual({ maxTokens: CAP });
    expect(toConverseRequest(body, NOVA, CAP).additionalModelRequestFields).toBeUndefined();
    // An inherited name is no effort: refused, the temperature untouched on the way.
    expect(refusal({ ...body, reasoning_effort: "constructor" }, CLAUDE)).toMatchObject({ status: 400, param: "reasoning_effort" });
    expect(toConverseRequest({ ...body, reasoning_effort: "none" }, CLAUDE, CAP).inferenceConfig).toEqual({ maxTokens: CAP, temperature: 0.3 });
  });

  it("always sends Claude the output cap it was given when the body sets none (Converse's own default is the model's maximum); other models get none", () => {
    const body = { messages: [{ role: "user", content: "hi" }] };
    expect(toConverseRequest(body, CLAUDE, 8_192).inferenceConfig).toEqual({ maxTokens: 8_192 });
    expect(toConverseRequest({ ...body, max_tokens: 100 }, CLAUDE, 8_192).inferenceConfig).toEqual({ maxTokens: 100 });
    expect(toConverseRequest(body, NOVA, 8_192).inferenceConfig).toBeUndefined();
  });

  it("names documents apart across the whole request, cut to Converse's characters and 200 of them", () => {
    const file = (filename?: string) => ({ type: "file", file: { ...(filename === undefined ? {} : { filename }), file_data: "data:text/plain;base64,aGk=" } });
    const out = toConverseRequest({
      messages: [
        { role: "user", content: [file("notes.txt"), file("notes.txt"), file(".txt"), file()] },
        { role: "assistant", content: "ok" },
        { role: "user", content: [file("NOTES.md"), file("\u3000tab\there\u00e9.txt"), file(`${"z".repeat(300)}.txt`)] },
      ],
    }, NOVA, CAP);
    const names = (out.messages as Array<{ content: Array<{ document?: { name: string } }> }>).flatMap((m) => m.content.flatMap((b) => (b.document ? [b.document.name] : [])));
    expect(names).toEqual(["notes", "notes (2)", "document", "document (2)", "NOTES (3)", "tab here", "z".repeat(200)]);
    expect(refusal({ messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: "data:constructor;base64,AA==" } }] }] }).message).toContain("'constructor'");
  });

  it("refuses what Converse cannot take, naming the parameter", () => {
    const hi = [{ role: "user", content: "hi" }];
    expect(refusal({ messages: hi, n: 2 })).toMatchObject({ status: 400, param: "n" });
    expect(refusal({ messages: hi, response_format: { type: "json_object" } })).toMatchObject({ param: "response_format" });
    expect(refusal({ messages: hi, parallel_tool_calls: false })).toMatchObject({ param: "parallel_tool_calls" });
    expect(refusal({ messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: "https://example.com/cat.png" } }] }] }).message).toContain("not by URL");
    expect(refusal({ messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: "data:image/bmp;base64,Qk0=" } }] }] }).message).toContain("image/bmp");
    const history = [
      ...hi,
      { role: "assistant", tool_calls: [{ id: "c1", type: "function", function: { name: "f", arguments: "{}" } }] },
      { role: "tool", tool_call_id: "c1", content: "ok" },
    ];
    expect(refusal({ messages: history, tools: [{ type: "function", function: { name: "f" } }], tool_choice: "none" })).toMatchObject({ param: "tool_choice" });
    expect(refusal({ messages: history })).toMatchObject({ param: "tools" });
  });
});
