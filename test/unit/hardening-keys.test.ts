/**
 * Issue 12, item 4: a revocation wins. A PATCH that read the key before the
 * DELETE, or a stale KV copy in another location, cannot bring a revoked key
 * back, and every isolate refuses it within 30 s (src/auth/revocations.ts).
 */
import { env } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { sha256Hex } from "../../src/auth/crypto.ts";
import { clearKeyCache, revokeKey, updateKey } from "../../src/auth/key-store.ts";
import { revocationsOf } from "../../src/auth/revocations.ts";
import { admin, gateway, json, testEnv } from "./helpers.ts";

const hello = [{ role: "user", content: "hi" }];
const call = (key: string) => gateway("/v1/chat/completions", json({ model: "openai/gpt-4o-mini", messages: hello }, key));

async function newKey(): Promise<{ id: string; key: string; hash: string }> {
  const res = await gateway("/admin/keys", admin("POST", { name: "revocable" }));
  const created = await res.json<{ id: string; key: string }>();
  return { ...created, hash: await sha256Hex(created.key) };
}

afterEach(() => {
  vi.useRealTimers();
});

describe("a revoked key stays revoked", () => {
  it("the record written back by a PATCH that raced the DELETE (or read stale from KV) does not authenticate", async () => {
    const { id, key, hash } = await newKey();
    expect((await call(key)).status).toBe(200);
    const stale = await env.CONFIG.get(`key:${hash}`);
    expect((await gateway(`/admin/keys/${id}`, admin("DELETE"))).status).toBe(200);
    // What the racing PATCH writes after the DELETE, as another isolate would read it.
    await env.CONFIG.put(`key:${hash}`, stale ?? "");
    await env.CONFIG.put(`keyid:${id}`, hash);
    clearKeyCache();
    expect((await call(key)).status).toBe(401);
    // The PATCH itself, now: the key is gone, and its records are taken back out of KV.
    expect((await gateway(`/admin/keys/${id}`, admin("PATCH", { name: "renamed" }))).status).toBe(404);
  });

  it("a PATCH and a DELETE run at once, in either order, leave the key revoked and out of KV", async () => {
    const bindings = testEnv();
    for (let round = 0; round < 4; round++) {
      const { id, key, hash } = await newKey();
      const patch = updateKey(bindings, id, { name: `renamed-${round}` });
      const revoke = revokeKey(bindings, id);
      const [, revoked] = round % 2 === 0 ? await Promise.all([patch, revoke]) : (await Promise.all([revoke, patch])).reverse();
      expect(revoked).toBe(true);
      clearKeyCache();
      expect((await call(key)).status).toBe(401);
      expect(await env.CONFIG.get(`key:${hash}`)).toBeNull();
      expect(await env.CONFIG.get(`keyid:${id}`)).toBeNull();
    }
  });

  it("a revocation made elsewhere is refused here within 30 s, though this isolate cached the key and KV still serves it", async () => {
    const { key, hash } = await newKey();
    expect((await call(key)).status).toBe(200);
    // Another isolate revokes: the Durable Object learns it; this isolate's cache and KV's edge copy do not.
    const revocations = env.KEY_REVOCATIONS;
    if (revocations === undefined) throw new Error("wrangler.toml binds KEY_REVOCATIONS");
    await revocationsOf(revocations).revoke(hash);
    vi.useFakeTimers({ now: Date.now() + 30_000, toFake: ["Date"] });
    expect((await call(key)).status).toBe(401);
    expect(await env.CONFIG.get(`key:${hash}`)).not.toBeNull();
  });

  it("a revocation list that does not answer is a 503 within seconds, never a request left hanging", async () => {
    const { key } = await newKey();
    // An unreachable Durable Object (a fault no local binding can be made to have): its calls never settle.
    const unreachable = { idFromName: () => ({}), get: () => ({ since: () => new Promise<never>(() => {}) }) };
    const broken = { ...testEnv(), KEY_REVOCATIONS: unreachable } as unknown as ReturnType<typeof testEnv>;
    vi.useFakeTimers({ now: Date.now() + 60_000, toFake: ["Date"] });
    const started = performance.now();
    const res = await gateway("/v1/chat/completions", json({ model: "openai/gpt-4o-mini", messages: hello }, key), broken);
    expect(res.status).toBe(503);
    expect((await res.json<{ error: { code: string } }>()).error.code).toBe("key_check_unavailable");
    expect(performance.now() - started).toBeLessThan(5_000);
  });
});
