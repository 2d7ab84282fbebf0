/**
 * The request log's queue consumer (the same Worker's `queue()` handler): each
 * batch of records becomes one D1 transaction that inserts them and adds them
 * to the rollups (hour and day × key × provider × model; day × key × user). D1 has one
 * writer, so records arrive in batches rather than a write per request. The
 * transaction is safe to retry: a record already stored is skipped, and only
 * records not yet counted (`rolled = 0`) enter the rollups, which marks them.
 */
import type { Env } from "../env.ts";
import { nanosToUsd } from "../metering/types.ts";
import type { BackgroundWork } from "../routing/health.ts";
import { alertOnce, anomalyFactor, hourlySpikes, overMedian, type Anomaly } from "./anomalies.ts";
import { bodiesKey, storeBodies } from "./bodies.ts";
import { exportSpans } from "./otlp.ts";
import type { RequestLogEntry } from "./request-log.ts";

/** Histogram buckets of the rollups: bucket i counts values under 16 × 2^i ms, the last everything above. */
export const LATENCY_BUCKETS = 16;
const FIRST_BUCKET_MS = 16;

export function bucketOf(ms: number): number {
  if (!(ms >= FIRST_BUCKET_MS)) return 0;
  return Math.min(LATENCY_BUCKETS - 1, Math.floor(Math.log2(ms / FIRST_BUCKET_MS)) + 1);
}

/** The upper edge of bucket `i` in ms (the last one's is its lower edge: nothing bounds it). */
export const bucketEdgeMs = (i: number): number => FIRST_BUCKET_MS * 2 ** Math.min(i, LATENCY_BUCKETS - 2);

const num = (v: unknown): number => (typeof v === "number" && Number.isFinite(v) ? v : 0);
const whole = (v: unknown): number => Math.max(0, Math.min(Number.MAX_SAFE_INTEGER, Math.round(num(v))));
const textOrNull = (v: unknown): string | null => (typeof v === "string" ? v : null);
const detailOf = (u: unknown, field: string): number => (typeof u === "object" && u !== null ? whole((u as Record<string, unknown>)[field]) : 0);

const COLUMNS = [
  "id", "time", "key_id", "end_user", "endpoint", "requested", "provider", "model", "stream", "status", "outcome", "error_code",
  "attempts", "fallbacks", "degraded_to", "prompt_tokens", "completion_tokens", "cached_tokens", "cache_write_tokens",
  "reasoning_tokens", "audio_tokens", "cost_nanos", "cost_known", "cost_estimated", "ttfb_ms", "duration_ms", "cache_hit",
  "anomaly", "detail", "lat_bucket", "ttfb_bucket", "bodies",
] as const;
const INSERT = `INSERT INTO requests (${COLUMNS.join(", ")}) VALUES (${COLUMNS.map(() => "?").join(", ")}) ON CONFLICT (id) DO NOTHING`;

type Row = Record<(typeof COLUMNS)[number], unknown>;

/** A record's row, or null when the message is not a record (it is dropped, and said so, rather than retried forever). */
export function rowOf(entry: RequestLogEntry): Row | null {
  if (typeof entry !== "object" || entry === null || typeof entry.requestId !== "string" || typeof entry.time !== "number") return null;
  const usage = entry.usage;
  const ttfb = typeof entry.ttfbMs === "number" ? whole(entry.ttfbMs) : null;
  const detail = {
    ...(usage !== null && usage !== undefined && { usage }),
    ...(entry.costParts !== undefined && { costParts: entry.costParts }),
    ...(entry.unpriced !== undefined && { unpriced: entry.unpriced }),
    ...(entry.billedWithoutAnswer !== undefined && { billedWithoutAnswer: entry.billedWithoutAnswer }),
  };
  return {
    id: entry.requestId,
    time: whole(entry.time),
    key_id: textOrNull(entry.keyId),
    end_user: textOrNull(entry.user),
    endpoint: String(entry.endpoint),
    requested: textOrNull(entry.requested),
    provider: textOrNull(entry.provider),
    model: textOrNull(entry.model),
    stream: entry.stream === true ? 1 : 0,
    status: whole(entry.status),
    outcome: String(entry.outcome),
    error_code: textOrNull(entry.errorCode),
    attempts: whole(entry.attempts),
    fallbacks: textOrNull(entry.fallbacks),
    degraded_to: textOrNull(entry.degradedTo),
    prompt_tokens: whole(usage?.prompt_tokens),
    completion_tokens: whole(usage?.completion_tokens),
    cached_tokens: detailOf(usage?.prompt_tokens_details, "cached_tokens"),
    cache_write_tokens: detailOf(usage?.prompt_tokens_details, "cache_write_tokens"),
    reasoning_tokens: detailOf(usage?.completion_tokens_details, "reasoning_tokens"),
    audio_tokens: detailOf(usage?.prompt_tokens_details, "audio_tokens") + detailOf(usage?.completion_tokens_details, "audio_tokens"),
    cost_nanos: whole(entry.costNanos),
    cost_known: entry.costUsd === null ? 0 : 1,
    cost_estimated: entry.costEstimated === true ? 1 : 0,
    ttfb_ms: ttfb,
    duration_ms: whole(entry.durationMs),
    cache_hit: 0,
    anomaly: textOrNull(entry.anomaly),
    detail: Object.keys(detail).length > 0 ? JSON.stringify(detail) : null,
    lat_bucket: bucketOf(whole(entry.durationMs)),
    ttfb_bucket: ttfb === null ? null : bucketOf(ttfb),
    bodies: textOrNull(entry.bodies),
  };
}

