/**
 * Issue 12, item 1: provider-side routing fields cannot take a request outside
 * its key's allow-list or budget. OpenRouter's `models` fallback list (and
 * `route`, `preset`, `plugins`, `openrouter:*` tools) would serve and bill other
 * models than the one allowed and reserved: the OpenRouter target refuses them.
 */
import { describe, expect, it } from "vitest";
import { MOCK, admin, gateway, json, testEnv, uniqueTag, upstreamSaw, type OpenAIError } from "./helpers.ts";

const env = testEnv({ OPENROUTER_BASE_URL: `${MOCK}/v1`, OPENROUTER_API_KEY: "mock-openrouter-key", TOGETHER_BASE_URL: `${MOCK}/v1`, TOGETHER_API_KEY: "mock-together-key" });

async function keyFor(models: string[]): Promise<string> {
  const res = await gateway("/admin/keys", admin("POST", { name: uniqueTag("routing"), models }), env);
  return (await res.json<{ key: string }>()).key;
}

describe("routing fields of aggregator providers", () => {
  it("OpenRouter's `models` naming a model outside the allow-list is a 400, and nothing reaches OpenRouter", async () => {
    const key = await keyFor(["openrouter/meta-llama/llama-3.1-8b-instruct"]);
    const tag = uniqueTag("or-models");
    const res = await gateway("/v1/chat/completions", json({
      model: "openrouter/meta-llama/llama-3.1-8b-instruct",
      models: ["anthropic/claude-opus-4.1"],
      user: tag,
      messages: [{ role: "user", content: tag }],
    }, key), env);
    expect(res.status).toBe(400);
    const error = (await res.json<OpenAIError>()).error;
    expect(error).toMatchObject({ code: "unsupported_routing_field", param: "models" });
    expect(error.message).toContain("alias");
    expect(await upstreamSaw(tag)).toEqual([]);
  });

  it("route, preset, plugins and openrouter:* tools are refused the same way; Together's safety_model too", async () => {
    const key = await keyFor(["openrouter/*", "together/*"]);
    const ask = (extra: Record<string, unknown>, model = "openrouter/openai/gpt-4o-mini") =>
      gateway("/v1/chat/completions", json({ model, messages: [{ role: "user", content: "hi" }], ...extra }, key), env);
    for (const [extra, param] of [
      [{ route: "fallback" }, "route"],
      [{ preset: "my-preset" }, "preset"],
      [{ plugins: [{ id: "web" }] }, "plugins"],
      [{ tools: [{ type: "openrouter:advisor", parameters: { model: "anthropic/claude-opus-4.1" } }] }, "tools"],
    ] as const) {
      const res = await ask(extra);
      expect(res.status).toBe(400);
      expect((await res.json<OpenAIError>()).error.param).toBe(param);
    }
    const together = await ask({ safety_model: "meta-llama/Meta-Llama-Guard-3-8B" }, "together/meta-llama/Llama-3.3-70B-Instruct-Turbo");
    expect(together.status).toBe(400);
    // Without those fields the same requests are served.
    const plain = await ask({ provider: { data_collection: "deny" } });
    expect(plain.status).toBe(200);
    await plain.text();
  });

  it("in a route, the OpenRouter target steps aside and the next target serves", async () => {
    const alias = uniqueTag("mixed").slice(0, 40);
    await gateway(`/admin/routes/${alias}`, admin("PUT", { strategy: "fallback", targets: [{ provider: "openrouter", model: "openai/gpt-4o-mini" }, { provider: "openai", model: "gpt-4o-mini" }] }), env);
    const res = await gateway("/v1/chat/completions", json({ model: alias, models: ["anthropic/claude-opus-4.1"], messages: [{ role: "user", content: "hi" }] }), env);
    expect(res.status).toBe(200);
    expect(res.headers.get("x-switchyard-provider")).toBe("openai");
    expect(res.headers.get("x-switchyard-fallbacks")).toContain("openrouter/openai/gpt-4o-mini=refused");
    await res.text();
  });
});
