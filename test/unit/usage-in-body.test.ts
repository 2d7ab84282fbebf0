import { describe, expect, it } from "vitest";
import { usageInBody, withCostInBody } from "../../src/providers/openai-compatible/usage-in-body.ts";

const enc = (value: unknown, space?: number) => new TextEncoder().encode(JSON.stringify(value, null, space));
const usage = { prompt_tokens: 12, completion_tokens: 30, total_tokens: 42, prompt_tokens_details: { cached_tokens: 4 }, completion_tokens_details: { reasoning_tokens: 10 } };

describe("usage read from the end of a non-streamed answer", () => {
  it("finds the top-level usage, compact or pretty-printed, and passes the bytes on unchanged", () => {
    for (const space of [undefined, 2]) {
      const bytes = enc({ id: "x", choices: [{ message: { role: "assistant", content: "hi" } }], usage, system_fingerprint: "fp" }, space);
      const read = usageInBody(bytes);
      expect(read.body).toBe(bytes);
      expect(read.usage).toEqual(usage);
    }
  });

  it("is not fooled by 'usage' inside strings or tool arguments", () => {
    const tricky = {
      choices: [{ message: { content: 'say "usage": {"prompt_tokens": 999}', tool_calls: [{ function: { arguments: '{"usage":{"prompt_tokens":5}}' } }] } }],
      usage: { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 },
    };
    expect(usageInBody(enc(tricky)).usage).toEqual({ prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 });
    const noUsage = { choices: [{ message: { content: '"usage": {"prompt_tokens": 7}' } }] };
    expect(usageInBody(enc(noUsage)).usage).toBeNull();
  });

  it("takes the root's usage, not one nested in a provider's own field after it", () => {
    const body = { choices: [], usage: { prompt_tokens: 10, completion_tokens: 20, total_tokens: 30 }, x_provider: { usage: { prompt_tokens: 1, completion_tokens: 1 } }, meta: { usage: {} } };
    expect(usageInBody(enc(body)).usage).toEqual({ prompt_tokens: 10, completion_tokens: 20, total_tokens: 30 });
    expect(usageInBody(new TextEncoder().encode('{"choices":[],"usage":\n  {"prompt_tokens": 2, "completion_tokens": 3}\n}')).usage?.total_tokens).toBe(5);
  });

  it("reads embeddings usage after a large data array", () => {
    const data = Array.from({ length: 200 }, (_, i) => ({ object: "embedding", index: i, embedding: Array.from({ length: 64 }, () => Math.random()) }));
    expect(usageInBody(enc({ object: "list", data, usage: { prompt_tokens: 50, total_tokens: 50 } })).usage).toEqual({
      prompt_tokens: 50,
      completion_tokens: 0,
      total_tokens: 50,
    });
  });

  it("refuses a body that is not a JSON object", () => {
    expect(() => usageInBody(new TextEncoder().encode("<html>down</html>"))).toThrow();
    expect(() => usageInBody(new TextEncoder().encode(""))).toThrow();
  });
});

describe("the gateway's cost written into a non-streamed answer", () => {
  const text = (pieces: Uint8Array[]): string => pieces.map((piece) => new TextDecoder().decode(piece)).join("");

  it("sends the answer's bytes around the usage object as views of it, never a copy", () => {
    const bytes = new TextEncoder().encode('{"choices":[{"message":{"content":"hi"}}],"usage":{"prompt_tokens":1},"id":"x"}');
    const [before, usageObject, after] = withCostInBody({ body: bytes, usage: null }, 0.5);
    expect(before?.buffer).toBe(bytes.buffer);
    expect(after?.buffer).toBe(bytes.buffer);
    expect(new TextDecoder().decode(usageObject)).toBe('{"prompt_tokens":1,"cost":0.5}');
  });

  it("adds cost to the root usage object and leaves the rest of the bytes alone", () => {
    const body = '{"id":"x","choices":[{"message":{"content":"usage: {\\"a\\":1}"}}],\n "usage": {"prompt_tokens": 3, "completion_tokens": 2} }';
    const out = JSON.parse(text(withCostInBody({ body, usage: null }, 0.000123))) as { usage: Record<string, number>; choices: unknown };
    expect(out.usage).toEqual({ prompt_tokens: 3, completion_tokens: 2, cost: 0.000123 });
    expect(text(withCostInBody({ body, usage: null }, 0.000123)).startsWith('{"id":"x","choices":[{"message":{"content":"usage: {\\"a\\":1}"}}],\n "usage": {')).toBe(true);
  });

  it("replaces a cost the provider reported rather than writing the key twice", () => {
    const out = text(withCostInBody({ body: '{"usage":{"prompt_tokens":1,"cost":0.5}}', usage: null }, 0.25));
    expect(out).toBe('{"usage":{"prompt_tokens":1,"cost":0.25}}');
  });

  it("fills an empty usage object, and leaves answers without one (or with usage: null) as they are", () => {
    expect(text(withCostInBody({ body: '{"usage":{}}', usage: null }, 1e-9))).toBe('{"usage":{"cost":1e-9}}');
    expect(text(withCostInBody({ body: '{"usage":null}', usage: null }, 1))).toBe('{"usage":null}');
    expect(text(withCostInBody({ body: '{"data":[],"meta":{"usage":{"x":1}}}', usage: null }, 1))).toBe('{"data":[],"meta":{"usage":{"x":1}}}');
  });
});