const buckets = (column: string): string[] => Array.from({ length: LATENCY_BUCKETS }, (_, i) => `${column}_${i}`);
const added = (columns: readonly string[]): string => columns.map((c) => `${c} = ${c} + excluded.${c}`).join(", ");
const UNROLLED = "rolled = 0 AND id IN (SELECT value FROM json_each(?1))";
const ERRORS = "SUM(status >= 500 OR (status < 400 AND outcome <> 'completed'))";
const REFUSED = "SUM(status >= 400 AND status < 500)";

const ROLLUP_SUMS = ["requests", "errors", "refused", "cost_nanos", "estimated", "prompt_tokens", "completion_tokens", "cached_tokens", "reasoning_tokens", ...buckets("lat"), ...buckets("ttfb")];
/** The rollup per `unit` (hour or day) × key × provider × model of the batch's records not yet counted. */
const rollUp = (table: string, unit: string, unitMs: number): string => `INSERT INTO ${table} (${unit}, key_id, provider, model, ${ROLLUP_SUMS.join(", ")})
  SELECT time / ${unitMs}, COALESCE(key_id, ''), COALESCE(provider, ''), COALESCE(model, ''), COUNT(*), ${ERRORS}, ${REFUSED},
    SUM(cost_nanos), SUM(cost_estimated), SUM(prompt_tokens), SUM(completion_tokens), SUM(cached_tokens), SUM(reasoning_tokens),
    ${buckets("lat").map((_, i) => `SUM(lat_bucket IS ${i})`).join(", ")},
    ${buckets("ttfb").map((_, i) => `SUM(ttfb_bucket IS ${i})`).join(", ")}
  FROM requests WHERE ${UNROLLED} GROUP BY 1, 2, 3, 4
  ON CONFLICT (${unit}, key_id, provider, model) DO UPDATE SET ${added(ROLLUP_SUMS)}`;
const ROLL_HOURS = rollUp("rollup_hour", "hour", 3_600_000);
const ROLL_DAYS = rollUp("rollup_day", "day", 86_400_000);

const USER_SUMS = ["requests", "errors", "refused", "cost_nanos", "prompt_tokens", "completion_tokens"];
const ROLL_USERS = `INSERT INTO rollup_day_user (day, key_id, end_user, ${USER_SUMS.join(", ")})
  SELECT time / 86400000, COALESCE(key_id, ''), COALESCE(end_user, ''), COUNT(*), ${ERRORS}, ${REFUSED},
    SUM(cost_nanos), SUM(prompt_tokens), SUM(completion_tokens)
  FROM requests WHERE ${UNROLLED} GROUP BY 1, 2, 3
  ON CONFLICT (day, key_id, end_user) DO UPDATE SET ${added(USER_SUMS)}`;

const MARK_ROLLED = `UPDATE requests SET rolled = 1 WHERE ${UNROLLED}`;

export interface Stored {
  readonly records: number;
  /** D1 rows the transaction wrote (what D1 bills). */
  readonly rowsWritten: number;
  /** Requests flagged as costing over k × their key and model's median. */
  readonly anomalies: readonly Anomaly[];
  /** The (key, hour) pairs the batch added spend to, for the hourly check. */
  readonly hours: ReadonlyArray<{ keyId: string; hour: number }>;
}

/**
 * Stores `entries` and adds them to the rollups, in one transaction. Before
 * that, each answered record is checked against its key and model's recent
 * median cost (anomalies.ts) and flagged in its row.
 */
