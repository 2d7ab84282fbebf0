/**
 * GET /admin/openapi.json: the admin API as an OpenAPI 3.1 document, generated
 * from the same zod schemas the endpoints validate with (zod's own JSON Schema
 * output, whose 2020-12 dialect is OpenAPI 3.1's). A table lists every admin
 * endpoint; a test checks it against the routes the app really serves, so the
 * document cannot fall behind. (@hono/zod-openapi would have written this
 * table as route definitions, at ~80 KB gzipped more bundle: a third again
 * over the whole gateway, for one document an admin reads now and then.)
 */
import * as z from "zod";
import { budgetSchema } from "../budgets/ledger-types.ts";
import { createKeySchema, routeSchema, updateKeySchema } from "../config/schemas.ts";
import { priceOverrideSchema } from "../metering/price-overrides.ts";
import { usageQuerySchema } from "./admin-budgets.ts";
import { analyticsQuerySchema, anomaliesQuerySchema, requestsQuerySchema, topQuerySchema } from "./admin-requests.ts";
import { signInSchema } from "./admin-session.ts";

type JsonSchema = Record<string, unknown>;

interface Endpoint {
  readonly method: "get" | "put" | "post" | "patch" | "delete";
  /** OpenAPI path template, under /admin. */
  readonly path: string;
  readonly summary: string;
  readonly query?: z.ZodObject;
  readonly body?: z.ZodType;
  /** What a 200 (or 201) holds, in words. */
  readonly answers: string;
  readonly created?: boolean;
}

const priceQuerySchema = z.strictObject({
  provider: z.string().optional(),
  model: z.string().optional().describe("with `provider`: the effective price of that model and where it comes from"),
});

/** Every admin endpoint (test/unit/openapi.test.ts holds this list to the app's routes). */
export const ADMIN_ENDPOINTS: readonly Endpoint[] = [
  { method: "get", path: "/routes", summary: "List routes (aliases)", answers: "`{object: \"list\", data: [route…]}`" },
  { method: "get", path: "/routes/{alias}", summary: "Read a route", answers: "the route" },
  { method: "put", path: "/routes/{alias}", summary: "Create or replace a route", body: routeSchema, answers: "the stored route" },
  { method: "delete", path: "/routes/{alias}", summary: "Delete a route", answers: "`{alias, deleted: true}`" },
  { method: "post", path: "/keys", summary: "Create a gateway key (its secret is shown once)", body: createKeySchema, answers: "the key record and `key`, the secret", created: true },
  { method: "get", path: "/keys", summary: "List gateway keys", answers: "`{object: \"list\", data: [key record…]}` (no secrets)" },
  { method: "patch", path: "/keys/{id}", summary: "Change a key's settings (`null` clears one)", body: updateKeySchema, answers: "the key record" },
  { method: "delete", path: "/keys/{id}", summary: "Revoke a key (every isolate refuses it within 30 s)", answers: "`{id, revoked: true}`" },
  { method: "get", path: "/health", summary: "Every target's circuit breaker, latency and headroom", answers: "`{object: \"list\", data: [target health…]}`" },
  { method: "get", path: "/health/{provider}/{model}", summary: "One target's health", answers: "the target's health" },
  { method: "post", path: "/health/{provider}/{model}/reset", summary: "Close a target's circuit breaker", answers: "the target's health after the reset" },
  { method: "put", path: "/prices", summary: "Set a price override", body: priceOverrideSchema, answers: "the override" },
  { method: "get", path: "/prices", summary: "List overrides, or one model's effective price", query: priceQuerySchema, answers: "the overrides, or `{price, source}`" },
  { method: "delete", path: "/prices/{provider}/{model}", summary: "Delete a price override", answers: "`{provider, model, deleted: true}`" },
  { method: "get", path: "/budgets", summary: "List budgets with their spend", answers: "`{object: \"list\", data: [budget status…]}`" },
  { method: "put", path: "/budgets/{scope}", summary: "Set a scope's budget", body: budgetSchema, answers: "the budget's status: limit, spent, reserved, remaining, period, reset time" },
  { method: "get", path: "/budgets/{scope}", summary: "A scope's budget and spend", answers: "the budget's status" },
  { method: "delete", path: "/budgets/{scope}", summary: "Remove a scope's budget", answers: "`{scope, deleted: true}`" },
  { method: "get", path: "/usage", summary: "Spend by model or end user in a day or month", query: usageQuerySchema, answers: "`{scope, period, periodStart, groupBy, totalUsd, data: [row…]}`" },
  { method: "get", path: "/requests", summary: "The request log, newest first, filtered and paged", query: requestsQuerySchema, answers: "`{object: \"list\", data: [record…], nextCursor}`" },
  { method: "get", path: "/requests/{id}", summary: "One request's record (with its bodies when kept)", answers: "the record" },
  { method: "get", path: "/analytics", summary: "Series per model, provider, key or end user from the rollups", query: analyticsQuerySchema, answers: "`{from, to, interval, groupBy, totals, series: [{group, points}]}`: `totals` are the whole span's (percentiles from its summed histograms)" },
  { method: "get", path: "/analytics/top", summary: "The groups (models, providers, keys or end users) that cost the most over a span", query: topQuerySchema, answers: "`{object: \"list\", from, to, groupBy, data: [{group, requests, errors, refused, costUsd, costNanos}]}`, most expensive first" },
  { method: "get", path: "/anomalies", summary: "Cost anomalies found by the request log, newest first", query: anomaliesQuerySchema, answers: "`{object: \"list\", data: [{foundAt, type, reason?, keyId, requestId?, hour?, model?, costUsd, baselineUsd?, factor?}]}`" },
  { method: "get", path: "/openapi.json", summary: "This document", answers: "an OpenAPI 3.1 document" },
  { method: "post", path: "/session", summary: "Sign in with the admin token (the dashboard): sets an HttpOnly session cookie", body: signInSchema, answers: "`{signedIn, csrfToken, expiresAt}`: send csrfToken as x-switchyard-csrf with the cookie" },
  { method: "get", path: "/session", summary: "Whether the session cookie is signed in, and its CSRF token", answers: "`{signedIn, csrfToken?, expiresAt?}`" },
  { method: "delete", path: "/session", summary: "Sign out: removes the session cookie", answers: "`{signedIn: false}`" },
];

