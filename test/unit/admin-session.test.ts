/** Issue 14, item 2: the dashboard's sign-in: a signed session cookie, and the admin API taking it only with its CSRF token. */
import { describe, expect, it } from "vitest";
import { newSession, readSession } from "../../src/auth/admin-session.ts";
import { ADMIN_TOKEN, gateway, testEnv, type OpenAIError } from "./helpers.ts";

const post = (token: string, env = testEnv()) =>
  gateway("/admin/session", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ token }) }, env);

async function signIn(env = testEnv()): Promise<{ cookie: string; csrf: string; setCookie: string }> {
  const res = await post(ADMIN_TOKEN, env);
  expect(res.status).toBe(200);
  const setCookie = res.headers.get("set-cookie") ?? "";
  const { csrfToken } = await res.json<{ csrfToken: string }>();
  return { cookie: setCookie.split(";")[0] ?? "", csrf: csrfToken, setCookie };
}

describe("dashboard sign-in", () => {
  it("exchanges the admin token for an HttpOnly, Secure, SameSite=Strict session cookie; a wrong token is a 401", async () => {
    expect((await post("not-the-token")).status).toBe(401);
    const { setCookie, csrf } = await signIn();
    expect(setCookie).toMatch(/^sy_session=[\w-]+\.[\w-]+; Max-Age=43200; Path=\/; HttpOnly; Secure; SameSite=Strict$/);
    expect(csrf).toMatch(/^[0-9A-Za-z]{32}$/);
    expect(setCookie).not.toContain(ADMIN_TOKEN);
  });

  it("the admin API takes the session only with its CSRF token in x-switchyard-csrf", async () => {
    const { cookie, csrf } = await signIn();
    const keys = (headers: Record<string, string>) => gateway("/admin/keys", { headers });
    expect((await keys({ cookie, "x-switchyard-csrf": csrf })).status).toBe(200);
    const missing = await keys({ cookie });
    expect(missing.status).toBe(403);
    expect((await missing.json<OpenAIError>()).error.code).toBe("csrf_token_invalid");
    expect((await keys({ cookie, "x-switchyard-csrf": "x".repeat(32) })).status).toBe(403);
    // A forged or altered cookie is no session at all.
    const [payload, signature] = cookie.slice("sy_session=".length).split(".");
    expect((await keys({ cookie: `sy_session=${payload}x.${signature}`, "x-switchyard-csrf": csrf })).status).toBe(401);
  });

  it("GET /admin/session tells the page it is signed in; DELETE signs out; a new ADMIN_TOKEN signs every session out", async () => {
    const { cookie, csrf } = await signIn();
    const state = await gateway("/admin/session", { headers: { cookie } });
    expect(state.headers.get("cache-control")).toBe("no-store");
    expect(await state.json()).toMatchObject({ signedIn: true, csrfToken: csrf });
    const out = await gateway("/admin/session", { method: "DELETE" });
    expect(out.headers.get("set-cookie")).toMatch(/^sy_session=; Max-Age=0;/);
    const rotated = testEnv({ ADMIN_TOKEN: "a-new-admin-token" });
    expect((await gateway("/admin/keys", { headers: { cookie, "x-switchyard-csrf": csrf } }, rotated)).status).toBe(401);
    expect(await (await gateway("/admin/session", { headers: { cookie } }, rotated)).json()).toEqual({ signedIn: false });
  });

  it("expires, and is off without ADMIN_TOKEN like the admin API", async () => {
    const { value } = await newSession(ADMIN_TOKEN, Date.parse("2026-01-01T00:00:00Z"));
    expect(await readSession(ADMIN_TOKEN, value, Date.parse("2026-01-01T11:59:00Z"))).not.toBeNull();
    expect(await readSession(ADMIN_TOKEN, value, Date.parse("2026-01-01T12:00:01Z"))).toBeNull();
    const off = await post(ADMIN_TOKEN, testEnv({ ADMIN_TOKEN: undefined }));
    expect(off.status).toBe(403);
    expect((await off.json<OpenAIError>()).error.code).toBe("admin_disabled");
  });
});
