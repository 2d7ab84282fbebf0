import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { clearPriceCache, priceOf } from "../../src/metering/price-table.ts";
import { admin, gateway, type OpenAIError } from "./helpers.ts";

interface PriceAnswer {
  provider: string;
  model: string;
  inputPerMTok: number;
  outputPerMTok: number;
  cachedInputPerMTok?: number;
  source?: string;
  longContext?: { thresholdTokens: number; inputPerMTok: number; outputPerMTok: number };
}

const put = (body: unknown): Promise<Response> => gateway("/admin/prices", admin("PUT", body));
const effective = (provider: string, model: string): Promise<Response> =>
  gateway(`/admin/prices?provider=${encodeURIComponent(provider)}&model=${encodeURIComponent(model)}`, admin("GET"));

async function expectError(res: Response, status: number, param: string | null, code?: string): Promise<OpenAIError["error"]> {
  expect(res.status).toBe(status);
  const { error } = await res.json<OpenAIError>();
  expect(error.param).toBe(param);
  if (code !== undefined) expect(error.code).toBe(code);
  return error;
}

describe("/admin/prices", () => {
  it("stores an override, answers it, lists it, and the next metered lookup uses it instead of the bundled price", async () => {
    const model = "gpt-4o-2024-11-20";
    expect((await priceOf(env, "openai", model))?.input).toBe(2.5);
    const override = {
      provider: "openai",
      model,
      inputPerMTok: 1.5,
      outputPerMTok: 6,
      cachedInputPerMTok: 0.75,
      maxOutputTokens: 8_000,
      longContext: { thresholdTokens: 100_000, inputPerMTok: 3, outputPerMTok: 12 },
    };
    const res = await put(override);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual(override);

    // What the override leaves out, the bundled entry gives: here the context window (128k) and the web search fees.
    const fees = { webSearchTool: 0.01, webSearchPreviewTool: 0.025 };
    expect(await priceOf(env, "openai", model)).toEqual({ input: 1.5, output: 6, cachedInput: 0.75, maxOutputTokens: 8_000, maxInputTokens: 128_000, fees, longContext: { input: 3, output: 12, threshold: 100_000 } });
    const shown = await (await effective("openai", model)).json<PriceAnswer>();
    expect(shown).toEqual({ ...override, source: "override" });
    const listed = await (await gateway("/admin/prices", admin("GET"))).json<{ object: string; data: PriceAnswer[] }>();
    expect(listed.object).toBe("list");
    expect(listed.data).toContainEqual(override);

    const del = await gateway(`/admin/prices/openai/${model}`, admin("DELETE"));
    expect(del.status).toBe(200);
    expect(await del.json()).toEqual({ provider: "openai", model, deleted: true });
    expect((await priceOf(env, "openai", model))?.input).toBe(2.5);
    expect((await effective("openai", model)).status).toBe(200);
  });

  it("answers the bundled price with its source, and 404 price_not_found for a model no one priced", async () => {
    const bundled = await effective("anthropic", "claude-sonnet-4-5");
    expect(bundled.status).toBe(200);
    expect(await bundled.json()).toMatchObject({
      provider: "anthropic",
      model: "claude-sonnet-4-5",
      source: "bundled",
      inputPerMTok: 3,
      outputPerMTok: 15,
      cachedInputPerMTok: 0.3,
      cacheWritePerMTok: 3.75,
      cacheWrite1hPerMTok: 6,
      maxOutputTokens: 64_000,
      longContext: { thresholdTokens: 200_000, inputPerMTok: 6, outputPerMTok: 22.5 },
    });
    await expectError(await effective("openai", "my-own-finetune"), 404, "model", "price_not_found");
    expect(await priceOf(env, "openai", "my-own-finetune")).toBeNull();
  });

  it("handles models whose names contain '/' (OpenRouter, Workers AI)", async () => {
    for (const [provider, model] of [["openrouter", "anthropic/claude-sonnet-4.5"], ["workers-ai", "@cf/meta/llama-3.1-8b-instruct"]] as const) {
      const body = { provider, model, inputPerMTok: 0.25, outputPerMTok: 0.5 };
      expect((await put(body)).status).toBe(200);
      expect(await (await effective(provider, model)).json()).toEqual({ ...body, source: "override" });
      expect(await priceOf(env, provider, model)).toMatchObject({ input: 0.25, output: 0.5 });
      const del = await gateway(`/admin/prices/${provider}/${model}`, admin("DELETE"));
      expect(del.status).toBe(200);
      expect(await del.json()).toEqual({ provider, model, deleted: true });
      expect((await effective(provider, model)).status).toBe(provider === "openrouter" ? 200 : 404);
    }
  });

  it("refuses bad bodies with a 400 naming the field", async () => {
    const ok = { provider: "openai", model: "gpt-4o", inputPerMTok: 1, outputPerMTok: 2 };
    await expectError(await put({ ...ok, outputPerMTok: undefined }), 400, "outputPerMTok");
    await expectError(await put({ ...ok, inputPerMTok: -1 }), 400, "inputPerMTok");
    await expectError(await put({ ...ok, inputPerMTok: "3" }), 400, "inputPerMTok");
    await expectError(await put({ ...ok, inputPricePerMTok: 1 }), 400, null);
    await expectError(await put({ ...ok, model: "" }), 400, "model");
    await expectError(await put({ ...ok, maxOutputTokens: 1.5 }), 400, "maxOutputTokens");
    await expectError(await put({ ...ok, longContext: { inputPerMTok: 2, outputPerMTok: 4 } }), 400, "longContext.thresholdTokens");
    const unknown = await expectError(await put({ ...ok, provider: "acme" }), 400, "provider");
    expect(unknown.message).toContain("acme");
    await expectError(await gateway("/admin/prices?provider=openai", admin("GET")), 400, "model");
    await expectError(await gateway("/admin/prices?model=gpt-4o", admin("GET")), 400, "provider");
    // Nothing of the above was stored.
    expect((await effective("openai", "gpt-4o")).status).toBe(200);
    expect(await (await effective("openai", "gpt-4o")).json()).toMatchObject({ source: "bundled" });
  });

  it("deletes only what exists (404), and requires the admin token", async () => {
    await expectError(await gateway("/admin/prices/openai/never-set", admin("DELETE")), 404, "model", "price_override_not_found");
    expect((await gateway("/admin/prices", { method: "GET" })).status).toBe(401);
    expect((await gateway("/admin/prices", admin("PUT", { provider: "openai", model: "x", inputPerMTok: 1, outputPerMTok: 1 }, "wrong"))).status).toBe(401);
  });

  it("ignores a hand-edited override that is not a valid price (the bundled price stands)", async () => {
    await env.CONFIG.put("price:openai/gpt-4o-mini", "{not json");
    await env.CONFIG.put("price:openai/gpt-4.1-mini", JSON.stringify({ provider: "openai", model: "gpt-4.1-mini", inputPerMTok: -5 }));
    clearPriceCache();
    expect((await priceOf(env, "openai", "gpt-4o-mini"))?.input).toBe(0.15);
    expect((await priceOf(env, "openai", "gpt-4.1-mini"))?.input).toBe(0.4);
    await env.CONFIG.delete("price:openai/gpt-4o-mini");
    await env.CONFIG.delete("price:openai/gpt-4.1-mini");
  });
});
