import type { Context } from "hono";
import { modelAllowed } from "../auth/gateway-key.ts";
import { getRoute, listAliases } from "../config/routes.ts";
import type { AppEnv, Env } from "../env.ts";
import { configuredProviders } from "../providers/registry.ts";
import { GatewayError } from "./errors.ts";

interface ModelEntry {
  id: string;
  object: "model";
  created: number;
  owned_by: string;
}

/** Aliases with at least one usable target, then `provider/model` for every configured provider. */
async function visibleModels(env: Env, allowed: (model: string) => boolean): Promise<ModelEntry[]> {
  const providers = configuredProviders(env);
  const entries: ModelEntry[] = [];
  for (const alias of await listAliases(env)) {
    if (!allowed(alias)) continue;
    const stored = await getRoute(env, alias);
    if (stored?.route.targets.some((t) => providers.has(t.provider)) === true) {
      entries.push({ id: alias, object: "model", created: 0, owned_by: "switchyard" });
    }
  }
  for (const provider of providers.values()) {
    for (const model of provider.preset.models) {
      const id = `${provider.name}/${model}`;
      if (allowed(id)) entries.push({ id, object: "model", created: 0, owned_by: provider.name });
    }
  }
  return entries;
}

/** GET /v1/models, filtered by what the caller's key may use. */
export async function listModels(c: Context<AppEnv>): Promise<Response> {
  const key = c.var.gatewayKey;
  const data = await visibleModels(c.env, (m) => modelAllowed(key, m));
  return c.json({ object: "list", data });
}

/** GET /v1/models/{model} (model ids may contain '/'). */
export async function retrieveModel(c: Context<AppEnv>): Promise<Response> {
  // Ids contain '/', which SDKs send escaped as %2F (Hono leaves reserved escapes as they are).
  const raw = c.req.path.slice("/v1/models/".length);
  let id = raw;
  try {
    id = decodeURIComponent(raw);
  } catch {
    // A broken escape names no model: the lookup below answers 404.
  }
  const key = c.var.gatewayKey;
  const found = (await visibleModels(c.env, (m) => m === id && modelAllowed(key, m)))[0];
  if (found === undefined) {
    throw new GatewayError(404, `The model '${id}' does not exist on this gateway.`, { code: "model_not_found", param: "model" });
  }
  return c.json(found);
}
