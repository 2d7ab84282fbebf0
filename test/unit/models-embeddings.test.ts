import { describe, expect, it } from "vitest";
import { DEV_KEY, gateway, json, type OpenAIError } from "./helpers.ts";

const auth = { headers: { authorization: `Bearer ${DEV_KEY}` } };

describe("GET /v1/models and /health", () => {
  it("lists aliases and the models of configured providers only", async () => {
    const res = await gateway("/v1/models", auth);
    expect(res.status).toBe(200);
    const body = await res.json<{ object: string; data: Array<{ id: string; object: string; owned_by: string }> }>();
    expect(body.object).toBe("list");
    const ids = body.data.map((m) => m.id);
    expect(ids).toEqual(expect.arrayContaining(["fast", "cheap", "embed", "openai/gpt-4o-mini", "deepseek/deepseek-chat"]));
    expect(ids.some((id) => id.startsWith("groq/"))).toBe(false);
    expect(body.data.every((m) => m.object === "model")).toBe(true);
  });

  it("retrieves one model, including ids with a slash, and 404s an unknown one", async () => {
    const one = await gateway("/v1/models/openai/gpt-4o-mini", auth);
    expect(one.status).toBe(200);
    expect(await one.json()).toMatchObject({ id: "openai/gpt-4o-mini", owned_by: "openai" });
    const missing = await gateway("/v1/models/openai/nope", auth);
    expect(missing.status).toBe(404);
  });

  it("reports health without authentication", async () => {
    const res = await gateway("/health");
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: "ok", providers: ["openai", "deepseek"], adminApi: "enabled" });
  });
});

describe("POST /v1/embeddings", () => {
  it("returns vectors and usage through an alias", async () => {
    const res = await gateway("/v1/embeddings", json({ model: "embed", input: ["alpha", "beta"] }));
    expect(res.status).toBe(200);
    expect(res.headers.get("x-switchyard-model")).toBe("text-embedding-3-small");
    const body = await res.json<{ data: Array<{ index: number; embedding: number[] }>; usage: { prompt_tokens: number } }>();
    expect(body.data.map((d) => d.index)).toEqual([0, 1]);
    expect(body.data[0]?.embedding.length).toBe(8);
    expect(body.usage.prompt_tokens).toBeGreaterThan(0);
  });

  it("400 for a missing or mistyped input, and for a provider without embeddings", async () => {
    const missing = await gateway("/v1/embeddings", json({ model: "embed" }));
    expect(missing.status).toBe(400);
    expect((await missing.json<OpenAIError>()).error.param).toBe("input");
    expect((await gateway("/v1/embeddings", json({ model: "embed", input: { text: "x" } }))).status).toBe(400);
    const noEmbeddings = await gateway("/v1/embeddings", json({ model: "deepseek/deepseek-chat", input: "x" }));
    expect(noEmbeddings.status).toBe(400);
    expect((await noEmbeddings.json<OpenAIError>()).error.code).toBe("embeddings_not_supported");
  });
});
