/**
 * Issue 12, item 2: no body a client sends can take an isolate's memory or
 * stack. Its structure is bounded before it is parsed (src/http/json-shape.ts),
 * and a provider's non-streamed answer is bounded and not copied to add the cost.
 */
import { describe, expect, it } from "vitest";
import { checkJsonShape } from "../../src/http/json-shape.ts";
import { admin, gateway, json, scriptUpstream, testEnv, uniqueTag, type OpenAIError } from "./helpers.ts";

const chat = (body: string, env = testEnv()) => gateway("/v1/chat/completions", json(body), env);
const LIMITS = { maxContainers: 100, maxValues: 1000, maxDepth: 8 };

async function refused(res: Response, status: number, code: string, limitName: string): Promise<void> {
  expect(res.status).toBe(status);
  const body = await res.json<OpenAIError>();
  expect(body.error.code).toBe(code);
  expect(body.error.message).toContain(limitName);
}

describe("a JSON body's structure is bounded before it is parsed", () => {
  it("counts objects, arrays, values and depth outside strings only, escapes included", () => {
    expect(() => checkJsonShape(`{"a":"${"[{,".repeat(5000)}\\"[[[[[[[[[[[[","b":[1,2,3]}`, LIMITS)).not.toThrow();
    expect(() => checkJsonShape(`{"a":${"[".repeat(9)}${"]".repeat(9)}}`, LIMITS)).toThrow(/MAX_JSON_DEPTH/);
    expect(() => checkJsonShape(`{"a":[${"{},".repeat(100)}{}]}`, LIMITS)).toThrow(/MAX_JSON_CONTAINERS/);
    expect(() => checkJsonShape(`{"a":[${"0,".repeat(1000)}0]}`, LIMITS)).toThrow(/MAX_JSON_VALUES/);
    // A string ending in an escaped backslash closes; the brackets after it count.
    expect(() => checkJsonShape(`{"a":"x\\\\",${'"b":'.repeat(1)}${"[".repeat(9)}${"]".repeat(9)}}`, LIMITS)).toThrow(/MAX_JSON_DEPTH/);
  });

  it("200,000 levels of nesting are a 400 naming MAX_JSON_DEPTH, not a stack overflow (500)", async () => {
    const deep = `{"model":"openai/gpt-4o-mini","messages":[{"role":"user","content":"hi"}],"metadata":${"[".repeat(200_000)}${"]".repeat(200_000)}}`;
    await refused(await chat(deep), 400, "json_too_deep", "MAX_JSON_DEPTH");
  });

  it("10 MiB of {},{},… (3.5 million objects, ~220 MB of heap once parsed) is a 413 naming MAX_JSON_CONTAINERS", async () => {
    const filler = "{},".repeat(Math.floor((10 * 1024 * 1024 - 200) / 3));
    const body = `{"model":"openai/gpt-4o-mini","messages":[{"role":"user","content":"hi"}],"x":[${filler}{}]}`;
    await refused(await chat(body), 413, "json_too_complex", "MAX_JSON_CONTAINERS");
  });

  it("millions of short values in one array are a 413 naming MAX_JSON_VALUES", async () => {
    const body = `{"model":"openai/gpt-4o-mini","messages":[{"role":"user","content":"hi"}],"x":[${'"",'.repeat(600_000)}""]}`;
    await refused(await chat(body), 413, "json_too_complex", "MAX_JSON_VALUES");
  });

  it("JSON inside tool calls' arguments (which translating adapters parse) counts against the same limits", async () => {
    const bomb = JSON.stringify({ a: Array.from({ length: 150_000 }, () => ({})) });
    const body = {
      model: "openai/gpt-4o-mini",
      messages: [
        { role: "user", content: "hi" },
        { role: "assistant", content: null, tool_calls: [{ id: "call_1", type: "function", function: { name: "f", arguments: bomb } }] },
        { role: "tool", tool_call_id: "call_1", content: "ok" },
      ],
    };
    await refused(await chat(JSON.stringify(body)), 413, "json_too_complex", "MAX_JSON_CONTAINERS");
    // Split across many calls, the arguments still share one budget.
    const split = Array.from({ length: 6 }, (_, i) => ({ id: `call_${i}`, type: "function", function: { name: "f", arguments: JSON.stringify({ a: Array.from({ length: 20_000 }, () => ({})) }) } }));
    body.messages[1] = { role: "assistant", content: null, tool_calls: split };
    await refused(await chat(JSON.stringify(body)), 413, "json_too_complex", "MAX_JSON_CONTAINERS");
  });

  it("the limits come from wrangler.toml's vars, and bind the Anthropic, embeddings and admin endpoints too", async () => {
    const env = testEnv({ MAX_JSON_DEPTH: "4" });
    await refused(await chat('{"model":"openai/gpt-4o-mini","messages":[{"role":"user","content":[{"type":"text","text":"hi"}]}],"m":[[1]]}', env), 400, "json_too_deep", "4 levels");
    const messages = await gateway("/v1/messages", json(`{"model":"x","max_tokens":1,"messages":[],"z":${"[".repeat(9)}${"]".repeat(9)}}`), env);
    expect(messages.status).toBe(400);
    expect(await messages.json()).toMatchObject({ type: "error", error: { type: "invalid_request_error" } });
    expect((await gateway("/v1/embeddings", json(`{"model":"openai/text-embedding-3-small","input":[[[[[1]]]]]}`), env)).status).toBe(400);
    const route = await gateway("/admin/routes/deep", { ...admin("PUT"), body: `{"targets":${"[".repeat(9)}${"]".repeat(9)}}` }, env);
    await refused(route, 400, "json_too_deep", "MAX_JSON_DEPTH");
  });

  it("real requests pass: a long multi-part conversation with tools and an embeddings batch of token arrays", async () => {
    const messages = Array.from({ length: 2000 }, (_, i) => ({ role: i % 2 === 0 ? "user" : "assistant", content: [{ type: "text", text: `turn ${i}` }] }));
    const tools = Array.from({ length: 64 }, (_, i) => ({ type: "function", function: { name: `f${i}`, parameters: { type: "object", properties: { a: { type: "object", properties: { b: { type: "array", items: { type: "string" } } } } } } } }));
    const res = await chat(JSON.stringify({ model: "openai/gpt-4o-mini", messages, tools, max_tokens: 5 }));
    expect(res.status).toBe(200);
    const tokens = Array.from({ length: 300 }, () => Array.from({ length: 1000 }, (_, i) => i));
    expect((await gateway("/v1/embeddings", json({ model: "openai/text-embedding-3-small", input: tokens }))).status).toBe(200);
  });
});

