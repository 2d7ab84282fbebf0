import type { Context } from "hono";
import type { AppEnv } from "../env.ts";
import { configuredProviders } from "../providers/registry.ts";

/** GET /health: liveness plus what this deployment is set up to do (no secrets). */
export function health(c: Context<AppEnv>): Response {
  return c.json({
    status: "ok",
    providers: [...configuredProviders(c.env).keys()],
    adminApi: c.env.ADMIN_TOKEN !== undefined && c.env.ADMIN_TOKEN.length > 0 ? "enabled" : "disabled",
  });
}
