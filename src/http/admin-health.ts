/**
 * /admin/health: every target's RouteHealth state, and the operator's reset of a
 * breaker. Targets are listed from the registry each RouteHealth writes on its
 * first report (src/durable/target-registry.ts); a model name may contain '/'.
 */
import { Hono, type Context } from "hono";
import type { TargetHealthDetail } from "../durable/route-health-state.ts";
import { listTargets } from "../durable/target-registry.ts";
import type { AppEnv, Env } from "../env.ts";
import { findPreset } from "../providers/registry.ts";
import { forgetTargetHealth } from "../routing/health.ts";
import { targetId, type TargetId } from "../routing/health-types.ts";
import { GatewayError } from "./errors.ts";

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

export function healthRoutes(): Hono<AppEnv> {
  const health = new Hono<AppEnv>();

  health.get("/", async (c) => {
    const ns = namespace(c.env);
    const targets = await listTargets(c.env.CONFIG);
    const states = await Promise.all(targets.map((t) => ns.getByName(t).state()));
    return c.json({ object: "list", data: states.filter((s) => s !== null).map(described) });
  });

  health.get("/:provider/:model{.+}", async (c) => {
    const target = targetParam(c);
    const state = await namespace(c.env).getByName(target).state();
    if (state === null) throw noHealth(target);
    return c.json(described(state));
  });

  health.post("/:provider/:model{.+}/reset", async (c) => {
    const target = targetParam(c);
    const state = await namespace(c.env).getByName(target).reset();
    if (state === null) throw noHealth(target);
    forgetTargetHealth(target);
    return c.json(described(state));
  });

  return health;
}
