import type { Context } from "hono";
import type { AppEnv } from "../env.ts";
import { limitsEnabled } from "../limits/limiter.ts";
import { configuredProviders } from "../providers/registry.ts";

/** GET /health: liveness plus what this deployment is set up to do (no secrets). */
export function health(c: Context<AppEnv>): Response {
  const { env } = c;
  return c.json({
    status: "ok",
    providers: [...configuredProviders(env).keys()],
    adminApi: env.ADMIN_TOKEN !== undefined && env.ADMIN_TOKEN.length > 0 ? "enabled" : "disabled",
    rateLimits: limitsEnabled(env)
      ? { status: "enabled", onRedisFailure: env.RATE_LIMIT_ON_REDIS_FAILURE === "closed" ? "closed" : "open" }
      : { status: "disabled", why: "UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN are not set" },
    budgets: env.SPEND_LEDGER !== undefined ? "enabled" : "disabled",
  });
}
