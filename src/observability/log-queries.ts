/**
 * Reads of the request log (D1) for the admin API: records by filter, newest
 * first, paged by a keyset cursor (time, id), so a page costs the same deep in
 * the log as at its top; and analytics series from the rollups, never the raw
 * records, so a month of charts reads a few thousand rollup rows.
 */
import { nanosToUsd } from "../metering/types.ts";
import { readBodies } from "./bodies.ts";
import { bucketEdgeMs, LATENCY_BUCKETS } from "./log-consumer.ts";

export interface RequestFilter {
  readonly key?: string | undefined;
  readonly user?: string | undefined;
  readonly model?: string | undefined;
  readonly provider?: string | undefined;
  readonly status?: number | undefined;
  readonly outcome?: string | undefined;
  readonly anomaly?: boolean | undefined;
  readonly from?: number | undefined;
  readonly to?: number | undefined;
}

type Row = Record<string, unknown>;

const str = (v: unknown): string | null => (typeof v === "string" ? v : null);
const int = (v: unknown): number => (typeof v === "number" ? v : 0);

function parseDetail(raw: unknown): Record<string, unknown> {
  if (typeof raw !== "string") return {};
  try {
    const parsed: unknown = JSON.parse(raw);
    return typeof parsed === "object" && parsed !== null ? (parsed as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/** A stored row as the admin API shows a record. */
export function recordJson(row: Row): Record<string, unknown> {
  const detail = parseDetail(row.detail);
  const costKnown = row.cost_known === 1;
  return {
    id: row.id,
    time: new Date(int(row.time)).toISOString(),
    keyId: str(row.key_id),
    user: str(row.end_user),
    endpoint: row.endpoint,
    requested: str(row.requested),
    provider: str(row.provider),
    model: str(row.model),
    stream: row.stream === 1,
    status: row.status,
    outcome: row.outcome,
    errorCode: str(row.error_code),
    attempts: row.attempts,
    fallbacks: str(row.fallbacks),
    degradedTo: str(row.degraded_to),
    usage: detail.usage ?? {
      prompt_tokens: int(row.prompt_tokens),
      completion_tokens: int(row.completion_tokens),
      total_tokens: int(row.prompt_tokens) + int(row.completion_tokens),
    },
    costUsd: costKnown || int(row.cost_nanos) > 0 ? nanosToUsd(int(row.cost_nanos)) : null,
    costNanos: int(row.cost_nanos),
    costEstimated: row.cost_estimated === 1,
    ...(detail.costParts !== undefined && { costParts: detail.costParts }),
    ...(detail.unpriced !== undefined && { unpriced: detail.unpriced }),
    ...(detail.billedWithoutAnswer !== undefined && { billedWithoutAnswer: detail.billedWithoutAnswer }),
    ttfbMs: typeof row.ttfb_ms === "number" ? row.ttfb_ms : null,
    durationMs: row.duration_ms,
    cacheHit: row.cache_hit === 1,
    anomaly: str(row.anomaly),
    bodiesStored: typeof row.bodies === "string",
  };
}

/** The cursor after `row`: its time and id, opaque to clients. */
const cursorOf = (row: Row): string => btoa(`${int(row.time)}:${String(row.id)}`).replaceAll("=", "");

export function parseCursor(cursor: string): { time: number; id: string } | null {
  try {
    const [time, ...id] = atob(cursor).split(":");
    const t = Number(time);
    return Number.isSafeInteger(t) && id.length > 0 ? { time: t, id: id.join(":") } : null;
  } catch {
    return null;
  }
}

/** A WHERE clause built a condition at a time, its values bound in the same order. */
function conditions(): { add: (sql: string, ...values: unknown[]) => void; sql: () => string; values: unknown[] } {
  const parts: string[] = [];
  const values: unknown[] = [];
  return {
    add: (sql, ...v) => {
      parts.push(sql);
      values.push(...v);
    },
    sql: () => (parts.length > 0 ? `WHERE ${parts.join(" AND ")}` : ""),
    values,
  };
}

/** One page of records matching `filter`, newest first, and the cursor of the next page (null: none). */
export async function listRecords(db: D1Database, filter: RequestFilter, limit: number, after: { time: number; id: string } | null): Promise<{ data: Array<Record<string, unknown>>; nextCursor: string | null }> {
  const where = conditions();
  const add = where.add;
  if (filter.key !== undefined) add("key_id = ?", filter.key);
  if (filter.user !== undefined) add("end_user = ?", filter.user);
  if (filter.model !== undefined) add("(model = ? OR requested = ? OR provider || '/' || model = ?)", filter.model, filter.model, filter.model);
  if (filter.provider !== undefined) add("provider = ?", filter.provider);
  if (filter.status !== undefined) add("status = ?", filter.status);
  if (filter.outcome !== undefined) add("outcome = ?", filter.outcome);
  if (filter.anomaly === true) add("anomaly IS NOT NULL");
  if (filter.anomaly === false) add("anomaly IS NULL");
  if (filter.from !== undefined) add("time >= ?", filter.from);
  if (filter.to !== undefined) add("time < ?", filter.to);
  if (after !== null) add("(time < ? OR (time = ? AND id < ?))", after.time, after.time, after.id);
  const sql = `SELECT * FROM requests ${where.sql()} ORDER BY time DESC, id DESC LIMIT ?`;
  const rows = (await db.prepare(sql).bind(...where.values, limit + 1).all<Row>()).results;
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  return { data: page.map(recordJson), nextCursor: rows.length > limit && last !== undefined ? cursorOf(last) : null };
}

/** One record, with its bodies when they are kept (`bucket`: LOG_BODIES). */
export async function findRecord(db: D1Database, id: string, bucket: R2Bucket | undefined): Promise<Record<string, unknown> | null> {
  const row = await db.prepare("SELECT * FROM requests WHERE id = ?").bind(id).first<Row>();
  if (row === null) return null;
  const bodies = typeof row.bodies === "string" && bucket !== undefined ? await readBodies(bucket, row.bodies) : null;
  return { ...recordJson(row), ...(bodies !== null && { bodies }) };
}

export type GroupBy = "model" | "provider" | "key" | "user";
export type Interval = "hour" | "day";

export interface AnalyticsQuery {
  readonly from: number;
  readonly to: number;
  readonly interval: Interval;
  readonly groupBy: GroupBy;
  readonly key?: string | undefined;
  /** Percentiles (and estimated, cached, reasoning counts) on each point; the totals always have them. */
  readonly latency?: boolean | undefined;
}

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

/** The value at quantile `q` of a histogram: the upper edge of the bucket it falls in (null: no values). */
function quantile(row: Row, column: string, q: number): number | null {
  const counts = Array.from({ length: LATENCY_BUCKETS }, (_, i) => int(row[`${column}_${i}`]));
  const total = counts.reduce((a, b) => a + b, 0);
  if (total === 0) return null;
  let seen = 0;
  for (let i = 0; i < counts.length; i++) {
    seen += counts[i] ?? 0;
    if (seen >= q * total) return bucketEdgeMs(i);
  }
  return bucketEdgeMs(LATENCY_BUCKETS - 1);
}

/** The rows of a span, from the rollups, as a FROM clause: each row's time as `ms`, with `columns`. */
interface RollupSource {
  readonly sql: string;
  readonly values: unknown[];
  /** The span the rows cover: whole hours (whole UTC days for end users), at least [from, to). */
  readonly from: number;
  readonly to: number;
}

/**
 * The cheapest rollups that cover [from, to) to the hour: per hour for hourly
 * series; for daily ones, the whole UTC days inside the span from the daily
 * rollup (a twenty-fourth of the rows) and the hours at either edge from the
 * hourly one, so "the last 30 days" is 30 days and not up to 31. End users
 * are rolled up by day only: their span is whole UTC days.
 */
function rollupSource(q: { from: number; to: number; interval: Interval; groupBy: GroupBy; key?: string | undefined }, columns: readonly string[]): RollupSource {
  const values: unknown[] = [];
  const cols = columns.join(", ");
  // Whole units, computed here: D1 binds JS numbers as REAL, and SQL would divide them as such.
  const part = (table: string, unit: "hour" | "day", ranges: ReadonlyArray<readonly [number, number]>): string => {
    const unitMs = unit === "hour" ? HOUR_MS : DAY_MS;
    const span = ranges.map(([a, b]) => {
      values.push(a, b);
      return `(${unit} >= ? AND ${unit} < ?)`;
    });
    if (q.key !== undefined) values.push(q.key);
    return `SELECT ${unit} * ${unitMs} AS ms, ${cols} FROM ${table} WHERE (${span.join(" OR ")})${q.key !== undefined ? " AND key_id = ?" : ""}`;
  };
  if (q.groupBy === "user") {
    const [d0, d1] = [Math.floor(q.from / DAY_MS), Math.ceil(q.to / DAY_MS)];
    return { sql: `(${part("rollup_day_user", "day", [[d0, d1]])})`, values, from: d0 * DAY_MS, to: d1 * DAY_MS };
  }
  const [h0, h1] = [Math.floor(q.from / HOUR_MS), Math.ceil(q.to / HOUR_MS)];
  const [d0, d1] = [Math.ceil(q.from / DAY_MS), Math.floor(q.to / DAY_MS)];
  if (q.interval === "hour" || d0 >= d1) return { sql: `(${part("rollup_hour", "hour", [[h0, h1]])})`, values, from: h0 * HOUR_MS, to: h1 * HOUR_MS };
  const days = part("rollup_day", "day", [[d0, d1]]);
  const edges = part("rollup_hour", "hour", [[h0, d0 * 24], [d1 * 24, h1]]);
  return { sql: `(${days} UNION ALL ${edges})`, values, from: h0 * HOUR_MS, to: h1 * HOUR_MS };
}

const BUCKETS = (column: string): string[] => Array.from({ length: LATENCY_BUCKETS }, (_, i) => `${column}_${i}`);
const GROUP_COLUMNS: Readonly<Record<GroupBy, readonly string[]>> = { model: ["provider", "model"], provider: ["provider"], key: ["key_id"], user: ["end_user"] };

function groupExpression(groupBy: GroupBy): string {
  if (groupBy === "model") return "CASE WHEN provider = '' THEN '(none)' ELSE provider || '/' || model END";
  if (groupBy === "provider") return "CASE WHEN provider = '' THEN '(none)' ELSE provider END";
  if (groupBy === "key") return "CASE WHEN key_id = '' THEN '(none)' ELSE key_id END";
  return "CASE WHEN end_user = '' THEN '(none)' ELSE end_user END";
}

/**
 * The groups that cost the most over a span, with their requests and errors:
 * one GROUP BY over the rollup, no time slots or histograms, so a month of
 * rollups ranks in one cheap query (the overview's top keys, users and models).
 */
export async function topGroups(db: D1Database, q: AnalyticsQuery & { readonly limit: number }): Promise<{ from: number; to: number; data: Array<Record<string, unknown>> }> {
  const source = rollupSource(q, [...GROUP_COLUMNS[q.groupBy], "requests", "errors", "refused", "cost_nanos"]);
  const sql = `SELECT ${groupExpression(q.groupBy)} AS g, SUM(requests) AS requests, SUM(errors) AS errors, SUM(refused) AS refused, SUM(cost_nanos) AS cost_nanos
    FROM ${source.sql} GROUP BY g ORDER BY cost_nanos DESC, requests DESC, g LIMIT ?`;
  const rows = (await db.prepare(sql).bind(...source.values, q.limit).all<Row>()).results;
  const data = rows.map((row) => ({ group: String(row.g), requests: int(row.requests), errors: int(row.errors), refused: int(row.refused), costUsd: nanosToUsd(int(row.cost_nanos)), costNanos: int(row.cost_nanos) }));
  return { from: source.from, to: source.to, data };
}

/**
 * Series per group and interval from the rollups: requests, cost, tokens,
 * errors and refusals, and latency and time-to-first-byte percentiles (each
 * the upper edge of its histogram bucket: within a factor of two, never under).
 * End users come from the daily rollup, so `groupBy=user` is by day.
 */
export async function analytics(db: D1Database, q: AnalyticsQuery): Promise<{ from: number; to: number; series: Array<{ group: string; points: Array<Record<string, unknown>> }>; totals: Record<string, unknown> }> {
  const perUser = q.groupBy === "user";
  // Points without latency (`latency: false`, the dashboard's chart) leave the 32 histogram columns to one ungrouped sum.
  const pointLatency = !perUser && q.latency !== false;
  const unitMs = q.interval === "hour" ? HOUR_MS : DAY_MS;
  const counted = ["requests", "errors", "refused", "cost_nanos", "prompt_tokens", "completion_tokens"];
  const detailed = perUser ? [] : ["estimated", "cached_tokens", "reasoning_tokens", ...BUCKETS("lat"), ...BUCKETS("ttfb")];
  const perPoint = pointLatency ? [...counted, ...detailed] : counted;
  const source = rollupSource(q, [...GROUP_COLUMNS[q.groupBy], ...counted, ...detailed]);
  const sums$ = (columns: readonly string[]): string => columns.map((c) => `SUM(${c}) AS ${c}`).join(", ");
  const sql = `SELECT (ms / ${unitMs}) * ${unitMs} AS t, ${groupExpression(q.groupBy)} AS g, ${sums$(perPoint)} FROM ${source.sql} GROUP BY t, g ORDER BY g, t`;
  const rows = (await db.prepare(sql).bind(...source.values).all<Row>()).results;
  const series = new Map<string, Array<Record<string, unknown>>>();
  // The whole span's sums (and histograms, for its percentiles): what a group's points cannot give by adding.
  const sums: Record<string, number> = {};
  if (perPoint.length === counted.length + detailed.length) {
    for (const row of rows) for (const [column, value] of Object.entries(row)) if (column !== "t" && column !== "g") sums[column] = (sums[column] ?? 0) + int(value);
  } else {
    const total = await db.prepare(`SELECT ${sums$([...counted, ...detailed])} FROM ${source.sql}`).bind(...source.values).first<Row>();
    for (const [column, value] of Object.entries(total ?? {})) sums[column] = int(value);
  }
  for (const row of rows) {
    const points = series.get(String(row.g)) ?? [];
    series.set(String(row.g), points);
    points.push({
      time: new Date(int(row.t)).toISOString(),
      requests: int(row.requests),
      errors: int(row.errors),
      refused: int(row.refused),
      costUsd: nanosToUsd(int(row.cost_nanos)),
      costNanos: int(row.cost_nanos),
      promptTokens: int(row.prompt_tokens),
      completionTokens: int(row.completion_tokens),
      ...(pointLatency && {
        estimated: int(row.estimated),
        cachedTokens: int(row.cached_tokens),
        reasoningTokens: int(row.reasoning_tokens),
        latencyP50Ms: quantile(row, "lat", 0.5),
        latencyP95Ms: quantile(row, "lat", 0.95),
        ttfbP50Ms: quantile(row, "ttfb", 0.5),
        ttfbP95Ms: quantile(row, "ttfb", 0.95),
      }),
    });
  }
  return {
    from: source.from,
    to: source.to,
    series: [...series].map(([g, points]) => ({ group: g, points })),
    totals: {
      requests: int(sums.requests),
      errors: int(sums.errors),
      refused: int(sums.refused),
      costUsd: nanosToUsd(int(sums.cost_nanos)),
      costNanos: int(sums.cost_nanos),
      promptTokens: int(sums.prompt_tokens),
      completionTokens: int(sums.completion_tokens),
      latencyP50Ms: perUser ? null : quantile(sums, "lat", 0.5),
      latencyP95Ms: perUser ? null : quantile(sums, "lat", 0.95),
      ttfbP50Ms: perUser ? null : quantile(sums, "ttfb", 0.5),
      ttfbP95Ms: perUser ? null : quantile(sums, "ttfb", 0.95),
    },
  };
}

export interface AnomalyQuery {
  readonly from?: number | undefined;
  readonly to?: number | undefined;
  readonly key?: string | undefined;
  readonly limit: number;
}

/** Anomalies the consumer found (anomalies.ts), newest first: each as it was alerted, with when it was found. */
export async function listAnomalies(db: D1Database, q: AnomalyQuery): Promise<Array<Record<string, unknown>>> {
  const where = conditions();
  if (q.from !== undefined) where.add("at >= ?", q.from);
  if (q.to !== undefined) where.add("at < ?", q.to);
  if (q.key !== undefined) where.add("key_id = ?", q.key);
  const sql = `SELECT at, detail FROM anomalies ${where.sql()} ORDER BY at DESC LIMIT ?`;
  const rows = (await db.prepare(sql).bind(...where.values, q.limit).all<Row>()).results;
  return rows.map((row) => ({ foundAt: new Date(int(row.at)).toISOString(), ...parseDetail(row.detail) }));
}
