import { settingsFor } from "../config/settings.ts";
import type { Env } from "../env.ts";
import { anthropicAdapter } from "./anthropic/adapter.ts";
import { geminiAdapter } from "./gemini/adapter.ts";
import { bedrockAdapter } from "./bedrock/adapter.ts";
import { openAICompatibleAdapter } from "./openai-compatible/adapter.ts";
import { PROVIDER_PRESETS, envPrefix } from "./presets.ts";
import type { PresetCredentials, ProviderAdapter, ProviderConfig, ProviderPreset } from "./types.ts";

const PRESETS_BY_NAME: ReadonlyMap<string, ProviderPreset> = new Map(PROVIDER_PRESETS.map((p) => [p.name, p]));

export function findPreset(name: string): ProviderPreset | undefined {
  return PRESETS_BY_NAME.get(name);
}

/** Native adapters, by `preset.adapter`; every other preset speaks OpenAI's format. */
const ADAPTERS: Readonly<Record<ProviderPreset["adapter"], ProviderAdapter>> = {
  "openai-compatible": openAICompatibleAdapter,
  anthropic: anthropicAdapter,
  gemini: geminiAdapter,
  bedrock: bedrockAdapter,
};

export function adapterFor(provider: ProviderConfig): ProviderAdapter {
  return ADAPTERS[provider.preset.adapter];
}

function readString(env: Env, name: string): string | undefined {
  const value: unknown = (env as unknown as Record<string, unknown>)[name];
  return typeof value === "string" && value.length > 0 ? value : undefined;
}

function resolve(env: Env, preset: ProviderPreset): ProviderConfig | undefined {
  const prefix = envPrefix(preset.name);
  const apiKey = readString(env, `${prefix}_API_KEY`);
  const override = readString(env, `${prefix}_BASE_URL`);
  const credentials = readCredentials(env, prefix, preset.credentials);
  if (credentials === undefined) return undefined;
  const keyAlternative = preset.credentials !== undefined && preset.credentials.keyAlternative.length > 0
    && preset.credentials.keyAlternative.every((name) => credentials[name] !== undefined);
  // A provider is usable with a key (or what stands in for one), or with a base URL
  // of its own (a keyless self-hosted server); otherwise it stays out of plans and model lists.
  if (apiKey === undefined && override === undefined && !keyAlternative) return undefined;
  let baseUrl = override ?? preset.baseUrl;
  // `{ACCOUNT_ID}`, `{RESOURCE}`, …: filled from `<PREFIX>_ACCOUNT_ID`, `<PREFIX>_RESOURCE`, …
  for (const [placeholder, name] of baseUrl.matchAll(/\{([A-Z_]+)\}/g)) {
    const value = readString(env, `${prefix}_${name}`);
    if (value === undefined) return undefined;
    baseUrl = baseUrl.replace(placeholder, encodeURIComponent(value));
  }
  const apiVersion = preset.apiVersion === undefined ? undefined : (readString(env, `${prefix}_API_VERSION`) ?? preset.apiVersion);
  const defaultServiceTier = readString(env, `${prefix}_SERVICE_TIER`);
  const { maxAnswerBytes } = settingsFor(env);
  return { name: preset.name, preset, baseUrl: baseUrl.replace(/\/+$/, ""), apiKey, apiVersion, credentials, defaultServiceTier, maxAnswerBytes };
}

/** The preset's further secrets that are set; undefined when a required one is missing. */
function readCredentials(env: Env, prefix: string, spec: PresetCredentials | undefined): Record<string, string> | undefined {
  const found: Record<string, string> = {};
  if (spec === undefined) return found;
  for (const name of [...spec.required, ...spec.keyAlternative, ...spec.optional]) {
    const value = readString(env, `${prefix}_${name}`);
    if (value !== undefined) found[name] = value;
  }
  return spec.required.every((name) => found[name] !== undefined) ? found : undefined;
}

// `env` is the same object for every request an isolate serves, so the
// resolution runs once per isolate, not once per request.
const resolvedByEnv = new WeakMap<Env, ReadonlyMap<string, ProviderConfig>>();

/** The providers this deployment can reach, by name. */
export function configuredProviders(env: Env): ReadonlyMap<string, ProviderConfig> {
  let resolved = resolvedByEnv.get(env);
  if (resolved === undefined) {
    const map = new Map<string, ProviderConfig>();
    for (const p of PROVIDER_PRESETS) {
      const config = resolve(env, p);
      if (config !== undefined) map.set(p.name, config);
    }
    resolved = map;
    resolvedByEnv.set(env, resolved);
  }
  return resolved;
}