describe("a non-streamed answer is bounded and sent without a second copy", () => {
  it("an answer larger than MAX_ANSWER_BYTES is a 502 that says so, and is charged as unread (the provider billed it)", async () => {
    const tag = uniqueTag("big-answer");
    await scriptUpstream(tag, { content: "word ".repeat(2000) });
    const res = await gateway("/v1/chat/completions", json({ model: "openai/gpt-4o-mini", user: tag, messages: [{ role: "user", content: tag }] }), testEnv({ MAX_ANSWER_BYTES: "4096" }));
    expect(res.status).toBe(502);
    const body = await res.json<OpenAIError>();
    expect(body.error.code).toBe("upstream_bad_response");
    expect(body.error.message).toContain("4096 bytes (MAX_ANSWER_BYTES)");
  });

  it("the limit holds for a gzip answer (whose declared length is the compressed one) and for a chunked one (no length)", async () => {
    for (const answerEncoding of ["gzip", "chunked"]) {
      const tag = uniqueTag(`big-${answerEncoding}`);
      await scriptUpstream(tag, { content: "word ".repeat(2000), answerEncoding });
      const res = await gateway("/v1/chat/completions", json({ model: "openai/gpt-4o-mini", user: tag, messages: [{ role: "user", content: tag }] }), testEnv({ MAX_ANSWER_BYTES: "4096" }));
      expect(res.status, answerEncoding).toBe(502);
      expect((await res.json<OpenAIError>()).error.message).toContain("MAX_ANSWER_BYTES");
      // Under the limit the same encodings are served.
      const small = uniqueTag(`small-${answerEncoding}`);
      await scriptUpstream(small, { content: "short", answerEncoding });
      const ok = await gateway("/v1/chat/completions", json({ model: "openai/gpt-4o-mini", user: small, messages: [{ role: "user", content: small }] }), testEnv({ MAX_ANSWER_BYTES: "4096" }));
      expect(ok.status, answerEncoding).toBe(200);
      await ok.text();
    }
  });

  it("the answer with its cost added is the provider's bytes around a rewritten usage object", async () => {
    const tag = uniqueTag("cost-in-body");
    await scriptUpstream(tag, { content: "a fine answer" });
    const res = await gateway("/v1/chat/completions", json({ model: "openai/gpt-4o-mini", user: tag, messages: [{ role: "user", content: tag }] }));
    expect(res.status).toBe(200);
    const answer = await res.json<{ choices: Array<{ message: { content: string } }>; usage: { cost: number; prompt_tokens: number } }>();
    expect(answer.choices[0]?.message.content).toBe("a fine answer");
    expect(answer.usage.cost).toBe(Number(res.headers.get("x-switchyard-cost-usd")));
  });
});
