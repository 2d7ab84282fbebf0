import { getRoute, type StoredRoute } from "../config/routes.ts";
import { aliasNameSchema, type RouteTarget } from "../config/schemas.ts";
import type { Env } from "../env.ts";
import { GatewayError, invalidRequest } from "../http/errors.ts";
import { PROVIDER_PRESETS } from "../providers/presets.ts";
import { adapterFor, configuredProviders, findPreset } from "../providers/registry.ts";
import type { ProviderAdapter, ProviderConfig } from "../providers/types.ts";
import type { HealthView } from "./health-types.ts";
import { configuredPrice, type PriceLookup } from "./prices.ts";
import { orderTargets } from "./route-order.ts";
import { normaliseLimits, type Limits } from "../limits/config.ts";

/** One upstream call the gateway may make for a request, in order of preference. */
export interface Attempt {
  readonly provider: ProviderConfig;
  readonly adapter: ProviderAdapter;
  /** The provider's own model name. */
  readonly model: string;
  readonly ttfbTimeoutMs: number | undefined;
  /** Calls this target may get before the next one is tried (route `maxAttempts`); unset: the retry policy's default. */
  readonly maxAttempts?: number | undefined;
  /** The provider's own limits for this target (route `limits`): without headroom it is skipped, not called. */
  readonly limits?: Limits | undefined;
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

/** What a route's ordering may draw on besides health; defaults suit production, tests pin them. */
export interface PlanChoices {
  /** [0, 1) for the `weighted` draw; Math.random by default. */
  readonly random?: () => number;
  /** Prices for `cheapest`; the route's configured prices by default (the price table's seam). */
  readonly priceOf?: PriceLookup;
  /** Epoch ms to judge breaker cooldowns and rate-limit windows against; Date.now() by default. */
  readonly now?: number;
}

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
    attempts: [{ provider, adapter: adapterFor(provider), model, ttfbTimeoutMs: undefined, maxAttempts: undefined }],
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
 * without credentials (or, for embeddings, without embeddings) are left out; the
 * rest are ordered by the route's strategy and their health (see orderTargets).
 * A direct or bare model is one attempt whatever its health: with no
 * alternative, skipping it would only turn a possible answer into a certain error.
 * Without `health`, nothing is known and every target counts as healthy.
 */
export async function planAttempts(
  env: Env,
  requested: string,
  purpose: Purpose,
  health?: HealthView,
  choices: PlanChoices = {},
): Promise<Plan> {
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
  const providerFor = (target: RouteTarget): ProviderConfig | undefined => {
    const provider = providers.get(target.provider);
    return provider === undefined || (purpose === "embeddings" && !provider.preset.embeddings) ? undefined : provider;
  };
  // Unusable targets leave before ordering: they must not win the weighted draw, nor spoil "every target is open".
  const ordered = orderTargets(route.route.strategy, route.route.targets.filter((t) => providerFor(t) !== undefined), {
    purpose,
    health,
    random: choices.random ?? Math.random,
    priceOf: choices.priceOf ?? configuredPrice,
    now: choices.now ?? Date.now(),
  });
  const attempts = ordered.flatMap((target): Attempt[] => {
    const provider = providerFor(target);
    if (provider === undefined) return [];
    const { model, ttfbTimeoutMs, maxAttempts } = target;
    const limits = target.limits === undefined ? undefined : normaliseLimits(target.limits);
    return [{ provider, adapter: adapterFor(provider), model, ttfbTimeoutMs, maxAttempts, limits }];
  });
  if (attempts.length === 0) {
    throw new GatewayError(503, `The alias '${requested}' has no target on a provider configured on this gateway.`, {
      code: "no_available_target",
      param: "model",
    });
  }
  return { requested, route, attempts, timeoutMs: route.route.timeoutMs };
}
