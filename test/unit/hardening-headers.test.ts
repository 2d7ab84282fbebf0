/**
 * Issue 12, items 5 and 6: client text never reaches a response header or a
 * KV key unchecked. `model` and the end user are validated at the edge (400),
 * and every header value the gateway sets from text it does not control is
 * safe by construction (src/http/header-value.ts).
 */
import { describe, expect, it } from "vitest";
import { headerSafe, safeHeaders } from "../../src/http/header-value.ts";
import { admin, gateway, json, type OpenAIError } from "./helpers.ts";
import { newKey, settled, usageOf, withLedger } from "./ledger-helpers.ts";

const chat = (body: unknown, headers: Record<string, string> = {}) => gateway("/v1/chat/completions", json(body, undefined, headers));
const hello = [{ role: "user", content: "hi" }];

async function badRequest(res: Response, param: string, says: string): Promise<void> {
  expect(res.status).toBe(400);
  const body = await res.json<OpenAIError>();
  expect(body.error.param).toBe(param);
  expect(body.error.message).toContain(says);
}

describe("model and end user are checked at the edge", () => {
  it("a CR/LF in model is a 400, not a 500 after the provider answered and the request was charged", async () => {
    await badRequest(await chat({ model: "openai/gpt-4o-mini\r\nx-evil: 1", messages: hello }), "model", "printable ASCII");
    await badRequest(await chat({ model: "gpt-4o-mini\n", messages: hello }), "model", "printable ASCII");
    await badRequest(await chat({ model: "openai/gpt-4o-mini\u0000", messages: hello }), "model", "printable ASCII");
    await badRequest(await chat({ model: "openai/gpt-4o-\u00e9", messages: hello }), "model", "printable ASCII");
    const messages = await gateway("/v1/messages", json({ model: "claude\r\n", max_tokens: 5, messages: hello }));
    expect(messages.status).toBe(400);
    expect(await gateway("/v1/embeddings", json({ model: "openai/x\r\n", input: "hi" }))).toHaveProperty("status", 400);
  });

  it("a model name over 256 characters is a 400, never a KV key over its 512-byte limit (a 500)", async () => {
    await badRequest(await chat({ model: `openai/${"m".repeat(600)}`, messages: hello }), "model", "at most 256");
    await badRequest(await chat({ model: "x".repeat(257), messages: hello }), "model", "at most 256");
    const price = await gateway(`/admin/prices?provider=openai&model=${"m".repeat(600)}`, admin("GET"));
    expect(price.status).toBe(404);
  });

  it("an end user with a control character, a lone surrogate or over 256 bytes is a 400 naming where it came from", async () => {
    await badRequest(await chat({ model: "openai/gpt-4o-mini", messages: hello, user: "alice\nbob" }), "user", "control character");
    await badRequest(await chat({ model: "openai/gpt-4o-mini", messages: hello, user: "\ud800x" }), "user", "lone surrogate");
    await badRequest(await chat({ model: "openai/gpt-4o-mini", messages: hello, user: "é".repeat(129) }), "user", "256 bytes");
    await badRequest(await chat({ model: "openai/gpt-4o-mini", messages: hello }, { "x-switchyard-user": "a\tb" }), "x-switchyard-user", "control character");
    const ok = await chat({ model: "openai/gpt-4o-mini", messages: hello, user: "José 🚀 (team ünits)" });
    expect(ok.status).toBe(200);
    await ok.arrayBuffer();
    const messages = await gateway("/v1/messages", json({ model: "openai/gpt-4o-mini", max_tokens: 5, messages: hello, metadata: { user_id: "x\u0007" } }));
    expect(messages.status).toBe(400);
    expect(await messages.json()).toMatchObject({ type: "error", error: { type: "invalid_request_error" } });
  });
});

