import { describe, expect, it } from "vitest";
import { costNanos } from "../../src/metering/cost.ts";
import { IMAGE_TOKEN_BOUND, SERVER_TOOL_TOKEN_BOUND, TOOL_PROMPT_TOKEN_BOUND, imageTokenBound, inputBound, inputTokensOn, pdfPageTokenBound, type InputBound } from "../../src/metering/input-bound.ts";
import { pdfPages } from "../../src/metering/pdf-pages.ts";
import { chatRequestSchema } from "../../src/http/schemas.ts";
import { pdfBase64 } from "../support/pdf.ts";
import { nanosCeil } from "../../src/metering/money.ts";
import { priceOverrideSchema, toModelPrice, toPriceFields } from "../../src/metering/price-overrides.ts";
import { bundledPrice } from "../../src/metering/price-table.ts";
import type { ModelPrice } from "../../src/metering/types.ts";
import {
  DEFAULT_MAX_INPUT_TOKENS,
  DEFAULT_OUTPUT_TOKEN_BOUND,
  MAX_REQUESTED_OUTPUT_TOKENS,
  OUTPUT_TOKENS_PER_SEARCH,
  billableTiers,
  callTotal,
  callWorstCase,
  choicesOf,
  outputCap,
  requestBounds,
  type RequestBounds,
} from "../../src/metering/worst-case.ts";
import type { Usage } from "../../src/providers/types.ts";

/** The input bound's token count (metering/input-bound.ts). */
const inputTokenBound = async (body: Record<string, unknown>, bytes: number): Promise<number> => (await inputBound(body, bytes)).tokens;

/** Output tokens of all choices on a target that sends no cap of its own (metering/worst-case.ts outputCap × n); 0 for embeddings. */
const outputTokenBound = (body: Record<string, unknown>, p: ModelPrice): number =>
  !Array.isArray(body.messages) && body.input !== undefined ? 0 : outputCap(body, p, undefined) * choicesOf(body);

/** An input bound of `tokens` tokens of text (Infinity: unbounded). */
const textInput = (tokens: number): InputBound => ({ textBytes: tokens, countedTokens: 0, overheadTokens: 0, images: 0, pages: 0, unbounded: !Number.isFinite(tokens), audio: false, tokens });

/** One call's worst case at standard rates for `inputTokens` of text and `outputTokens`, in nano-dollars. */
const worstCaseNanos = (p: ModelPrice, inputTokens: number, outputTokens: number): number =>
  nanosCeil(
    callTotal(
      callWorstCase(
        { model: "", price: p, tiers: [p], outputCap: outputTokens, reasoningBeyondCap: false },
        { input: textInput(inputTokens), output: true, choices: 1, audioOutput: false, webSearch: null },
      ),
    ),
  );

/** A body as the gateway receives it: the object and its UTF-8 size on the wire. */
function sent(body: Record<string, unknown>): [Record<string, unknown>, number] {
  return [body, new TextEncoder().encode(JSON.stringify(body)).byteLength];
}

const price = (provider: string, model: string): ModelPrice => {
  const p = bundledPrice(provider, model);
  if (p === undefined) throw new Error(`no bundled price for ${provider}/${model}`);
  return p;
};

/** ~2 MB of base64, as a photo from a phone would be. */
const BIG_BASE64 = "iVBORw0KGgo".padEnd(2_000_000, "A");

