/**
 * /admin/session: the dashboard's sign-in and sign-out (auth/admin-session.ts).
 * POST takes the admin token in the body (a password field's value, never a
 * URL), answers with the session's CSRF token and sets the session cookie;
 * GET tells a page whether it is signed in (and its CSRF token, readable by
 * that page only: no other origin can read the answer); DELETE signs out.
 */
import { Hono } from "hono";
import * as z from "zod";
import { adminDisabled } from "../auth/admin-token.ts";
import { cookieValue, newSession, readSession, sessionCookie } from "../auth/admin-session.ts";
import { secretsEqual } from "../auth/crypto.ts";
import { settingsFor } from "../config/settings.ts";
import type { AppEnv, Env } from "../env.ts";
import { readJsonObject } from "./body.ts";
import { GatewayError } from "./errors.ts";
import { validate } from "./validate.ts";

export const signInSchema = z.strictObject({ token: z.string().min(1).max(1024) });

function adminToken(env: Env): string {
  const token = env.ADMIN_TOKEN;
  if (token === undefined || token.length === 0) throw adminDisabled();
  return token;
}

/** Answers that hold a session's CSRF token are never cached anywhere. */
const NO_STORE = { "cache-control": "no-store" };

export function sessionRoutes(): Hono<AppEnv> {
  const routes = new Hono<AppEnv>();

  routes.post("/", async (c) => {
    const token = adminToken(c.env);
    const { token: given } = validate(signInSchema, await readJsonObject(c.req.raw, settingsFor(c.env)));
    if (!(await secretsEqual(given, token))) throw new GatewayError(401, "That is not this gateway's admin token.", { code: "invalid_admin_token", param: "token" });
    const { value, session } = await newSession(token);
    return c.json({ signedIn: true, csrfToken: session.csrf, expiresAt: new Date(session.exp * 1000).toISOString() }, 200, { ...NO_STORE, "set-cookie": sessionCookie(value) });
  });

  routes.get("/", async (c) => {
    const token = adminToken(c.env);
    const cookie = cookieValue(c.req.header("cookie"));
    const session = cookie === null ? null : await readSession(token, cookie);
    if (session === null) return c.json({ signedIn: false }, 200, NO_STORE);
    return c.json({ signedIn: true, csrfToken: session.csrf, expiresAt: new Date(session.exp * 1000).toISOString() }, 200, NO_STORE);
  });

  routes.delete("/", (c) => c.json({ signedIn: false }, 200, { ...NO_STORE, "set-cookie": sessionCookie(null) }));

  return routes;
}
