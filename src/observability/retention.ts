/**
 * The request log's retention, run by the hourly Cron Trigger: raw records go
 * after LOG_RETENTION_DAYS (30 by default), rollups after ROLLUP_RETENTION_DAYS.
 * Deletes run in chunks, each a short write (D1 has one writer, and the
 * consumer must not wait behind a delete of millions of rows); a run stops after
 * MAX_CHUNKS and the next hour carries on.
 */
import type { Env } from "../env.ts";
import { bodiesKey } from "./bodies.ts";

export const DEFAULT_LOG_RETENTION_DAYS = 30;
export const ROLLUP_RETENTION_DAYS = 400;
const DAY_MS = 86_400_000;
const CHUNK = 5_000;
const MAX_CHUNKS = 40;

export function logRetentionDays(env: Env): number {
  const days = Number(env.LOG_RETENTION_DAYS);
  return Number.isFinite(days) && days > 0 ? days : DEFAULT_LOG_RETENTION_DAYS;
}

async function deleteInChunks(db: D1Database, sql: string, cutoff: number): Promise<number> {
  let deleted = 0;
  for (let i = 0; i < MAX_CHUNKS; i++) {
    const result = await db.prepare(sql).bind(cutoff, CHUNK).run();
    const changes = result.meta.changes;
    deleted += changes;
    if (changes < CHUNK) break;
  }
  return deleted;
}

/** Prunes what is past its retention as of `now`; what it deleted, per table. */
/**
 * Deletes stored bodies of the days before `before` (they go with their
 * records): the days from a week before the cutoff up to it, one listing page
 * of each per run, so a day with more bodies than a page is finished next hour.
 */
async function pruneBodies(bucket: R2Bucket | undefined, before: number): Promise<number> {
  if (bucket === undefined) return 0;
  let deleted = 0;
  for (let day = 1; day <= 7; day++) {
    const prefix = bodiesKey("", before - day * DAY_MS).replace(/\.json$/, "");
    const listed = await bucket.list({ prefix, limit: 1000 });
    if (listed.objects.length === 0) continue;
    await bucket.delete(listed.objects.map((o) => o.key));
    deleted += listed.objects.length;
  }
  return deleted;
}

export async function pruneLog(env: Env, now: number): Promise<{ requests: number; hours: number; days: number; bodies: number }> {
  const db = env.LOG_DB;
  if (db === undefined) return { requests: 0, hours: 0, days: 0, bodies: 0 };
  const recordsBefore = now - logRetentionDays(env) * DAY_MS;
  const rollupsBefore = now - ROLLUP_RETENTION_DAYS * DAY_MS;
  const requests = await deleteInChunks(db, "DELETE FROM requests WHERE rowid IN (SELECT rowid FROM requests WHERE time < ?1 AND rolled = 1 LIMIT ?2)", recordsBefore);
  const hours = await deleteInChunks(db, "DELETE FROM rollup_hour WHERE (hour, key_id, provider, model) IN (SELECT hour, key_id, provider, model FROM rollup_hour WHERE hour < ?1 / 3600000 LIMIT ?2)", rollupsBefore);
  const dayRollups = await deleteInChunks(db, "DELETE FROM rollup_day WHERE (day, key_id, provider, model) IN (SELECT day, key_id, provider, model FROM rollup_day WHERE day < ?1 / 86400000 LIMIT ?2)", rollupsBefore);
  const days = dayRollups + await deleteInChunks(db, "DELETE FROM rollup_day_user WHERE (day, key_id, end_user) IN (SELECT day, key_id, end_user FROM rollup_day_user WHERE day < ?1 / 86400000 LIMIT ?2)", rollupsBefore);
  const bodies = await pruneBodies(env.LOG_BODIES, recordsBefore);
  const pruned = { requests, hours, days, bodies };
  console.log(JSON.stringify({ msg: "request_log_pruned", ...pruned }));
  return pruned;
}