describe("input token bound", () => {
  it("is the body's UTF-8 bytes for text, multi-byte characters included", async () => {
    const [body, bytes] = sent({ model: "openai/gpt-4o", messages: [{ role: "system", content: "Be brief." }, { role: "user", content: "Grüß Gott — 你好" }] });
    expect(await inputTokenBound(body, bytes)).toBe(bytes);
    expect(bytes).toBeGreaterThan(JSON.stringify(body).length);
  });

  it("counts an inline (data: URL) image as IMAGE_TOKEN_BOUND, not by its bytes", async () => {
    const url = `data:image/png;base64,${BIG_BASE64}`;
    const [body, bytes] = sent({
      model: "openai/gpt-4o",
      messages: [{ role: "user", content: [{ type: "text", text: "What is in this photo?" }, { type: "image_url", image_url: { url, detail: "high" } }] }],
    });
    const bound = await inputTokenBound(body, bytes);
    expect(bound).toBe(bytes - url.length + IMAGE_TOKEN_BOUND);
    expect(bound).toBeLessThan(5_000);
  });

  it("adds IMAGE_TOKEN_BOUND for an image sent by URL", async () => {
    const [body, bytes] = sent({ model: "openai/gpt-4o", messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: "https://example.com/cat.jpg" } }] }] });
    expect(await inputTokenBound(body, bytes)).toBe(bytes + IMAGE_TOKEN_BOUND);
  });

  it("keeps the byte count of audio and text files, whose bytes bound their tokens, and marks audio", async () => {
    const [body, bytes] = sent({
      model: "openai/gpt-4o-audio-preview",
      messages: [{ role: "user", content: [{ type: "input_audio", input_audio: { data: BIG_BASE64.slice(0, 10_000), format: "wav" } }, { type: "file", file: { filename: "a.csv", file_data: `data:text/csv;base64,${BIG_BASE64.slice(0, 10_000)}` } }] }],
    });
    const bound = await inputBound(body, bytes);
    expect(bound).toMatchObject({ textBytes: bytes, tokens: bytes, audio: true, unbounded: false });
    expect(inputTokensOn(bound, "gpt-4o-audio-preview")).toEqual({ tokens: bytes, estimate: Math.ceil(bytes / 4) });
    // An office document is a zip archive: its bytes bound nothing.
    const [docx, docxBytes] = sent({ messages: [{ role: "user", content: [{ type: "file", file: { filename: "a.docx", file_data: `data:application/vnd.openxmlformats-officedocument.wordprocessingml.document;base64,${BIG_BASE64.slice(0, 1_000)}` } }] }] });
    expect(await inputTokenBound(docx, docxBytes)).toBe(Infinity);
  });

  it("reads an Anthropic Messages body: base64 and URL images, images in tool results, system blocks, tools", async () => {
    const [body, bytes] = sent({
      model: "claude-sonnet-4-5",
      max_tokens: 1_024,
      system: [{ type: "text", text: "You are a careful assistant.", cache_control: { type: "ephemeral" } }],
      tools: [
        { name: "get_weather", description: "Weather for a city", input_schema: { type: "object", properties: { city: { type: "string" } } } },
        { type: "computer_20250124", name: "computer", display_width_px: 1024, display_height_px: 768 },
      ],
      messages: [
        { role: "user", content: [{ type: "image", source: { type: "base64", media_type: "image/png", data: BIG_BASE64 } }, { type: "text", text: "Describe it." }] },
        { role: "assistant", content: [{ type: "tool_use", id: "toolu_1", name: "computer", input: { action: "screenshot" } }] },
        {
          role: "user",
          content: [
            { type: "tool_result", tool_use_id: "toolu_1", content: [{ type: "image", source: { type: "base64", media_type: "image/png", data: BIG_BASE64.slice(0, 500_000) } }] },
            { type: "image", source: { type: "url", url: "https://example.com/chart.png" } },
          ],
        },
      ],
    });
    const expected = bytes - BIG_BASE64.length - 500_000 + 3 * IMAGE_TOKEN_BOUND + TOOL_PROMPT_TOKEN_BOUND + SERVER_TOOL_TOKEN_BOUND;
    expect(await inputTokenBound(body, bytes)).toBe(expected);
  });

  it("adds the tool-use system prompt for OpenAI function tools, counted by their bytes otherwise", async () => {
    const [body, bytes] = sent({
      model: "openai/gpt-4o",
      messages: [{ role: "user", content: "weather in Paris?" }],
      tools: [{ type: "function", function: { name: "get_weather", parameters: { type: "object", properties: { city: { type: "string" } } } } }],
    });
    expect(await inputTokenBound(body, bytes)).toBe(bytes + TOOL_PROMPT_TOKEN_BOUND);
  });

  it("is Infinity for input the body does not carry: documents and files by URL or id, server tools, remote MCP servers, cached content", async () => {
    const question = { type: "text", text: "Summarise it." };
    const unbounded: Array<[string, Record<string, unknown>]> = [
      ["Anthropic document by URL", { model: "claude-sonnet-4-5", max_tokens: 1_000, messages: [{ role: "user", content: [{ type: "document", source: { type: "url", url: "https://example.com/annual-report.pdf" } }, question] }] }],
      ["Anthropic document by Files API id", { model: "claude-sonnet-4-5", max_tokens: 1_000, messages: [{ role: "user", content: [{ type: "document", source: { type: "file", file_id: "file_011CNha8iCJcU1wXNR6q4V8w" } }, question] }] }],
      ["Anthropic document by URL in a tool result", { model: "claude-sonnet-4-5", max_tokens: 1_000, messages: [{ role: "user", content: [{ type: "tool_result", tool_use_id: "toolu_1", content: [{ type: "document", source: { type: "url", url: "https://example.com/a.pdf" } }] }] }] }],
      ["OpenAI file by file_id", { model: "openai/gpt-4o", messages: [{ role: "user", content: [{ type: "file", file: { file_id: "file-6F2ksmvXxt4VdoqmHRw6kL" } }, question] }] }],
      ["OpenAI file by file_url", { model: "openai/gpt-4o", messages: [{ role: "user", content: [{ type: "file", file: { file_url: "https://example.com/a.pdf" } }, question] }] }],
      ["a PDF by URL in image_url (Gemini reads it as a file)", { model: "gemini/gemini-2.5-pro", messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: "https://example.com/report.pdf" } }, question] }] }],
      ["Anthropic web_search server tool", { model: "claude-sonnet-4-5", max_tokens: 1_000, tools: [{ type: "web_search_20250305", name: "web_search", max_uses: 5 }], messages: [{ role: "user", content: "What happened today?" }] }],
      ["Anthropic web_fetch server tool", { model: "claude-sonnet-4-5", max_tokens: 1_000, tools: [{ type: "web_fetch_20250910", name: "web_fetch" }], messages: [{ role: "user", content: "Read https://example.com" }] }],
      ["Anthropic code execution server tool", { model: "claude-sonnet-4-5", max_tokens: 1_000, tools: [{ type: "code_execution_20250825", name: "code_execution" }], messages: [{ role: "user", content: "Plot it." }] }],
      ["Anthropic remote MCP servers", { model: "claude-sonnet-4-5", max_tokens: 1_000, mcp_servers: [{ type: "url", url: "https://mcp.example.com/sse", name: "docs" }], messages: [{ role: "user", content: "Look it up." }] }],
      ["Gemini cached content", { model: "gemini/gemini-2.5-pro", extra_body: { google: { cached_content: "cachedContents/abc123" } }, messages: [{ role: "user", content: "Summarise the cached book." }] }],
    ];
    for (const [what, raw] of unbounded) {
      const [body, bytes] = sent(raw);
      expect(await inputTokenBound(body, bytes), what).toBe(Infinity);
    }
    // Inline documents stay bounded by their bytes; client-run tools by their bytes and the documented overhead.
    const [inline, inlineBytes] = sent({ model: "claude-sonnet-4-5", max_tokens: 100, messages: [{ role: "user", content: [{ type: "document", source: { type: "text", media_type: "text/plain", data: "A short note." } }, question] }] });
    expect(await inputTokenBound(inline, inlineBytes)).toBe(inlineBytes);
    const [bash, bashBytes] = sent({ model: "claude-sonnet-4-5", max_tokens: 100, tools: [{ type: "bash_20250124", name: "bash" }], messages: [{ role: "user", content: "ls" }] });
    expect(await inputTokenBound(bash, bashBytes)).toBe(bashBytes + TOOL_PROMPT_TOKEN_BOUND + SERVER_TOOL_TOKEN_BOUND);
  });

  it("embeddings: text by its bytes, token-id arrays by their length", async () => {
    const [text, textBytes] = sent({ model: "openai/text-embedding-3-small", input: ["first document", "second document"] });
    expect(await inputTokenBound(text, textBytes)).toBe(textBytes);
    const [ids, idBytes] = sent({ model: "openai/text-embedding-3-small", input: [[15339, 1917, 0], [9906, 11, 1917, 0]] });
    expect(await inputTokenBound(ids, idBytes)).toBe(7);
    const [flat, flatBytes] = sent({ model: "openai/text-embedding-3-small", input: [15339, 1917] });
    expect(await inputTokenBound(flat, flatBytes)).toBe(2);
  });
});

