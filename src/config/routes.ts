import type { Env } from "../env.ts";
import { DEFAULT_ROUTES } from "./default-routes.ts";
import { IsolateCache } from "./isolate-cache.ts";
import { listKvKeys, readKvJson } from "./kv-json.ts";
import { routeSchema, type Route } from "./schemas.ts";

const ROUTE_PREFIX = "route:";
/** How long an isolate trusts its copy of a route. KV itself may lag up to ~60 s across locations. */
const ROUTE_TTL_MS = 30_000;

export type RouteSource = "kv" | "bundled";
export interface StoredRoute {
  alias: string;
  route: Route;
  source: RouteSource;
}

const routeCache = new IsolateCache<StoredRoute | null>(ROUTE_TTL_MS);
const bundled = (alias: string): StoredRoute | null => {
  const route = Object.hasOwn(DEFAULT_ROUTES, alias) ? DEFAULT_ROUTES[alias] : undefined;
  return route === undefined ? null : { alias, route, source: "bundled" };
};

/** The route behind an alias: KV first, then the bundled defaults; null if neither has it. */
export async function getRoute(env: Env, alias: string): Promise<StoredRoute | null> {
  const cached = routeCache.get(alias);
  if (cached !== undefined) return cached;
  const raw = await readKvJson(env.CONFIG, ROUTE_PREFIX + alias);
  let found: StoredRoute | null;
  if (raw === null) {
    found = bundled(alias);
  } else {
    // Validated on write; re-checked here so a hand-edited KV value cannot crash a request.
    const parsed = routeSchema.safeParse(raw);
    found = parsed.success ? { alias, route: parsed.data, source: "kv" } : bundled(alias);
  }
  routeCache.set(alias, found);
  return found;
}

export async function putRoute(env: Env, alias: string, route: Route): Promise<StoredRoute> {
  await env.CONFIG.put(ROUTE_PREFIX + alias, JSON.stringify(route));
  const stored: StoredRoute = { alias, route, source: "kv" };
  routeCache.set(alias, stored);
  aliasListCache.clear();
  return stored;
}

/** Removes the KV route; returns whether one existed. A bundled alias of that name comes back. */
export async function deleteRoute(env: Env, alias: string): Promise<boolean> {
  const existing = await env.CONFIG.get(ROUTE_PREFIX + alias);
  if (existing === null) return false;
  await env.CONFIG.delete(ROUTE_PREFIX + alias);
  routeCache.delete(alias);
  aliasListCache.clear();
  return true;
}

const aliasListCache = new IsolateCache<readonly string[]>(ROUTE_TTL_MS, 1);

async function kvAliases(env: Env): Promise<readonly string[]> {
  const cached = aliasListCache.get("all");
  if (cached !== undefined) return cached;
  const names = (await listKvKeys(env.CONFIG, ROUTE_PREFIX)).map((key) => key.name.slice(ROUTE_PREFIX.length));
  aliasListCache.set("all", names);
  return names;
}

/** Every alias a client can call: KV routes and the bundled defaults they do not shadow. */
export async function listAliases(env: Env): Promise<string[]> {
  const names = new Set(await kvAliases(env));
  for (const alias of Object.keys(DEFAULT_ROUTES)) names.add(alias);
  return [...names].sort();
}

/** Test hook: forget everything cached in this isolate. */
export function clearRouteCache(): void {
  routeCache.clear();
  aliasListCache.clear();
}
