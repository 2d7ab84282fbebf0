import { Hono } from "hono";
import { adminAuth } from "../auth/admin-token.ts";
import { KEY_ID_PATTERN, createKey, listKeys, revokeKey, updateKey } from "../auth/key-store.ts";
import { deleteRoute, getRoute, listAliases, putRoute } from "../config/routes.ts";
import { aliasNameSchema, createKeySchema, routeSchema, updateKeySchema, type Route } from "../config/schemas.ts";
import { settingsFor } from "../config/settings.ts";
import type { AppEnv } from "../env.ts";
import { findPreset } from "../providers/registry.ts";
import { readJsonObject } from "./body.ts";
import { GatewayError, invalidRequest } from "./errors.ts";
import { validate } from "./validate.ts";
import { healthRoutes } from "./admin-health.ts";
import { priceRoutes } from "./admin-prices.ts";
import { budgetRoutes, usageReport } from "./admin-budgets.ts";
import { requestLogRoutes } from "./admin-requests.ts";
import { openApiDocument } from "./openapi.ts";

function aliasParam(raw: string): string {
  const parsed = aliasNameSchema.safeParse(raw);
  if (!parsed.success) throw invalidRequest(`Invalid alias '${raw}': ${parsed.error.issues[0]?.message ?? "bad name"}.`, "alias");
  return parsed.data;
}

/** Targets must name providers the gateway knows (configured or not: keys may come later). */
function checkTargets(route: Route): void {
  route.targets.forEach((t, i) => {
    if (findPreset(t.provider) === undefined) {
      throw invalidRequest(`Unknown provider '${t.provider}' in targets[${i}].`, `targets[${i}].provider`);
    }
  });
}

const routeNotFound = (alias: string): GatewayError =>
  new GatewayError(404, `No route for the alias '${alias}'.`, { code: "route_not_found", param: "alias" });

/** /admin: routes (aliases), gateway keys, route health, prices, budgets and usage. Everything here requires ADMIN_TOKEN. */
export function adminRoutes(): Hono<AppEnv> {
  const admin = new Hono<AppEnv>();
  admin.use("*", adminAuth());

  admin.get("/routes", async (c) => {
    const aliases = await listAliases(c.env);
    const routes = await Promise.all(aliases.map((a) => getRoute(c.env, a)));
    return c.json({ object: "list", data: routes.filter((r) => r !== null) });
  });

  admin.get("/routes/:alias", async (c) => {
    const alias = aliasParam(c.req.param("alias"));
    const stored = await getRoute(c.env, alias);
    if (stored === null) throw routeNotFound(alias);
    return c.json(stored);
  });

  admin.put("/routes/:alias", async (c) => {
    const alias = aliasParam(c.req.param("alias"));
    const route = validate(routeSchema, await readJsonObject(c.req.raw, settingsFor(c.env)));
    checkTargets(route);
    return c.json(await putRoute(c.env, alias, route));
  });

  admin.delete("/routes/:alias", async (c) => {
    const alias = aliasParam(c.req.param("alias"));
    if (!(await deleteRoute(c.env, alias))) throw routeNotFound(alias);
    return c.json({ alias, deleted: true });
  });

  admin.post("/keys", async (c) => {
    const input = validate(createKeySchema, await readJsonObject(c.req.raw, settingsFor(c.env)));
    const { secret, record } = await createKey(c.env, input);
    // The only time the secret is ever shown: KV keeps just its hash.
    return c.json({ ...record, key: secret }, 201);
  });

  admin.get("/keys", async (c) => c.json({ object: "list", data: await listKeys(c.env) }));

  admin.patch("/keys/:id", async (c) => {
    const id = c.req.param("id");
    const input = validate(updateKeySchema, await readJsonObject(c.req.raw, settingsFor(c.env)));
    const record = KEY_ID_PATTERN.test(id) ? await updateKey(c.env, id, input) : null;
    if (record === null) throw new GatewayError(404, `No gateway key with id '${id}'.`, { code: "key_not_found", param: "id" });
    return c.json(record);
  });

  admin.delete("/keys/:id", async (c) => {
    const id = c.req.param("id");
    if (!KEY_ID_PATTERN.test(id) || !(await revokeKey(c.env, id))) {
      throw new GatewayError(404, `No gateway key with id '${id}'.`, { code: "key_not_found", param: "id" });
    }
    return c.json({ id, revoked: true });
  });

  admin.route("/health", healthRoutes());
  admin.route("/prices", priceRoutes());
  admin.route("/budgets", budgetRoutes());
  admin.get("/usage", usageReport);
  admin.route("/", requestLogRoutes());
  admin.get("/openapi.json", (c) => c.json(openApiDocument()));

  return admin;
}
