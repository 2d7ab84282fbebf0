import { getRoute, type StoredRoute } from "../config/routes.ts";
import { aliasNameSchema } from "../config/schemas.ts";
import type { Env } from "../env.ts";
import { GatewayError, invalidRequest } from "../http/errors.ts";
import { PROVIDER_PRESETS } from "../providers/presets.ts";
import { adapterFor, configuredProviders, findPreset } from "../providers/registry.ts";
import type { ProviderAdapter, ProviderConfig } from "../providers/types.ts";

/** One upstream call the gateway may make for a request, in order of preference. */
export interface Attempt {
  readonly provider: ProviderConfig;
  readonly adapter: ProviderAdapter;
  /** The provider's own model name. */
  readonly model: string;
  readonly ttfbTimeoutMs: number | undefined;
  /** Calls this target may get before the next one is tried (route `maxAttempts`). */
  readonly maxAttempts?: number | undefined;
}

export interface Plan {
  /** The model as the client named it (alias or `provider/model`). */
  readonly requested: string;
  readonly route: StoredRoute | null;
  readonly attempts: readonly Attempt[];
  /** The route's total deadline across attempts, if it sets one. */
  readonly timeoutMs: number | undefined;
}

export type Purpose = "chat" | "embeddings";

function knownProviders(): string {
  return PROVIDER_PRESETS.map((p) => p.name).join(", ");
}

function checkPurpose(provider: ProviderConfig, purpose: Purpose, requested: string): void {
  if (purpose === "embeddings" && !provider.preset.embeddings) {
    throw invalidRequest(`The provider '${provider.name}' does not offer embeddings ('${requested}').`, "model", "embeddings_not_supported");
  }
}

function direct(env: Env, requested: string, slash: number, purpose: Purpose): Plan {
  const providerName = requested.slice(0, slash);
  const model = requested.slice(slash + 1);
  if (findPreset(providerName) === undefined) {
    throw new GatewayError(404, `Unknown provider '${providerName}' in model '${requested}'. Known providers: ${knownProviders()}.`, {
      code: "model_not_found",
      param: "model",
    });
  }
  if (model.length === 0) throw invalidRequest(`The model '${requested}' names a provider but no model after the '/'.`, "model");
  const provider = configuredProviders(env).get(providerName);
  if (provider === undefined) {
    throw new GatewayError(404, `The provider '${providerName}' is not configured on this gateway (its API key is not set).`, {
      code: "provider_not_configured",
      param: "model",
    });
  }
  checkPurpose(provider, purpose, requested);
  return {
    requested,
    route: null,
    attempts: [{ provider, adapter: adapterFor(provider), model, ttfbTimeoutMs: undefined }],
    timeoutMs: undefined,
  };
}

/** The configured provider whose model family a bare name belongs to (`claude-…` → anthropic), if any. */
function providerOfFamily(env: Env, model: string): string | undefined {
  for (const provider of configuredProviders(env).values()) {
    if (provider.preset.modelFamilies?.some((prefix) => model.startsWith(prefix)) === true) return provider.name;
  }
  return undefined;
}

/**
 * Resolves the requested model to an ordered list of attempts: a direct
 * `provider/model`, an alias whose route lists targets, or a bare model name of
 * a configured provider's family (an alias of the same name wins). Targets on providers
 * without credentials are left out. (Strategies and route health order the
 * attempts in a later step; for now a route's targets are tried in order.)
 */
export async function planAttempts(env: Env, requested: string, purpose: Purpose): Promise<Plan> {
  const slash = requested.indexOf("/");
  if (slash !== -1) return direct(env, requested, slash, purpose);

  // Only a well-formed alias can exist; anything else never reaches KV (whose keys have rules of their own).
  const route = aliasNameSchema.safeParse(requested).success ? await getRoute(env, requested) : null;
  if (route === null) {
    const family = providerOfFamily(env, requested);
    if (family !== undefined) return direct(env, `${family}/${requested}`, family.length, purpose);
    throw new GatewayError(
      404,
      `The model '${requested}' does not exist on this gateway. Use an alias (GET /v1/models lists them) or 'provider/model', e.g. 'openai/gpt-4o-mini'.`,
      { code: "model_not_found", param: "model" },
    );
  }
  const providers = configuredProviders(env);
  const attempts: Attempt[] = [];
  for (const target of route.route.targets) {
    const provider = providers.get(target.provider);
    if (provider === undefined) continue;
    if (purpose === "embeddings" && !provider.preset.embeddings) continue;
    attempts.push({ provider, adapter: adapterFor(provider), model: target.model, ttfbTimeoutMs: target.ttfbTimeoutMs, maxAttempts: target.maxAttempts });
  }
  if (attempts.length === 0) {
    throw new GatewayError(503, `The alias '${requested}' has no target on a provider configured on this gateway.`, {
      code: "no_available_target",
      param: "model",
    });
  }
  return { requested, route, attempts, timeoutMs: route.route.timeoutMs };
}