describe("output token bound", () => {
  const gpt4o = price("openai", "gpt-4o");
  const chat = { messages: [{ role: "user", content: "hi" }] };

  it("takes max_completion_tokens, then max_tokens, then the model's cap, then the default", () => {
    expect(outputTokenBound({ ...chat, max_completion_tokens: 300, max_tokens: 50 }, gpt4o)).toBe(300);
    expect(outputTokenBound({ ...chat, max_tokens: 50 }, gpt4o)).toBe(50);
    expect(outputTokenBound(chat, gpt4o)).toBe(16_384);
    expect(outputTokenBound(chat, { input: 1, output: 2 })).toBe(DEFAULT_OUTPUT_TOKEN_BOUND);
    expect(outputTokenBound({ ...chat, max_tokens: "lots" }, gpt4o)).toBe(16_384);
  });

  it("multiplies by n choices", () => {
    expect(outputTokenBound({ ...chat, max_tokens: 100, n: 3 }, gpt4o)).toBe(300);
    expect(outputTokenBound({ ...chat, n: 2 }, gpt4o)).toBe(32_768);
    expect(outputTokenBound({ ...chat, max_tokens: 100, n: 1 }, gpt4o)).toBe(100);
  });

  it("is 0 for embeddings", () => {
    expect(outputTokenBound({ input: "text" }, price("openai", "text-embedding-3-small"))).toBe(0);
  });
});

