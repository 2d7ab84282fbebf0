/**
 * /admin/requests and /admin/analytics: the request log (D1) as the admin API
 * shows it. A record per request, filtered and paged newest first; analytics
 * series per model, provider, key or end user from the rollups; and the cost
 * anomalies the log's consumer found.
 */
import { Hono } from "hono";
import * as z from "zod";
import type { AppEnv, Env } from "../env.ts";
import { analytics, findRecord, listAnomalies, listRecords, parseCursor, topGroups } from "../observability/log-queries.ts";
import { GatewayError, invalidRequest } from "./errors.ts";
import { validate } from "./validate.ts";

function logDb(env: Env): D1Database {
  const db = env.LOG_DB;
  if (db === undefined) {
    throw new GatewayError(503, "The request log is not enabled on this deployment (no LOG_DB D1 binding).", { code: "request_log_disabled" });
  }
  return db;
}

/** A time as ISO 8601 or epoch milliseconds. */
const instant = z.string().transform((raw, ctx) => {
  const ms = /^\d+$/.test(raw) ? Number(raw) : Date.parse(raw);
  // A Date holds at most ±8.64e15 ms: anything past it is no time at all.
  if (!Number.isFinite(ms) || Math.abs(ms) > 8.64e15) {
    ctx.addIssue({ code: "custom", message: "a time is ISO 8601 (2026-11-20T10:00:00Z) or epoch milliseconds" });
    return z.NEVER;
  }
  return ms;
});

const text = z.string().min(1).max(512);

export const requestsQuerySchema = z.strictObject({
  key: text.optional(),
  user: text.optional(),
  model: text.optional(),
  provider: text.optional(),
  status: z.coerce.number().int().min(100).max(599).optional(),
  outcome: text.optional(),
  anomaly: z.enum(["true", "false"]).transform((v) => v === "true").optional(),
  from: instant.optional(),
  to: instant.optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: z.string().max(600).optional(),
});

const DAY_MS = 86_400_000;
/** Most points one analytics answer may hold per group (a month of hours is 720). */
const MAX_POINTS = 2_000;

export const analyticsQuerySchema = z.strictObject({
  from: instant.optional(),
  to: instant.optional(),
  interval: z.enum(["hour", "day"]).optional(),
  groupBy: z.enum(["model", "provider", "key", "user"]).default("model"),
  key: text.optional(),
  latency: z.enum(["true", "false"]).transform((v) => v === "true").optional().describe("false: points without percentiles (a lighter query; the totals keep theirs)"),
});

/** GET /admin/analytics/top: the groups that cost the most over a span. */
export const topQuerySchema = analyticsQuerySchema.omit({ latency: true }).extend({ limit: z.coerce.number().int().min(1).max(100).default(10) });

/** A query's span (the last 24 hours by default) and the interval that serves it; a 400 for one that cannot be served. */
function spanOf(q: { from?: number | undefined; to?: number | undefined; interval?: "hour" | "day" | undefined; groupBy: string }): { from: number; to: number; interval: "hour" | "day" } {
  const to = q.to ?? Date.now();
  const from = q.from ?? to - DAY_MS;
  if (from >= to) throw invalidRequest("'from' must be before 'to'.", "from");
  const interval = q.interval ?? (q.groupBy === "user" || to - from > 7 * DAY_MS ? "day" : "hour");
  if (q.groupBy === "user" && interval === "hour") throw invalidRequest("End users are rolled up per day: use interval=day with groupBy=user.", "interval");
  if ((to - from) / (interval === "hour" ? DAY_MS / 24 : DAY_MS) > MAX_POINTS) {
    throw invalidRequest(`That span has more than ${MAX_POINTS} ${interval}s: narrow it or use interval=day.`, "interval");
  }
  return { from, to, interval };
}

export const anomaliesQuerySchema = z.strictObject({
  from: instant.optional().describe("found at or after this time"),
  to: instant.optional(),
  key: text.optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
});

export function requestLogRoutes(): Hono<AppEnv> {
  const routes = new Hono<AppEnv>();

  routes.get("/requests", async (c) => {
    const q = validate(requestsQuerySchema, c.req.query());
    const after = q.cursor === undefined ? null : parseCursor(q.cursor);
    if (q.cursor !== undefined && after === null) throw invalidRequest("Invalid 'cursor': pass the nextCursor of a previous page as it came.", "cursor");
    return c.json({ object: "list", ...(await listRecords(logDb(c.env), q, q.limit, after)) });
  });

  routes.get("/requests/:id", async (c) => {
    const id = c.req.param("id");
    const record = id.length <= 128 ? await findRecord(logDb(c.env), id, c.env.LOG_BODIES) : null;
    if (record === null) throw new GatewayError(404, `No request '${id}' in the request log (it may be older than the log's retention).`, { code: "request_not_found", param: "id" });
    return c.json(record);
  });

  routes.get("/analytics", async (c) => {
    const q = validate(analyticsQuerySchema, c.req.query());
    const { from, to, interval } = spanOf(q);
    const read = await analytics(logDb(c.env), { from, to, interval, groupBy: q.groupBy, key: q.key, latency: q.latency });
    // The span the rollups cover (whole hours; whole UTC days for end users), which may be wider than asked.
    return c.json({ from: new Date(read.from).toISOString(), to: new Date(read.to).toISOString(), interval, groupBy: q.groupBy, totals: read.totals, series: read.series });
  });

  routes.get("/analytics/top", async (c) => {
    const q = validate(topQuerySchema, c.req.query());
    const { from, to, interval } = spanOf(q);
    const top = await topGroups(logDb(c.env), { from, to, interval, groupBy: q.groupBy, key: q.key, limit: q.limit });
    return c.json({ object: "list", from: new Date(top.from).toISOString(), to: new Date(top.to).toISOString(), groupBy: q.groupBy, data: top.data });
  });

  routes.get("/anomalies", async (c) => {
    const q = validate(anomaliesQuerySchema, c.req.query());
    return c.json({ object: "list", data: await listAnomalies(logDb(c.env), q) });
  });

  return routes;
}
