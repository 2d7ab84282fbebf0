import { describe, expect, it } from "vitest";
import { openAICompatibleStream } from "../../src/providers/openai-compatible/stream.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

function chunk(obj: unknown): string {
  return `data: ${JSON.stringify(obj)}\n\n`;
}

const base = { id: "chatcmpl-1", object: "chat.completion.chunk", created: 1, model: "m" };
const content = (text: string) => chunk({ ...base, choices: [{ index: 0, delta: { content: text }, finish_reason: null }], usage: null });
const finish = chunk({ ...base, choices: [{ index: 0, delta: {}, finish_reason: "stop" }], usage: null });
const usageOnly = chunk({ ...base, choices: [], usage: { prompt_tokens: 11, completion_tokens: 7, total_tokens: 18 } });
const DONE = "data: [DONE]\n\n";

/** Feeds `text` in pieces of `size` bytes and returns what reached the client. */
function run(text: string, size: number, clientWantsUsage: boolean, endsWithDone = true) {
  const translator = openAICompatibleStream({ clientWantsUsage, endsWithDone });
  const bytes = enc.encode(text);
  let out = "";
  const emit = (b: Uint8Array) => {
    out += dec.decode(b);
  };
  for (let i = 0; i < bytes.length; i += size) translator.push(bytes.slice(i, i + size), emit);
  translator.end(emit);
  return { out, usage: translator.usage(), completed: translator.completed() };
}

describe("OpenAI-compatible stream relay", () => {
  const upstream = content("Hel") + content("lo") + finish + usageOnly + DONE;

  it("forwards every byte and reads usage when the client asked for usage", () => {
    const { out, usage, completed } = run(upstream, 1 << 20, true);
    expect(out).toBe(upstream);
    expect(usage).toEqual({ prompt_tokens: 11, completion_tokens: 7, total_tokens: 18 });
    expect(completed).toBe(true);
  });

  it("removes only the usage-only event when the client did not ask for usage", () => {
    const { out, usage } = run(upstream, 1 << 20, false);
    expect(out).toBe(content("Hel") + content("lo") + finish + DONE);
    expect(usage?.total_tokens).toBe(18);
  });

  it("gives the same bytes and usage whatever the chunking (events split anywhere)", () => {
    for (const size of [1, 2, 3, 7, 16, 61, 200]) {
      expect(run(upstream, size, false).out).toBe(content("Hel") + content("lo") + finish + DONE);
      expect(run(upstream, size, true).out).toBe(upstream);
      expect(run(upstream, size, false).usage?.completion_tokens).toBe(7);
    }
  });

  it("reads usage written with spaces and CRLF framing (Python-style providers)", () => {
    const text =
      'data: {"choices": [{"index": 0, "delta": {"content": "x"}}]}\r\n\r\n' +
      'data: {"choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}}\r\n\r\n' +
      "data: [DONE]\r\n\r\n";
    const { out, usage, completed } = run(text, 5, false);
    expect(usage).toEqual({ prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 });
    expect(out).not.toContain("prompt_tokens");
    expect(out).toContain('"content": "x"');
    expect(completed).toBe(true);
  });

  it("keeps usage that rides on a content chunk (Mistral, Together) and reads it", () => {
    const last = chunk({ ...base, choices: [{ index: 0, delta: {}, finish_reason: "stop" }], usage: { prompt_tokens: 4, completion_tokens: 1, total_tokens: 5 } });
    const { out, usage } = run(content("a") + last + DONE, 9, false);
    expect(out).toBe(content("a") + last + DONE);
    expect(usage?.prompt_tokens).toBe(4);
  });

  it("normalises cache and reasoning details, and treats missing usage as unknown", () => {
    const detailed = chunk({
      ...base,
      choices: [],
      usage: { prompt_tokens: 100, completion_tokens: 50, total_tokens: 150, prompt_tokens_details: { cached_tokens: 60 }, completion_tokens_details: { reasoning_tokens: 20 } },
    });
    expect(run(content("a") + detailed + DONE, 4, true).usage).toEqual({
      prompt_tokens: 100,
      completion_tokens: 50,
      total_tokens: 150,
      prompt_tokens_details: { cached_tokens: 60 },
      completion_tokens_details: { reasoning_tokens: 20 },
    });
    const none = run(content("a") + finish + DONE, 4, true);
    expect(none.usage).toBeNull();
  });

  it("reports a stream that ended without [DONE] as not completed, unless the provider never sends [DONE]", () => {
    expect(run(content("a") + finish, 3, false).completed).toBe(false);
    expect(run(content("a") + finish, 3, false, false).completed).toBe(true);
    expect(run(content("a") + "data:[DONE]\n\n", 3, false).completed).toBe(true);
    expect(run(content("a") + "data: [DONE]", 3, false).completed).toBe(true); // no blank line after it
    expect(run(content("a") + "data: [DONE]\n\n: keep-alive\n\n", 3, false).completed).toBe(true);
    expect(run(content('data: [DONE] is how SSE streams end'), 3, false).completed).toBe(false);
  });

  it("holds an incomplete event back, and drops it when the stream fails", () => {
    const translator = openAICompatibleStream({ clientWantsUsage: false, endsWithDone: true });
    let out = "";
    const emit = (b: Uint8Array) => (out += dec.decode(b));
    translator.push(enc.encode(content("a") + 'data: {"choices":[{"delta":{"con'), emit);
    expect(out).toBe(content("a"));
    translator.discardPartial();
    translator.end(emit);
    expect(out).toBe(content("a"));
  });

  it("relays bytes with no event boundary instead of buffering them without limit, still scanning the events before", () => {
    const translator = openAICompatibleStream({ clientWantsUsage: false, endsWithDone: true });
    let out = "";
    const emit = (b: Uint8Array) => (out += dec.decode(b));
    const blob = "a".repeat(700 * 1024);
    translator.push(enc.encode(content("x") + usageOnly + blob), emit);
    translator.push(enc.encode(blob), emit);
    expect(out).toBe(content("x") + blob + blob);
    expect(translator.usage()?.total_tokens).toBe(18);
  });
});