describe("worst-case cost", () => {
  it("prices input at the dearest input-side rate and output at the dearer of output and reasoning, rounded up", () => {
    const sonnet = price("anthropic", "claude-sonnet-4-5");
    // 1,000 × max($3, $0.30, $3.75, $6 for 1-hour writes) + 500 × $15 = 6,000 + 7,500 = 13,500 µ$
    expect(worstCaseNanos(sonnet, 1_000, 500)).toBe(13_500_000);
    // above 200k, the long-context tier: 250,000 × $12 + 1,000 × $22.50 = 3,000,000 + 22,500 µ$
    expect(worstCaseNanos(sonnet, 250_000, 1_000)).toBe(3_022_500_000);
    // reasoning priced apart and dearer than output: 100 × $0.05 + 100 × $0.50 = 55 µ$
    expect(worstCaseNanos(price("qwen", "qwen-turbo"), 100, 100)).toBe(55_000);
    // 0.4 nanos → 1
    expect(worstCaseNanos({ input: 0.0004, output: 0 }, 1, 0)).toBe(1);
  });

  it("caps input at the model's context window: the whole window for unbounded input, and for any body above it", async () => {
    // claude-opus-4-5, a 200k window: 200,000 × $10 (1-hour writes, the dearest input) + 1,000 × $25 = 2,000,000 + 25,000 µ$
    const opus = price("anthropic", "claude-opus-4-5");
    expect(opus).toMatchObject({ maxInputTokens: 200_000, cacheWrite1h: 10, output: 25 });
    const [byUrl, byUrlBytes] = sent({ model: "claude-opus-4-5", max_tokens: 1_000, messages: [{ role: "user", content: [{ type: "document", source: { type: "url", url: "https://example.com/300-pages.pdf" } }] }] });
    expect(worstCaseNanos(opus, await inputTokenBound(byUrl, byUrlBytes), outputTokenBound(byUrl, opus))).toBe(2_025_000_000);

    // claude-sonnet-4 (1M window, long tier above 200k): 1,000,000 × $12 (the long tier's 1-hour write) + 1,000 × $22.50 = 12,000,000 + 22,500 µ$
    const sonnet4 = price("anthropic", "claude-sonnet-4-20250514");
    expect(sonnet4.maxInputTokens).toBe(1_000_000);
    const [search, searchBytes] = sent({ model: "claude-sonnet-4-20250514", max_tokens: 1_000, tools: [{ type: "web_search_20250305", name: "web_search" }], messages: [{ role: "user", content: "News?" }] });
    expect(worstCaseNanos(sonnet4, await inputTokenBound(search, searchBytes), outputTokenBound(search, sonnet4))).toBe(12_022_500_000);

    // gpt-4o, a 128k window: a file_id is 128,000 × $2.50 + 100 × $10 = 320,000 + 1,000 µ$
    const gpt4o = price("openai", "gpt-4o");
    expect(gpt4o.maxInputTokens).toBe(128_000);
    const [file, fileBytes] = sent({ model: "openai/gpt-4o", max_tokens: 100, messages: [{ role: "user", content: [{ type: "file", file: { file_id: "file-abc" } }] }] });
    expect(worstCaseNanos(gpt4o, await inputTokenBound(file, fileBytes), outputTokenBound(file, gpt4o))).toBe(321_000_000);

    // An ordinary body past the window costs no more than the window (the provider refuses it); below it, its bytes.
    expect(worstCaseNanos(gpt4o, 500_000, 100)).toBe(321_000_000);
    expect(worstCaseNanos(gpt4o, 100_000, 100)).toBe(251_000_000);

    // No window in the table (an override without one): DEFAULT_MAX_INPUT_TOKENS × $1 = 2,097,152 µ$
    expect(worstCaseNanos({ input: 1, output: 0 }, Infinity, 0)).toBe(DEFAULT_MAX_INPUT_TOKENS * 1_000);
  });

  it("an admin override's maxInputTokens caps the worst case, and must be above its long-context threshold", () => {
    const override = priceOverrideSchema.parse({ provider: "openai", model: "my-deployment", inputPerMTok: 2, outputPerMTok: 8, maxInputTokens: 64_000 });
    const p = toModelPrice(override);
    expect(p.maxInputTokens).toBe(64_000);
    expect(toPriceFields(p).maxInputTokens).toBe(64_000);
    // 64,000 × $2 = 128,000 µ$
    expect(worstCaseNanos(p, Infinity, 0)).toBe(128_000_000);
    const longTier = { thresholdTokens: 200_000, inputPerMTok: 4, outputPerMTok: 12 };
    const refused = priceOverrideSchema.safeParse({ ...override, longContext: longTier, maxInputTokens: 200_000 });
    expect(refused.success).toBe(false);
    expect(refused.error?.issues[0]?.path).toEqual(["maxInputTokens"]);
    expect(priceOverrideSchema.safeParse({ ...override, longContext: longTier, maxInputTokens: 1_000_000 }).success).toBe(true);
  });

  it("is never below the actual cost of any answer the bounds allow", async () => {
    const models: Array<[string, string]> = [
      ["anthropic", "claude-sonnet-4-5"],
      ["openai", "gpt-5.4"],
      ["gemini", "gemini-2.5-pro"],
      ["qwen", "qwen-turbo"],
      ["deepseek", "deepseek-reasoner"],
      ["bedrock", "us.anthropic.claude-sonnet-4-5-20250929-v1:0"],
    ];
    // A short chat and a long document (past every long-context threshold once tokens are ~¼ of bytes).
    const bodies = [
      sent({ messages: [{ role: "user", content: "Summarise the plot of Hamlet." }], max_completion_tokens: 2_000 }),
      sent({ messages: [{ role: "user", content: "Review this codebase: " + "const x = 1;\n".repeat(90_000) }], max_tokens: 8_000 }),
      sent({ messages: [{ role: "user", content: [{ type: "text", text: "What is this?" }, { type: "image_url", image_url: { url: `data:image/jpeg;base64,${BIG_BASE64}` } }] }] }),
      sent({ messages: [{ role: "user", content: [{ type: "file", file: { file_id: "file-abc" } }] }], max_tokens: 4_000 }),
    ];
    for (const [provider, model] of models) {
      const p = price(provider, model);
      for (const [body, bytes] of bodies) {
        const inBound = await inputTokenBound(body, bytes);
        const outBound = outputTokenBound(body, p);
        const worst = worstCaseNanos(p, inBound, outBound);
        // No prompt exceeds the context window: the provider refuses it.
        const most = Math.min(inBound, p.maxInputTokens ?? DEFAULT_MAX_INPUT_TOKENS);
        for (const prompt of [Math.floor(most / 4), most]) {
          const splits: Array<Usage["prompt_tokens_details"]> = [
            {},
            { cached_tokens: prompt },
            { cache_write_tokens: prompt },
            { cache_write_tokens: prompt, cache_write_1h_tokens: prompt },
            { cached_tokens: Math.floor(prompt / 2), cache_write_tokens: Math.floor(prompt / 3) },
          ];
          for (const details of splits) {
            for (const reasoning of [0, outBound]) {
              const usage: Usage = { prompt_tokens: prompt, completion_tokens: outBound, total_tokens: prompt + outBound, prompt_tokens_details: details, completion_tokens_details: { reasoning_tokens: reasoning } };
              expect(costNanos(p, usage), `${provider}/${model} ${prompt} ${JSON.stringify(details)}`).toBeLessThanOrEqual(worst);
            }
          }
        }
      }
    }
  });
});

