import { describe, expect, it } from "vitest";
import { PROVIDER_PRESETS, envPrefix } from "../../src/providers/presets.ts";
import { MOCK, gateway, json, scriptUpstream, testEnv, uniqueTag, upstreamSaw } from "./helpers.ts";

const hello = [{ role: "user", content: "hi" }];

describe("every preset: NAME_API_KEY authenticates, NAME_BASE_URL redirects", () => {
  // Bedrock needs a region and speaks Converse at its own paths: test/unit/bedrock.test.ts covers it.
  for (const preset of PROVIDER_PRESETS.filter((p) => p.adapter !== "bedrock")) {
    it(`${preset.name}: ${envPrefix(preset.name)}_API_KEY / _BASE_URL`, async () => {
      const prefix = envPrefix(preset.name);
      const env = testEnv({ [`${prefix}_API_KEY`]: `key-for-${preset.name}`, [`${prefix}_BASE_URL`]: `${MOCK}/${preset.name}/v1/` });
      const tag = uniqueTag(preset.name);
      // Tagged by a word in the message: native APIs (Gemini) have no field to carry `user`.
      await scriptUpstream(tag, {});
      const model = preset.models[0] ?? "m";
      const res = await gateway("/v1/chat/completions", json({ model: `${preset.name}/${model}`, messages: [{ role: "user", content: `hi ${tag}` }], stream: true }), env);
      expect(res.status).toBe(200);
      expect(res.headers.get("x-switchyard-provider")).toBe(preset.name);
      await res.text();
      const [seen] = await upstreamSaw(tag);
      const operation =
        preset.adapter === "anthropic" ? "messages"
        : preset.adapter === "gemini" ? `models/${model}:streamGenerateContent`
        : preset.deploymentPaths === true ? `deployments/${model}/chat/completions` : "chat/completions";
      expect(seen?.path).toBe(`/${preset.name}/v1/${operation}`);
      const auth = preset.authHeader === "authorization" ? `Bearer key-for-${preset.name}` : `key-for-${preset.name}`;
      expect(seen?.headers[preset.authHeader]).toBe(auth);
      // Gemini names the model in the URL, not the body.
      expect(preset.adapter === "gemini" ? seen?.query : seen?.body.model).toBe(preset.adapter === "gemini" ? "?alt=sse" : model);
      expect(seen?.body.stream_options === undefined).toBe(!preset.streamUsageOption);
    });
  }

  it("azure addresses deployments with an api-version, on the resource named by AZURE_RESOURCE", async () => {
    const { configuredProviders } = await import("../../src/providers/registry.ts");
    const azure = configuredProviders(testEnv({ AZURE_API_KEY: "k", AZURE_RESOURCE: "contoso" })).get("azure");
    expect(azure?.baseUrl).toBe("https://contoso.openai.azure.com/openai");
    expect(azure?.apiVersion).toBe("2024-10-21");
    expect(configuredProviders(testEnv({ AZURE_API_KEY: "k" })).has("azure")).toBe(false);

    const tag = uniqueTag("azure");
    const env = testEnv({ AZURE_API_KEY: "azure-key", AZURE_BASE_URL: `${MOCK}/openai`, AZURE_API_VERSION: "2025-01-01-preview" });
    const res = await gateway("/v1/chat/completions", json({ model: "azure/my-gpt4o-deployment", messages: hello, user: tag }), env);
    expect(res.status).toBe(200);
    const [seen] = await upstreamSaw(tag);
    expect(seen?.path).toBe("/openai/deployments/my-gpt4o-deployment/chat/completions");
    expect(seen?.query).toBe("?api-version=2025-01-01-preview");
    expect(seen?.headers["api-key"]).toBe("azure-key");
    expect(seen?.headers.authorization).toBeUndefined();
  });

  it("workers-ai builds its default URL from WORKERS_AI_ACCOUNT_ID, and is unconfigured without it", async () => {
    const { configuredProviders } = await import("../../src/providers/registry.ts");
    const withAccount = configuredProviders(testEnv({ WORKERS_AI_API_KEY: "t", WORKERS_AI_ACCOUNT_ID: "acc 1" }));
    expect(withAccount.get("workers-ai")?.baseUrl).toBe("https://api.cloudflare.com/client/v4/accounts/acc%201/ai/v1");
    expect(configuredProviders(testEnv({ WORKERS_AI_API_KEY: "t" })).has("workers-ai")).toBe(false);
  });
});
