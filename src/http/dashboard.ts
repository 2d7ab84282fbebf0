/**
 * /dashboard: the dashboard's files (Workers Static Assets, built from
 * dashboard/ by scripts/build-dashboard.ts), served through the Worker so that
 * it is off without ADMIN_TOKEN, like the admin API, and every page carries a
 * strict Content-Security-Policy: scripts, styles and calls from this origin
 * only, no inline script, no framing.
 */
import type { Context } from "hono";
import { adminDisabled } from "../auth/admin-token.ts";
import type { AppEnv } from "../env.ts";
import { GatewayError } from "./errors.ts";

const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "content-security-policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
};

export async function dashboard(c: Context<AppEnv>): Promise<Response> {
  const token = c.env.ADMIN_TOKEN;
  if (token === undefined || token.length === 0) throw adminDisabled();
  const assets = c.env.ASSETS;
  if (assets === undefined) throw new GatewayError(404, "The dashboard is not built into this deployment (no ASSETS binding).", { code: "dashboard_missing" });
  const path = new URL(c.req.url).pathname;
  // /dashboard and its views are the one page; its files are what they are named.
  const file = /^\/dashboard\/[\w.-]+\.(js|css)$/.test(path) ? path : "/dashboard/index.html";
  const asset = await assets.fetch(new Request(new URL(file, c.req.url), { headers: c.req.raw.headers }));
  const headers = new Headers(asset.headers);
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) headers.set(name, value);
  return new Response(asset.body, { status: asset.status, headers });
}
