import { describe, expect, it } from "vitest";
import { ADMIN_TOKEN, admin, gateway, json, testEnv, uniqueTag, type OpenAIError } from "./helpers.ts";

const hello = [{ role: "user", content: "hi" }];
interface CreatedKey {
  id: string;
  key: string;
  name: string;
  models: string[] | null;
  prefix: string;
}

async function createKey(body: unknown): Promise<CreatedKey> {
  const res = await gateway("/admin/keys", admin("POST", body));
  expect(res.status).toBe(201);
  return res.json<CreatedKey>();
}

describe("admin authentication", () => {
  it("is disabled (403) without ADMIN_TOKEN, and refuses a wrong token (401)", async () => {
    const off = await gateway("/admin/keys", admin("GET"), testEnv({ ADMIN_TOKEN: undefined }));
    expect(off.status).toBe(403);
    expect((await off.json<OpenAIError>()).error.code).toBe("admin_disabled");
    const wrong = await gateway("/admin/keys", admin("GET", undefined, `${ADMIN_TOKEN}x`));
    expect(wrong.status).toBe(401);
    const none = await gateway("/admin/keys", { method: "GET" });
    expect(none.status).toBe(401);
  });
});

describe("gateway keys", () => {
  it("creates a key shown once, stores only its hash, and lists it without the secret", async () => {
    const created = await createKey({ name: "billing-service" });
    expect(created.key).toMatch(/^sk-sy-[0-9A-Za-z]{40}$/);
    expect(created.id).toMatch(/^key_/);
    const res = await gateway("/v1/chat/completions", json({ model: "openai/gpt-4o-mini", messages: hello }, created.key));
    expect(res.status).toBe(200);

    const listed = await (await gateway("/admin/keys", admin("GET"))).json<{ data: CreatedKey[] }>();
    const mine = listed.data.find((k) => k.id === created.id);
    expect(mine?.name).toBe("billing-service");
    expect(JSON.stringify(listed)).not.toContain(created.key);
    const { env } = await import("cloudflare:test");
    const stored = await env.CONFIG.list();
    for (const k of stored.keys) {
      expect(k.name).not.toContain(created.key);
      expect(await env.CONFIG.get(k.name)).not.toContain(created.key);
    }
  });

  it("revokes a key at once", async () => {
    const created = await createKey({ name: "short-lived" });
    const ok = await gateway("/v1/chat/completions", json({ model: "fast", messages: hello }, created.key));
    expect(ok.status).toBe(200);
    const del = await gateway(`/admin/keys/${created.id}`, admin("DELETE"));
    expect(del.status).toBe(200);
    const after = await gateway("/v1/chat/completions", json({ model: "fast", messages: hello }, created.key));
    expect(after.status).toBe(401);
    expect((await gateway(`/admin/keys/${created.id}`, admin("DELETE"))).status).toBe(404);
    expect((await gateway(`/admin/keys/${"x".repeat(600)}`, admin("DELETE"))).status).toBe(404);
  });

  it("enforces the model allow-list with 403, and filters /v1/models by it", async () => {
    const created = await createKey({ name: "limited", models: ["fast", "deepseek/*"] });
    const call = (model: string) => gateway("/v1/chat/completions", json({ model, messages: hello }, created.key));
    expect((await call("fast")).status).toBe(200);
    expect((await call("deepseek/deepseek-chat")).status).toBe(200);
    const denied = await call("openai/gpt-4o");
    expect(denied.status).toBe(403);
    const body = await denied.json<OpenAIError>();
    expect(body.error.code).toBe("model_not_allowed");
    expect(body.error.type).toBe("permission_error");
    const models = await (await gateway("/v1/models", { headers: { authorization: `Bearer ${created.key}` } })).json<{ data: Array<{ id: string }> }>();
    const ids = models.data.map((m) => m.id);
    expect(ids).toContain("fast");
    expect(ids).toContain("deepseek/deepseek-chat");
    expect(ids).not.toContain("openai/gpt-4o");
  });

  it("lists keys whose allow-list is too long for KV metadata too", async () => {
    const models = Array.from({ length: 60 }, (_, i) => `openai/model-with-a-long-name-${i}`);
    const created = await createKey({ name: "long-allow-list", models });
    const listed = await (await gateway("/admin/keys", admin("GET"))).json<{ data: CreatedKey[] }>();
    expect(listed.data.find((k) => k.id === created.id)?.models).toEqual(models);
  });

  it("validates the create body", async () => {
    expect((await gateway("/admin/keys", admin("POST", {}))).status).toBe(400);
    expect((await gateway("/admin/keys", admin("POST", { name: "x", models: "all" }))).status).toBe(400);
    expect((await gateway("/admin/keys", admin("POST", { name: "x", typo: 1 }))).status).toBe(400);
  });
});

