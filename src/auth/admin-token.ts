import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../env.ts";
import { GatewayError } from "../http/errors.ts";
import { CSRF_HEADER, cookieValue, readSession } from "./admin-session.ts";
import { secretsEqual } from "./crypto.ts";

export const adminDisabled = (): GatewayError =>
  new GatewayError(403, "The admin API is disabled: set the ADMIN_TOKEN secret to enable it.", { code: "admin_disabled" });

/**
 * Guards /admin: `Authorization: Bearer <ADMIN_TOKEN>`, compared in constant
 * time, or the dashboard's session cookie with its CSRF token in the
 * `x-switchyard-csrf` header (admin-session.ts). The session endpoints
 * themselves (/admin/session) sign in with the token and are not behind this.
 */
export function adminAuth(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const token = c.env.ADMIN_TOKEN;
    if (token === undefined || token.length === 0) throw adminDisabled();
    const authorization = c.req.header("authorization");
    if (authorization === undefined) {
      const cookie = cookieValue(c.req.header("cookie"));
      const session = cookie === null ? null : await readSession(token, cookie);
      if (session !== null) {
        const csrf = c.req.header(CSRF_HEADER) ?? "";
        if (!(await secretsEqual(csrf, session.csrf))) {
          throw new GatewayError(403, `A signed-in request must carry its session's CSRF token in the '${CSRF_HEADER}' header.`, { code: "csrf_token_invalid" });
        }
        return next();
      }
    }
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? "");
    if (match?.[1] === undefined || !(await secretsEqual(match[1], token))) {
      throw new GatewayError(401, "Invalid or missing admin token.", { code: "invalid_admin_token" });
    }
    return next();
  };
}
