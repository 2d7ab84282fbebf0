import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../env.ts";
import { GatewayError } from "../http/errors.ts";
import { secretsEqual } from "./crypto.ts";

/** Guards /admin: `Authorization: Bearer <ADMIN_TOKEN>`, compared in constant time. */
export function adminAuth(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const token = c.env.ADMIN_TOKEN;
    if (token === undefined || token.length === 0) {
      throw new GatewayError(403, "The admin API is disabled: set the ADMIN_TOKEN secret to enable it.", {
        code: "admin_disabled",
      });
    }
    const match = /^Bearer\s+(\S+)\s*$/i.exec(c.req.header("authorization") ?? "");
    if (match?.[1] === undefined || !(await secretsEqual(match[1], token))) {
      throw new GatewayError(401, "Invalid or missing admin token.", { code: "invalid_admin_token" });
    }
    return next();
  };
}