describe("routes", () => {
  it("PUT, GET, call, and DELETE an alias", async () => {
    const alias = uniqueTag("route").slice(0, 40);
    const route = { targets: [{ provider: "deepseek", model: "deepseek-reasoner" }, { provider: "openai", model: "gpt-4o" }] };
    const put = await gateway(`/admin/routes/${alias}`, admin("PUT", route));
    expect(put.status).toBe(200);
    const got = await (await gateway(`/admin/routes/${alias}`, admin("GET"))).json<{ route: { strategy: string; targets: unknown[] }; source: string }>();
    expect(got.source).toBe("kv");
    expect(got.route.strategy).toBe("fallback");
    expect(got.route.targets).toEqual(route.targets);

    const res = await gateway("/v1/chat/completions", json({ model: alias, messages: hello }));
    expect(res.status).toBe(200);
    expect(res.headers.get("x-switchyard-model")).toBe("deepseek-reasoner");

    const listed = await (await gateway("/admin/routes", admin("GET"))).json<{ data: Array<{ alias: string }> }>();
    expect(listed.data.map((r) => r.alias)).toContain(alias);

    expect((await gateway(`/admin/routes/${alias}`, admin("DELETE"))).status).toBe(200);
    expect((await gateway(`/admin/routes/${alias}`, admin("GET"))).status).toBe(404);
    expect((await gateway("/v1/chat/completions", json({ model: alias, messages: hello }))).status).toBe(404);
  });

  it("refuses invalid routes with 400 naming the problem", async () => {
    const put = (alias: string, body: unknown) => gateway(`/admin/routes/${alias}`, admin("PUT", body));
    const noTargets = await put("bad1", { targets: [] });
    expect(noTargets.status).toBe(400);
    expect((await noTargets.json<OpenAIError>()).error.param).toBe("targets");
    const unknown = await put("bad2", { targets: [{ provider: "nope", model: "m" }] });
    expect(unknown.status).toBe(400);
    expect((await unknown.json<OpenAIError>()).error.param).toBe("targets[0].provider");
    expect((await put("bad3", { strategy: "random", targets: [{ provider: "openai", model: "m" }] })).status).toBe(400);
    expect((await put("has.ok-name", { targets: [{ provider: "openai", model: "m", weight: -1 }] })).status).toBe(400);
    expect((await gateway("/admin/routes/" + encodeURIComponent("a/b"), admin("PUT", { targets: [{ provider: "openai", model: "m" }] }))).status).toBeLessThan(500);
  });

  it("503 when an alias has no target on a configured provider", async () => {
    const alias = "only-groq";
    await gateway(`/admin/routes/${alias}`, admin("PUT", { targets: [{ provider: "groq", model: "llama-3.1-8b-instant" }] }));
    const res = await gateway("/v1/chat/completions", json({ model: alias, messages: hello }));
    expect(res.status).toBe(503);
    expect((await res.json<OpenAIError>()).error.code).toBe("no_available_target");
  });
});
