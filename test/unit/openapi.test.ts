/** Issue 13, item 5: GET /admin/openapi.json describes every admin endpoint, from the schemas the endpoints validate with. */
import { describe, expect, it } from "vitest";
import { adminRoutes } from "../../src/http/admin.ts";
import { sessionRoutes } from "../../src/http/admin-session.ts";
import { admin, gateway } from "./helpers.ts";

interface Document {
  openapi: string;
  paths: Record<string, Record<string, { parameters: Array<{ name: string; in: string }>; requestBody?: { content: { "application/json": { schema: { properties?: Record<string, unknown> } } } } }>>;
}

/** `/routes/:alias` → `/routes/{alias}`; `/health/:provider/:model{.+}/reset` → `/health/{provider}/{model}/reset`. */
const templated = (path: string): string => path.replace(/:(\w+)(\{[^}]*\})?/g, "{$1}").replace(/\/$/, "");

describe("GET /admin/openapi.json", () => {
  it("is an OpenAPI 3.1 document covering every route the admin app serves", async () => {
    const res = await gateway("/admin/openapi.json", admin("GET"));
    expect(res.status).toBe(200);
    const doc = await res.json<Document>();
    expect(doc.openapi).toBe("3.1.0");
    const served = new Set([
      ...adminRoutes().routes.filter((r) => r.method !== "ALL").map((r) => `${r.method.toLowerCase()} /admin${templated(r.path)}`),
      ...sessionRoutes().routes.map((r) => `${r.method.toLowerCase()} /admin/session${templated(r.path)}`),
    ]);
    const documented = new Set(Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((method) => `${method} ${path}`)));
    expect([...served].sort()).toEqual([...documented].sort());
  });

  it("takes its bodies and query parameters from the endpoints' own zod schemas", async () => {
    const doc = await (await gateway("/admin/openapi.json", admin("GET"))).json<Document>();
    const createKey = doc.paths["/admin/keys"]?.post?.requestBody?.content["application/json"].schema;
    expect(Object.keys(createKey?.properties ?? {})).toEqual(expect.arrayContaining(["name", "models", "maxCostPerRequestUsd", "logBodies", "requireEndUser", "pinEndUser", "limits"]));
    const requests = doc.paths["/admin/requests"]?.get?.parameters.map((p) => p.name);
    expect(requests).toEqual(["key", "user", "model", "provider", "status", "outcome", "anomaly", "from", "to", "limit", "cursor"]);
    expect(doc.paths["/admin/budgets/{scope}"]?.put?.parameters).toEqual([{ name: "scope", in: "path", required: true, schema: { type: "string" } }]);
  });

  it("needs the admin token like the rest of the admin API", async () => {
    expect((await gateway("/admin/openapi.json", { method: "GET" })).status).toBe(401);
  });
});