describe("worst cases the audit found too low (issue 11)", () => {
  const bounds = (body: Record<string, unknown>, bytes: number) => inputBound(body, bytes).then((input) => requestBounds(body, input));
  const call = (p: ModelPrice, tiers: ModelPrice[] | null, cap: number, b: RequestBounds, model = ""): number =>
    nanosCeil(callTotal(callWorstCase({ model, price: p, tiers: tiers ?? [p], outputCap: cap, reasoningBeyondCap: false }, b)));

  it("bounds an inline PDF by its pages, plain or in compressed object streams; one it cannot read by the context window", async () => {
    for (const objectStreams of [false, true]) {
      const pdf = await pdfBase64(3, { objectStreams });
      const [body, bytes] = sent({ model: "claude-sonnet-4-5", max_tokens: 100, messages: [{ role: "user", content: [{ type: "document", source: { type: "base64", media_type: "application/pdf", data: pdf } }, { type: "text", text: "Summarise." }] }] });
      // the base64 leaves the count and 3 pages come in, each an image (4,096) and its text (3,000)
      expect(await inputBound(body, bytes), `object streams: ${objectStreams}`).toMatchObject({ pages: 3, tokens: bytes - pdf.length + 3 * 7_096 });
    }
    expect(pdfPageTokenBound("claude-sonnet-4-5")).toBe(7_096);
    // A hundred pages in a few kilobytes: their bytes would bound them at a fraction of their cost.
    const hundred = await pdfBase64(100, { objectStreams: true });
    expect(hundred.length).toBeLessThan(20_000);
    const [file, fileBytes] = sent({ messages: [{ role: "user", content: [{ type: "file", file: { filename: "a.pdf", file_data: `data:application/pdf;base64,${hundred}` } }] }] });
    expect((await inputBound(file, fileBytes)).tokens).toBe(fileBytes - `data:application/pdf;base64,${hundred}`.length + 100 * 7_096);
    // a PDF without a page tree is one page at most
    expect(await pdfPages(btoa("%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n%%EOF"))).toBe(1);
    // not a PDF, garbage: unbounded
    for (const data of ["bm90IGEgcGRm", "%%%"]) {
      const [odd, oddBytes] = sent({ messages: [{ role: "user", content: [{ type: "document", source: { type: "base64", media_type: "application/pdf", data } }] }] });
      expect((await inputBound(odd, oddBytes)).tokens, data).toBe(Infinity);
    }
  });

  it("a PDF crafted to hide its pages is counted by its page tree's entries, which readers follow, or not trusted at all", async () => {
    const plain = atob(await pdfBase64(6));
    const count = (pdf: string): Promise<number | null> => pdfPages(btoa(pdf));
    // What /Type and /Count claim does not matter: the six entries of /Kids do.
    expect(await count(plain.replace("/Count 6", "/Count 2"))).toBe(6);
    expect(await count(plain.replaceAll("/Type /Page ", "").replace("/Count 6", "/Count 1 0 R"))).toBe(6);
    expect(await count(plain.replaceAll("/Type /Page ", "/Type %x\n/Page "))).toBe(6);
    // one page listed a hundred times is read a hundred times
    expect(await count(plain.replace(/\/Kids \[[^\]]*\]/, `/Kids [${"3 0 R ".repeat(100)}]`))).toBe(100);
    // an object stream whose type is spelled with an escape is still read (its /First gives it away)
    expect(await pdfPages(btoa(atob(await pdfBase64(6, { objectStreams: true })).replace("/Type /ObjStm", "/Type /Obj#53tm")))).toBe(6);
    // Syntax that could hide entries from a plain reading: not trusted (the context window bounds it).
    for (const hidden of [
      plain.replace(/\/Kids \[[^\]]*\]/, `/Kids [${"<< /Contents 9 0 R >> ".repeat(100)}]`), // pages written in place
      plain.replace("/Kids [3 0 R", "/Kids [3 0 R % ]\n"), // a comment that ends the array for a plain match
      plain.replace("/Kids [", "/K#69ds ["), // an escaped name
      plain.replace(/\/Kids \[[^\]]*\]/, "/Kids 20 0 R"), // the array elsewhere
      plain.replace("/Kids [", "/Kids\0["), // a separator a plain match does not know
    ]) expect(await count(hidden), hidden.slice(0, 200)).toBeNull();
    // a well-formed file is counted exactly, in plain objects or object streams
    expect(await pdfPages(await pdfBase64(6))).toBe(6);
    expect(await pdfPages(await pdfBase64(6, { objectStreams: true }))).toBe(6);
  });

  it("a deflate bomb, or many PDFs, cost bounded work: past the budget the input is unbounded", async () => {
    // 64 MB of zeros in a tiny object stream
    const zeros = new Uint8Array(64 * 1024 * 1024);
    const packed = new Uint8Array(await new Response(new Blob([zeros]).stream().pipeThrough(new CompressionStream("deflate"))).arrayBuffer());
    let data = "";
    for (const b of packed) data += String.fromCharCode(b);
    const bomb = btoa(`%PDF-1.7\n1 0 obj\n<< /Type /ObjStm /N 1 /First 4 /Length ${packed.length} /Filter /FlateDecode >>\nstream\n${data}\nendstream\nendobj\n%%EOF\n`);
    const started = Date.now();
    expect(await pdfPages(bomb)).toBeNull();
    expect(Date.now() - started).toBeLessThan(2_000);
    const many = await pdfBase64(1);
    const [body, bytes] = sent({ messages: [{ role: "user", content: Array.from({ length: 40 }, () => ({ type: "file", file: { filename: "a.pdf", file_data: `data:application/pdf;base64,${many}` } })) }] });
    expect((await inputBound(body, bytes)).unbounded).toBe(true);
  });

  it("a video is bounded by the context window (Gemini bills its length, not its bytes), and gpt-4o-mini images by their own bound", async () => {
    const [video, videoBytes] = sent({ messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: "data:video/mp4;base64,AAAAIGZ0eXBpc29t" } }] }] });
    expect(await inputBound(video, videoBytes)).toMatchObject({ unbounded: true, audio: true });
    const mini = price("openai", "gpt-4o-mini");
    expect(imageTokenBound("gpt-4o-mini")).toBe(48_169);
    const [photo, photoBytes] = sent({ messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: "https://example.com/a.png" } }] }], max_tokens: 10 });
    // bytes + 48,169 image tokens at $0.15 + 10 × $0.60 (at gpt-4o's 4,096 it would reserve $0.0006 for a $0.007 image)
    expect(call(mini, null, 10, await bounds(photo, photoBytes), "gpt-4o-mini")).toBe(Math.ceil((photoBytes + 48_169) * 150 + 10 * 600));
  });

  it("reserves audio input and output at the audio rates when the request may carry or ask for audio", async () => {
    const audio = price("openai", "gpt-4o-audio-preview");
    const [text, textBytes] = sent({ messages: [{ role: "user", content: "hi" }], max_completion_tokens: 1_000 });
    const [spoken, spokenBytes] = sent({ modalities: ["text", "audio"], audio: { voice: "alloy", format: "wav" }, messages: [{ role: "user", content: [{ type: "input_audio", input_audio: { data: "UklGRg==", format: "wav" } }] }], max_completion_tokens: 1_000 });
    // text only: input × $2.50 + 1,000 × $10
    expect(call(audio, null, 1_000, await bounds(text, textBytes))).toBe(textBytes * 2_500 + 10_000_000);
    // audio both ways: input × $40 + 1,000 × $80
    expect(call(audio, null, 1_000, await bounds(spoken, spokenBytes))).toBe(spokenBytes * 40_000 + 80_000_000);
  });

  it("reserves at the tier a request asks for: priority at the dearer of priority and standard, flex at flex", async () => {
    const gpt = price("openai", "gpt-5.6");
    const [body, bytes] = sent({ messages: [{ role: "user", content: "hi" }], max_completion_tokens: 1_000 });
    const b = await bounds(body, bytes);
    const [standard, priority, flex] = [billableTiers(gpt, null), billableTiers(gpt, "priority"), billableTiers(gpt, "flex")];
    // input at the dearest input-side rate of the tier (cache writes: $6.25, $12.50, $3.125) + 1,000 × output ($30, $60, $15)
    expect(call(gpt, standard, 1_000, b)).toBe(bytes * 6_250 + 30_000_000);
    expect(call(gpt, priority, 1_000, b)).toBe(bytes * 12_500 + 60_000_000);
    expect(call(gpt, flex, 1_000, b)).toBe(bytes * 3_125 + 15_000_000);
    // a tier the model has no rates for cannot be bounded
    expect(billableTiers(price("xai", "grok-4.3"), "priority")).toBeNull();
  });

  it("reserves per-use fees: a web search tool's searches (max_uses, else what the output cap allows), a request fee at the dearest size", async () => {
    const sonnet = price("anthropic", "claude-sonnet-4-5");
    const chat = { max_tokens: 1_000, messages: [{ role: "user", content: "News?" }] };
    const [plain, plainBytes] = sent(chat);
    // no search tool: no search fee
    expect(call(sonnet, null, 1_000, await bounds(plain, plainBytes))).toBe(plainBytes * 6_000 + 15_000_000);
    const withSearch = async (tool: Record<string, unknown>): Promise<number> => {
      const [body, bytes] = sent({ ...chat, tools: [{ type: "web_search_20250305", name: "web_search", ...tool }] });
      return call(sonnet, null, 1_000, await bounds(body, bytes));
    };
    // the whole context window (no maxInputTokens in the table: DEFAULT_MAX_INPUT_TOKENS) × $12 (1-hour writes above 200k) + 1,000 × $22.50, + searches × $0.01
    const base = DEFAULT_MAX_INPUT_TOKENS * 12_000 + 22_500_000;
    // with max_uses 5, each search may be a pass of its own over the whole window: 6 windows of input
    expect(await withSearch({ max_uses: 5 })).toBe(DEFAULT_MAX_INPUT_TOKENS * 12_000 * 6 + 22_500_000 + 5 * 10_000_000);
    expect(await withSearch({})).toBe(base + Math.ceil(1_000 / OUTPUT_TOKENS_PER_SEARCH) * 10_000_000);
    const sonar = price("perplexity", "sonar");
    const [ask, askBytes] = sent({ messages: [{ role: "user", content: "News?" }], max_tokens: 100 });
    // input × $1 + 100 × $1 + the high context size's $0.012
    expect(call(sonar, null, 100, await bounds(ask, askBytes))).toBe(askBytes * 1_000 + 100_000 + 12_000_000);
  });

  it("OpenAI's web search tools: max_tool_calls bounds their calls; with the preview tool offered, each is reserved at the dearer fee", () => {
    const gpt41 = price("openai", "gpt-4.1");
    const worst = (body: Record<string, unknown>, maxToolCalls?: number) => callWorstCase({ model: "gpt-4.1", price: gpt41, tiers: [gpt41], outputCap: 1_000, reasoningBeyondCap: false }, requestBounds(body, textInput(Infinity), maxToolCalls));
    // max_tool_calls 5: 5 × $0.01 = 50,000,000 nanos (in pico-dollars, × 1,000)
    expect(Number(worst({ tools: [{ type: "web_search" }] }, 5).fees)).toBe(5 * 10_000_000 * 1_000);
    // and 6 passes over gpt-4.1's whole window (1,047,576 tokens) at $2: 6 × 2,095,152,000 nanos
    expect(Number(worst({ tools: [{ type: "web_search" }] }, 5).input)).toBe(6 * 1_047_576 * 2_000 * 1_000);
    // the preview tool on a model that does not reason: 5 × $0.025
    expect(Number(worst({ tools: [{ type: "web_search" }, { type: "web_search_preview" }] }, 5).fees)).toBe(5 * 25_000_000 * 1_000);
    // no max_tool_calls: the output cap bounds them, 1,000 / 8 = 125 searches × $0.01 (a body's own max_tool_calls is no bound)
    expect(Number(worst({ tools: [{ type: "web_search" }], max_tool_calls: 5 }).fees)).toBe(125 * 10_000_000 * 1_000);
  });

  it("a web search tool's max_uses too large to count is bounded, never a throw", async () => {
    const sonnet = price("anthropic", "claude-sonnet-4-5");
    const tools = [{ type: "web_search_20250305", name: "a", max_uses: 1e308 }, { type: "web_search_20250305", name: "b", max_uses: 1e308 }];
    const [body, bytes] = sent({ max_tokens: 10, tools, messages: [{ role: "user", content: "hi" }] });
    expect(call(sonnet, null, 10, await bounds(body, bytes))).toBe(Number.MAX_SAFE_INTEGER);
  });

  it("reserves the larger of max_completion_tokens and max_tokens when both are sent (providers read one or the other), and the window when no cap is known", () => {
    expect(outputCap({ max_completion_tokens: 16, max_tokens: 100_000 }, price("openai", "gpt-4o"), undefined)).toBe(100_000);
    expect(outputCap({}, { input: 1, output: 1, maxInputTokens: 262_144 }, undefined)).toBe(262_144);
    expect(outputCap({}, { input: 1, output: 1 }, undefined)).toBe(DEFAULT_OUTPUT_TOKEN_BOUND);
  });

  it("a huge price, window or cap never makes an amount that is not exact: it saturates, and the cap a client may send is bounded", async () => {
    const override = toModelPrice(priceOverrideSchema.parse({ provider: "openai", model: "absurd", inputPerMTok: 100_000, outputPerMTok: 100_000, maxInputTokens: 100_000_000 }));
    const [body, bytes] = sent({ messages: [{ role: "user", content: [{ type: "file", file: { file_id: "file-x" } }] }], max_tokens: MAX_REQUESTED_OUTPUT_TOKENS, n: 128 });
    expect(call(override, null, MAX_REQUESTED_OUTPUT_TOKENS, await bounds(body, bytes))).toBe(Number.MAX_SAFE_INTEGER);
    expect(chatRequestSchema.safeParse({ model: "m", messages: [{ role: "user", content: "hi" }], max_tokens: 1e15 }).success).toBe(false);
    expect(chatRequestSchema.safeParse({ model: "m", messages: [{ role: "user", content: "hi" }], max_tokens: MAX_REQUESTED_OUTPUT_TOKENS }).success).toBe(true);
  });
});