export async function storeRecords(db: D1Database, entries: readonly RequestLogEntry[], factor: number): Promise<Stored> {
  const rows: Row[] = [];
  for (const entry of entries) {
    const row = rowOf(entry);
    if (row === null) console.error(JSON.stringify({ msg: "request_log_message_dropped", why: "not a request record" }));
    else rows.push(row);
  }
  if (rows.length === 0) return { records: 0, rowsWritten: 0, anomalies: [], hours: [] };
  const costed = rows.map((r) => ({
    id: String(r.id), keyId: r.key_id as string | null, provider: r.provider as string | null, model: r.model as string | null,
    status: Number(r.status), costNanos: Number(r.cost_nanos), costKnown: r.cost_known === 1, flagged: r.anomaly !== null,
  }));
  const flagged = await overMedian(db, costed, factor);
  // Requests flagged where they were charged (over their key's cap) are alerted from here too: once, like the rest.
  for (const row of rows) {
    if (row.anomaly !== "over_cap" || typeof row.key_id !== "string") continue;
    const model = typeof row.provider === "string" ? `${row.provider}/${String(row.model)}` : undefined;
    flagged.set(String(row.id), { type: "request_cost", reason: "over_cap", keyId: row.key_id, requestId: String(row.id), ...(model !== undefined && { model }), costUsd: nanosToUsd(Number(row.cost_nanos)) });
  }
  for (const row of rows) if (row.anomaly === null && flagged.has(String(row.id))) row.anomaly = "over_median";
  const ids = JSON.stringify(rows.map((row) => row.id));
  const results = await db.batch([
    ...rows.map((row) => db.prepare(INSERT).bind(...COLUMNS.map((column) => row[column]))),
    db.prepare(ROLL_HOURS).bind(ids),
    db.prepare(ROLL_DAYS).bind(ids),
    db.prepare(ROLL_USERS).bind(ids),
    db.prepare(MARK_ROLLED).bind(ids),
  ]);
  const hours = new Map<string, { keyId: string; hour: number }>();
  for (const row of rows) {
    if (typeof row.key_id !== "string" || Number(row.cost_nanos) <= 0) continue;
    const hour = Math.floor(Number(row.time) / 3_600_000);
    hours.set(`${row.key_id} ${hour}`, { keyId: row.key_id, hour });
  }
  return { records: rows.length, rowsWritten: results.reduce((n, r) => n + r.meta.rows_written, 0), anomalies: [...flagged.values()], hours: [...hours.values()] };
}

/**
 * Bodies that rode with their records (logBodies "anomalies") are kept for the
 * requests this batch flagged, and their records point at them; the rest are
 * dropped with the message.
 */
async function keepFlaggedBodies(env: Env, db: D1Database, entries: readonly RequestLogEntry[], flagged: readonly Anomaly[]): Promise<void> {
  const bucket = env.LOG_BODIES;
  if (bucket === undefined || flagged.length === 0) return;
  const ids = new Set(flagged.map((a) => a.requestId));
  for (const entry of entries) {
    if (entry.capturedBodies === undefined || !ids.has(entry.requestId)) continue;
    const key = bodiesKey(entry.requestId, entry.time);
    try {
      await storeBodies(bucket, key, entry.capturedBodies);
      await db.prepare("UPDATE requests SET bodies = ? WHERE id = ?").bind(key, entry.requestId).run();
    } catch (err) {
      console.error(JSON.stringify({ msg: "bodies_store_failed", requestId: entry.requestId, error: String(err) }));
    }
  }
}

/**
 * The `queue()` handler. A batch that cannot be stored is retried by the queue
 * (its messages come again, up to the consumer's max_retries); without the
 * D1 binding the records are acknowledged (the console has them). Anomalies
 * the batch revealed are alerted once each (anomalies.ts).
 */
export async function consumeLog(batch: MessageBatch<RequestLogEntry>, env: Env, ctx: BackgroundWork): Promise<void> {
  const db = env.LOG_DB;
  const entries = batch.messages.map((m) => m.body);
  if (db === undefined) {
    batch.ackAll();
    ctx.waitUntil(exportSpans(env, entries));
    return;
  }
  const factor = anomalyFactor(env);
  const stored = await storeRecords(db, entries, factor);
  batch.ackAll();
  ctx.waitUntil(exportSpans(env, entries));
  await keepFlaggedBodies(env, db, entries, stored.anomalies);
  // After the batch is safe: an alert that fails to go out must not make the queue deliver the records again.
  try {
    const spikes = await hourlySpikes(db, stored.hours, factor);
    await alertOnce(env, ctx, db, [...stored.anomalies, ...spikes], Date.now());
  } catch (err) {
    console.error(JSON.stringify({ msg: "anomaly_check_failed", error: String(err) }));
  }
}
