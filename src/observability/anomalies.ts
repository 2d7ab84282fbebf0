/**
 * Cost anomalies, found by the request log's consumer (issue 13):
 *
 * - a request whose cost is above k × the median cost of its key's recent
 *   answered requests on the same model (k = ANOMALY_FACTOR, default 5; at least
 *   MIN_SAMPLES of them first, so a new model's first answers flag nothing);
 *   one over its key's maxCostPerRequestUsd is flagged where it is charged;
 * - an hour in which a key spent more than k × its trailing 7-day average for
 *   that hour of the day.
 *
 * Each is remembered in the `anomalies` table, so a retried batch or a second
 * look at an hour alerts once, and posted to the key's alertWebhook (else the
 * deployment's ALERT_WEBHOOK_URL) with what, by how much, and the request id.
 */
import { findKeyById } from "../auth/key-store.ts";
import type { Env } from "../env.ts";
import { nanosToUsd } from "../metering/types.ts";
import type { BackgroundWork } from "../routing/health.ts";
import { postWebhook } from "./webhook.ts";

const DEFAULT_FACTOR = 5;
/** Answered requests of a key and model a median needs. */
export const MIN_SAMPLES = 20;
/** The most recent answered requests a median is taken over. */
const SAMPLES = 200;
/** An hour under this spend is never a spike, whatever its average (a key that spent $0.0001 an hour). */
const MIN_HOURLY_SPIKE_NANOS = 10_000_000;
const HOUR_MS = 3_600_000;
/** Days of the 7 before with spend in that hour an hourly average needs. */
export const MIN_HISTORY_DAYS = 3;

export function anomalyFactor(env: Env): number {
  const k = Number(env.ANOMALY_FACTOR);
  return Number.isFinite(k) && k > 1 ? k : DEFAULT_FACTOR;
}

/** A record about to be stored, as the anomaly checks see it. */
export interface Costed {
  readonly id: string;
  readonly keyId: string | null;
  readonly provider: string | null;
  readonly model: string | null;
  readonly status: number;
  readonly costNanos: number;
  readonly costKnown: boolean;
  /** Flagged already (over its key's maxCostPerRequestUsd where it was charged). */
  readonly flagged: boolean;
}

export interface Anomaly {
  readonly type: "request_cost" | "hourly_spend";
  /** For a request: over its key's cap, or over its key and model's median. */
  readonly reason?: "over_cap" | "over_median";
  readonly keyId: string;
  readonly requestId?: string;
  readonly hour?: string;
  readonly model?: string;
  readonly costUsd: number;
  /** What it was compared with (the median, the 7-day average); absent for one over its key's cap. */
  readonly baselineUsd?: number;
  readonly factor?: number;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

/**
 * The records of a batch whose cost is over k × their key and model's recent
 * median (read before the batch is stored: one query per key and model in it).
 */
export async function overMedian(db: D1Database, records: readonly Costed[], factor: number): Promise<Map<string, Anomaly>> {
  const flagged = new Map<string, Anomaly>();
  const groups = new Map<string, Costed[]>();
  for (const r of records) {
    if (r.keyId === null || r.provider === null || r.model === null || r.status !== 200 || !r.costKnown || r.costNanos <= 0) continue;
    const group = JSON.stringify([r.keyId, r.provider, r.model]);
    groups.set(group, [...(groups.get(group) ?? []), r]);
  }
  for (const [group, members] of groups) {
    const [keyId, provider, model] = JSON.parse(group) as [string, string, string];
    const recent = await db
      .prepare("SELECT cost_nanos AS n FROM requests WHERE key_id = ? AND provider = ? AND model = ? AND status = 200 AND cost_known = 1 ORDER BY time DESC LIMIT ?")
      .bind(keyId, provider, model, SAMPLES)
      .all<{ n: number }>();
    const costs = recent.results.map((row) => row.n);
    if (costs.length < MIN_SAMPLES) continue;
    const baseline = median(costs);
    for (const r of members) {
      if (r.flagged) continue; // already an anomaly (over its key's cap), alerted as such
      if (baseline > 0 && r.costNanos > factor * baseline) {
        flagged.set(r.id, { type: "request_cost", reason: "over_median", keyId, requestId: r.id, model: `${provider}/${model}`, costUsd: nanosToUsd(r.costNanos), baselineUsd: nanosToUsd(Math.round(baseline)), factor });
      }
    }
  }
  return flagged;
}

/** The hours (of the given keys) that now spend more than k × their trailing 7-day average for that hour of the day. */
export async function hourlySpikes(db: D1Database, touched: ReadonlyArray<{ keyId: string; hour: number }>, factor: number): Promise<Anomaly[]> {
  const spikes: Anomaly[] = [];
  for (const { keyId, hour } of touched) {
    const hours = [hour, ...Array.from({ length: 7 }, (_, d) => hour - 24 * (d + 1))];
    const rows = await db
      .prepare(`SELECT hour, SUM(cost_nanos) AS n FROM rollup_hour WHERE key_id = ? AND hour IN (${hours.map(() => "?").join(", ")}) GROUP BY hour`)
      .bind(keyId, ...hours)
      .all<{ hour: number; n: number }>();
    const spend = rows.results.find((r) => r.hour === hour)?.n ?? 0;
    const history = rows.results.filter((r) => r.hour !== hour);
    // An average of one or two days says little: a new key's second day is not a spike.
    if (history.length < MIN_HISTORY_DAYS) continue;
    const average = history.reduce((sum, r) => sum + r.n, 0) / history.length;
    if (average > 0 && spend >= MIN_HOURLY_SPIKE_NANOS && spend > factor * average) {
      spikes.push({ type: "hourly_spend", keyId, hour: new Date(hour * HOUR_MS).toISOString(), costUsd: nanosToUsd(spend), baselineUsd: nanosToUsd(Math.round(average)), factor });
    }
  }
  return spikes;
}

/** Remembers each anomaly; those not seen before are alerted, in the background. */
export async function alertOnce(env: Env, ctx: BackgroundWork, db: D1Database, anomalies: readonly Anomaly[], now: number): Promise<void> {
  if (anomalies.length === 0) return;
  const results = await db.batch(
    anomalies.map((a) =>
      db.prepare("INSERT INTO anomalies (kind, key_id, subject, at, detail) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING")
        .bind(a.type, a.keyId, a.requestId ?? a.hour ?? "", now, JSON.stringify(a)),
    ),
  );
  anomalies.forEach((anomaly, i) => {
    if ((results[i]?.meta.changes ?? 0) === 0) return; // alerted before
    console.warn(JSON.stringify({ msg: "cost_anomaly", ...anomaly }));
    ctx.waitUntil(
      webhookFor(env, anomaly.keyId)
        .then((url) => (url === null ? undefined : postWebhook(url, anomaly)))
        .catch((err: unknown) => console.error(JSON.stringify({ msg: "alert_webhook_failed", error: String(err) }))),
    );
  });
}

/** The key's alertWebhook, else the deployment's ALERT_WEBHOOK_URL, else none. */
async function webhookFor(env: Env, keyId: string): Promise<string | null> {
  const own = (await findKeyById(env, keyId))?.alertWebhook;
  return own ?? (env.ALERT_WEBHOOK_URL !== undefined && env.ALERT_WEBHOOK_URL !== "" ? env.ALERT_WEBHOOK_URL : null);
}
