/**
 * /admin/health: every target's RouteHealth state, and the operator's reset of a
 * breaker. Targets are listed from the registry each RouteHealth writes on its
 * first report (src/routing/target-registry.ts); a model name may contain '/'.
 * The list comes in pages (`?limit=`, default 100, at most 500; `?cursor=` from
 * the previous page) and asks at most STATE_READS_AT_ONCE objects at a time, so
 * one admin request cannot fan out to every target at once.
 */
import { Hono, type Context } from "hono";
import type { TargetHealthDetail } from "../routing/health-state.ts";
import { listTargetPage } from "../routing/target-registry.ts";
import type { AppEnv, Env } from "../env.ts";
import { findPreset } from "../providers/registry.ts";
import { adoptResetHealth } from "../routing/health.ts";
import { targetId, type TargetId } from "../routing/health-types.ts";
import { GatewayError, invalidRequest } from "./errors.ts";

const DEFAULT_LIST_LIMIT = 100;
const MAX_LIST_LIMIT = 500;
/** Durable Object reads one list request keeps in flight. */
const STATE_READS_AT_ONCE = 10;

function namespace(env: Env): NonNullable<Env["ROUTE_HEALTH"]> {
  const ns = env.ROUTE_HEALTH;
  if (ns === undefined) {
    throw new GatewayError(503, "Route health is not enabled on this deployment (no ROUTE_HEALTH Durable Object binding).", {
      code: "route_health_disabled",
    });
  }
  return ns;
}

function targetParam(c: Context<AppEnv>): TargetId {
  const provider = c.req.param("provider") ?? "";
  const model = c.req.param("model") ?? "";
  if (findPreset(provider) === undefined) {
    throw new GatewayError(404, `Unknown provider '${provider}'.`, { code: "provider_not_found", param: "provider" });
  }
  return targetId(provider, model);
}

const noHealth = (target: TargetId): GatewayError =>
  new GatewayError(404, `No attempts have been recorded for the target '${target}'.`, { code: "target_not_found", param: "target" });

function described(detail: TargetHealthDetail): TargetHealthDetail & { provider: string; model: string } {
  const slash = detail.target.indexOf("/");
  return { provider: detail.target.slice(0, slash), model: detail.target.slice(slash + 1), ...detail };
}

function listLimit(raw: string | undefined): number {
  if (raw === undefined) return DEFAULT_LIST_LIMIT;
  const limit = /^\d{1,4}$/.test(raw) ? Number(raw) : Number.NaN;
  if (!(limit >= 1 && limit <= MAX_LIST_LIMIT)) throw invalidRequest(`'limit' must be a whole number from 1 to ${MAX_LIST_LIMIT}.`, "limit", "invalid_value");
  return limit;
}

/** `read` of every item, at most `width` at a time, in the items' order. */
async function mapAtMost<T, R>(items: readonly T[], width: number, read: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      results[i] = await read(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, worker));
  return results;
}

export function healthRoutes(): Hono<AppEnv> {
  const health = new Hono<AppEnv>();

  health.get("/", async (c) => {
    const ns = namespace(c.env);
    const limit = listLimit(c.req.query("limit"));
    const page = await listTargetPage(c.env.CONFIG, limit, c.req.query("cursor") || undefined);
    const states = await mapAtMost(page.targets, STATE_READS_AT_ONCE, (t) => ns.getByName(t).state());
    return c.json({ object: "list", data: states.filter((s) => s !== null).map(described), has_more: page.cursor !== null, next_cursor: page.cursor });
  });

  health.get("/:provider/:model{.+}", async (c) => {
    const target = targetParam(c);
    const state = await namespace(c.env).getByName(target).state();
    if (state === null) throw noHealth(target);
    return c.json(described(state));
  });

  health.post("/:provider/:model{.+}/reset", async (c) => {
    const target = targetParam(c);
    const reset = await namespace(c.env).getByName(target).reset();
    if (reset === null) throw noHealth(target);
    adoptResetHealth(target, reset);
    return c.json(described(reset.detail));
  });

  return health;
}
