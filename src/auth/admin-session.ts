/**
 * The dashboard's sign-in (issue 14): the admin token, typed once into a
 * password field, is exchanged for a session cookie the Worker signs, so the
 * token never sits in the browser's storage or in a URL. The cookie is
 * HttpOnly, Secure, SameSite=Strict, and a request it authenticates must also
 * carry the session's CSRF token in a header (a page on another site can make
 * the browser send a cookie, never set a header), so no other site can drive
 * the admin API through a signed-in browser.
 *
 * The cookie is `<payload>.<signature>`: the payload its expiry and CSRF token,
 * the signature an HMAC-SHA-256 under a key derived from ADMIN_TOKEN, so
 * rotating the token signs every session out. Nothing is stored server-side.
 */
import { randomBase62 } from "./crypto.ts";

export const SESSION_COOKIE = "sy_session";
export const CSRF_HEADER = "x-switchyard-csrf";
/** How long a sign-in lasts. */
export const SESSION_TTL_S = 12 * 3600;

const encoder = new TextEncoder();

export interface Session {
  /** Epoch seconds the session ends. */
  readonly exp: number;
  readonly csrf: string;
}

const base64url = (bytes: Uint8Array): string => btoa(String.fromCharCode(...bytes)).replaceAll("+", "-").replaceAll("/", "_").replaceAll("=", "");

function fromBase64url(text: string): Uint8Array | null {
  try {
    const binary = atob(text.replaceAll("-", "+").replaceAll("_", "/"));
    return Uint8Array.from(binary, (c) => c.charCodeAt(0));
  } catch {
    return null;
  }
}

const keys = new Map<string, Promise<CryptoKey>>();

/** The signing key for `adminToken` (derived, so the cookie's key is not the token itself). */
function signingKey(adminToken: string): Promise<CryptoKey> {
  let key = keys.get(adminToken);
  if (key === undefined) {
    key = crypto.subtle
      .digest("SHA-256", encoder.encode(`switchyard-session\n${adminToken}`))
      .then((raw) => crypto.subtle.importKey("raw", raw, { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]));
    if (keys.size >= 4) keys.clear(); // a deployment has one token; a rotation leaves an old one behind
    keys.set(adminToken, key);
  }
  return key;
}

/** A new session's cookie value and its CSRF token. */
export async function newSession(adminToken: string, now = Date.now()): Promise<{ value: string; session: Session }> {
  const session: Session = { exp: Math.floor(now / 1000) + SESSION_TTL_S, csrf: randomBase62(32) };
  const payload = base64url(encoder.encode(JSON.stringify(session)));
  const signature = new Uint8Array(await crypto.subtle.sign("HMAC", await signingKey(adminToken), encoder.encode(payload)));
  return { value: `${payload}.${base64url(signature)}`, session };
}

/** The session a cookie value stands for, or null (malformed, forged, signed under another token, expired). */
export async function readSession(adminToken: string, value: string, now = Date.now()): Promise<Session | null> {
  const [payload, signature, ...rest] = value.split(".");
  if (payload === undefined || signature === undefined || rest.length > 0 || payload.length > 512) return null;
  const sig = fromBase64url(signature);
  if (sig === null) return null;
  const valid = await crypto.subtle.verify("HMAC", await signingKey(adminToken), sig, encoder.encode(payload));
  if (!valid) return null;
  const bytes = fromBase64url(payload);
  if (bytes === null) return null;
  try {
    const parsed = JSON.parse(new TextDecoder().decode(bytes)) as Partial<Session>;
    if (typeof parsed.exp !== "number" || typeof parsed.csrf !== "string" || parsed.exp * 1000 <= now) return null;
    return { exp: parsed.exp, csrf: parsed.csrf };
  } catch {
    return null;
  }
}

/** The Set-Cookie value for a session (or, with null, the one that removes it). */
export function sessionCookie(value: string | null): string {
  const attributes = "Path=/; HttpOnly; Secure; SameSite=Strict";
  return value === null ? `${SESSION_COOKIE}=; Max-Age=0; ${attributes}` : `${SESSION_COOKIE}=${value}; Max-Age=${SESSION_TTL_S}; ${attributes}`;
}

/** The session cookie's value in a Cookie header, if any. */
export function cookieValue(header: string | undefined): string | null {
  for (const part of (header ?? "").split(";")) {
    const [name, ...value] = part.trim().split("=");
    if (name === SESSION_COOKIE) return value.join("=");
  }
  return null;
}