describe("what the fuzzer found: admin model names and Anthropic text blocks", () => {
  it("a model with a lone surrogate in a price override or a route target is a 400, not a KV error (500) now or on every later call", async () => {
    const price = await gateway("/admin/prices", admin("PUT", { provider: "openai", model: "\ud800", inputPerMTok: 1, outputPerMTok: 1 }));
    expect(price.status).toBe(400);
    const route = await gateway("/admin/routes/fz-lone", admin("PUT", { targets: [{ provider: "openai", model: "\ud800" }] }));
    expect(route.status).toBe(400);
    expect((await gateway("/admin/prices/openai/%ED%A0%80", admin("DELETE"))).status).toBeLessThan(500);
  });

  it("an Anthropic text block whose text is not a string is a 400 on a translated target (String() threw: a 500)", async () => {
    for (const content of [[{ type: "text", text: { toString: 1 } }], [{ type: "tool_result", tool_use_id: "t", content: [{ type: "text", text: { toString: 1 } }] }]]) {
      const res = await gateway("/v1/messages", json({ model: "openai/gpt-4o-mini", max_tokens: 5, messages: [{ role: "user", content }] }));
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({ type: "error", error: { type: "invalid_request_error" } });
    }
    const system = await gateway("/v1/messages", json({ model: "openai/gpt-4o-mini", max_tokens: 5, system: [{ type: "text", text: { toString: 1 } }], messages: hello }));
    expect(system.status).toBe(400);
  });
});

describe("header values from text the gateway does not control are safe by construction", () => {
  it("keeps printable ASCII, percent-encodes the rest, never throws", () => {
    expect(headerSafe("openai/gpt-4o=503, anthropic/claude=timeout")).toBe("openai/gpt-4o=503, anthropic/claude=timeout");
    for (const raw of ["a\r\nb", "nul\u0000", "€uro", "\ud800lone", "tab\there", "é".repeat(5000)]) {
      const safe = headerSafe(raw);
      expect(safe).toMatch(/^[\x20-\x7e]*$/);
      expect(safe.length).toBeLessThanOrEqual(1024 * 9);
      expect(() => new Headers({ "x-test": safe })).not.toThrow();
    }
    expect(headerSafe("a\r\nb")).toBe("a%0D%0Ab");
    expect(headerSafe("\ud800")).toBe("%EF%BF%BD");
    expect(safeHeaders({ "x-switchyard-model": "gpt\r\n4o" }).get("x-switchyard-model")).toBe("gpt%0D%0A4o");
  });
});

describe("a key may pin or require its end user (attribution is the calling app's word otherwise)", () => {
  it("requireEndUser refuses a request without one; pinEndUser attributes every request to its user", async () => {
    const required = await (await gateway("/admin/keys", admin("POST", { name: "needs-user", requireEndUser: true }))).json<{ key: string; id: string }>();
    const none = await gateway("/v1/chat/completions", json({ model: "openai/gpt-4o-mini", messages: hello }, required.key));
    expect(none.status).toBe(400);
    expect((await none.json<OpenAIError>()).error.code).toBe("user_required");
    const named = await gateway("/v1/chat/completions", json({ model: "openai/gpt-4o-mini", messages: hello, user: "alice" }, required.key));
    expect(named.status).toBe(200);
    await named.text();
    const pinned = await newKey({ pinEndUser: "customer-42", requireEndUser: true });
    const spoofed = await gateway("/v1/chat/completions", json({ model: "openai/gpt-4o-mini", messages: hello, user: "someone-else" }, pinned.key), withLedger());
    expect(spoofed.status).toBe(200);
    await spoofed.text();
    await settled(`key:${pinned.id}`, 1);
    const byUser = await usageOf(`key:${pinned.id}`, "user");
    expect(byUser.data.map((row) => [row.user, row.requests])).toEqual([["customer-42", 1]]);
    expect((await gateway("/admin/keys", admin("POST", { name: "bad-pin", pinEndUser: "a\nb" }))).status).toBe(400);
  });
});
