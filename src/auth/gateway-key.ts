import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../env.ts";
import { GatewayError } from "../http/errors.ts";
import { secretsEqual } from "./crypto.ts";
import { findKeyBySecret } from "./key-store.ts";

/** The caller, as the rest of the request path sees it. */
export interface GatewayKey {
  id: string;
  name: string;
  /** Allowed models (aliases, `provider/model`, `provider/*`); null allows all. */
  models: readonly string[] | null;
  maxCostPerRequestUsd?: number | undefined;
  allowUnpriced?: boolean | undefined;
  degradeTo?: string | undefined;
  alertWebhook?: string | undefined;
  /** Requests and tokens per window, for the key, its end users and its models (src/limits/config.ts). */
  limits?: import("../limits/config.ts").KeyLimits | undefined;
  /** Keep request and response bodies in R2 (observability/bodies.ts). */
  logBodies?: "off" | "anomalies" | "all" | undefined;
  /** false: /v1/responses answers are not kept, whatever the request's `store` (http/responses/store.ts). */
  storeResponses?: boolean | undefined;
  /** Requests must name their end user (400 otherwise). */
  requireEndUser?: boolean | undefined;
  /** The end user of every request of the key, whatever the request says. */
  pinEndUser?: string | undefined;
}

const DEV_KEY: GatewayKey = { id: "dev", name: "development key", models: null };

/** The bearer token from `Authorization`, or `x-api-key` (the Anthropic SDKs' header). */
function presentedKey(headers: Headers): string | null {
  const authorization = headers.get("authorization");
  if (authorization !== null) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    return match?.[1] ?? null;
  }
  const apiKey = headers.get("x-api-key");
  return apiKey !== null && apiKey.length > 0 ? apiKey.trim() : null;
}

/**
 * Authenticates a gateway key: the presented secret is looked up (isolate
 * cache, then KV by its SHA-256). Sets `c.var.gatewayKey`.
 */
export function gatewayKeyAuth(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const secret = presentedKey(c.req.raw.headers);
    if (secret === null) {
      throw new GatewayError(401, "Missing gateway key. Send it as 'Authorization: Bearer <key>'.", {
        code: "missing_api_key",
      });
    }
    const devKey = c.env.DEV_GATEWAY_KEY;
    if (devKey !== undefined && devKey.length > 0 && (await secretsEqual(secret, devKey))) {
      c.set("gatewayKey", DEV_KEY);
      return next();
    }
    const record = await findKeyBySecret(c.env, c.executionCtx, secret).catch((err: unknown) => {
      // The revocation view could not be refreshed in time: a key that may be revoked is not served.
      console.error(JSON.stringify({ msg: "key_check_failed", error: String(err) }));
      throw new GatewayError(503, "The gateway could not check this key's revocation status; try again shortly.", { code: "key_check_unavailable", headers: { "retry-after": "1" } });
    });
    if (record === null) {
      throw new GatewayError(401, "Invalid gateway key: it does not exist or has been revoked.", {
        code: "invalid_api_key",
      });
    }
    c.set("gatewayKey", record);
    return next();
  };
}

/** Whether a key may call `model` (as the client named it). */
export function modelAllowed(key: GatewayKey, model: string): boolean {
  if (key.models === null) return true;
  for (const pattern of key.models) {
    if (pattern === model || pattern === "*") return true;
    if (pattern.endsWith("/*") && model.startsWith(pattern.slice(0, -1))) return true;
  }
  return false;
}

export function modelNotAllowed(model: string): GatewayError {
  return new GatewayError(403, `This gateway key is not allowed to use the model '${model}'.`, { code: "model_not_allowed", param: "model" });
}