const ERROR_SCHEMA: JsonSchema = {
  type: "object",
  required: ["error"],
  properties: {
    error: {
      type: "object",
      required: ["message", "type", "param", "code"],
      properties: { message: { type: "string" }, type: { type: "string" }, param: { type: ["string", "null"] }, code: { type: ["string", "null"] } },
    },
  },
};

const schemaOf = (schema: z.ZodType): JsonSchema => {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { target: "draft-2020-12", io: "input", unrepresentable: "any" }) as JsonSchema;
  return rest;
};

function parameters(endpoint: Endpoint): JsonSchema[] {
  const inPath = [...endpoint.path.matchAll(/\{(\w+)\}/g)].map(([, name]) => ({ name, in: "path", required: true, schema: { type: "string" } }));
  const query = endpoint.query;
  if (query === undefined) return inPath;
  const object = schemaOf(query) as { properties?: Record<string, JsonSchema>; required?: string[] };
  const inQuery = Object.entries(object.properties ?? {}).map(([name, schema]) => ({
    name,
    in: "query",
    required: object.required?.includes(name) === true && schema.default === undefined,
    schema,
    ...(typeof schema.description === "string" && { description: schema.description }),
  }));
  return [...inPath, ...inQuery];
}

function operation(endpoint: Endpoint): JsonSchema {
  const error = (description: string): JsonSchema => ({ description, content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } } });
  return {
    summary: endpoint.summary,
    operationId: `${endpoint.method}${endpoint.path.replace(/[{}]/g, "").replace(/[/.-](\w)/g, (_, c: string) => c.toUpperCase())}`,
    parameters: parameters(endpoint),
    ...(endpoint.body !== undefined && { requestBody: { required: true, content: { "application/json": { schema: schemaOf(endpoint.body) } } } }),
    responses: {
      [endpoint.created === true ? "201" : "200"]: { description: endpoint.answers, content: { "application/json": { schema: { type: "object" } } } },
      "400": error("The request is malformed: the message and `param` say what and where."),
      "401": error("ADMIN_TOKEN missing or wrong."),
      "403": error("The admin API is off: ADMIN_TOKEN is not set."),
      "404": error("No such thing (route, key, budget, price, request)."),
    },
  };
}

let built: JsonSchema | null = null;

/** The document (built once per isolate: it depends on the code only). */
export function openApiDocument(): JsonSchema {
  if (built !== null) return built;
  const paths: Record<string, Record<string, JsonSchema>> = {};
  for (const endpoint of ADMIN_ENDPOINTS) {
    const path = `/admin${endpoint.path}`;
    paths[path] = { ...paths[path], [endpoint.method]: operation(endpoint) };
  }
  built = {
    openapi: "3.1.0",
    info: {
      title: "Switchyard admin API",
      version: "1",
      description: "Routes, gateway keys, route health, prices, budgets, usage, the request log and analytics. Every endpoint takes `Authorization: Bearer <ADMIN_TOKEN>`.",
    },
    security: [{ adminToken: [] }],
    components: {
      securitySchemes: { adminToken: { type: "http", scheme: "bearer", description: "The deployment's ADMIN_TOKEN secret." } },
      schemas: { Error: ERROR_SCHEMA },
    },
    paths,
  };
  return built;
}
