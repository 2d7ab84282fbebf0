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
/** Listing pages of bodies one run may delete (1,000 each); the next hour carries on. */
const MAX_BODY_PAGES = 50;

/**
 * Deletes the stored bodies of the days before `before` (they go with their
 * records). Keys start with their day (`yyyy/mm/dd/`) and R2 lists in key
 * order, so walking from the start meets the oldest first and stops at the
 * first day still kept, whatever the retention was before or however long the
 * cron did not run.
 */
/** Deletes the objects of a bucket whose keys start with a day (`yyyy/mm/dd/…`) before `before`'s. */
export async function pruneBodies(bucket: R2Bucket | undefined, before: number): Promise<number> {
  if (bucket === undefined) return 0;
  const keepFrom = bodiesKey("", before).replace(/\.json$/, "");
  let deleted = 0;
  for (let page = 0; page < MAX_BODY_PAGES; page++) {
    const listed = await bucket.list({ limit: 1_000 });
    const old = listed.objects.map((o) => o.key).filter((key) => key < keepFrom);
    if (old.length > 0) await bucket.delete(old);
    deleted += old.length;
    if (old.length < listed.objects.length || !listed.truncated) break;
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
  await db.prepare("DELETE FROM anomalies WHERE at < ?").bind(rollupsBefore).run();
  const days = dayRollups + await deleteInChunks(db, "DELETE FROM rollup_day_user WHERE (day, key_id, end_user) IN (SELECT day, key_id, end_user FROM rollup_day_user WHERE day < ?1 / 86400000 LIMIT ?2)", rollupsBefore);
  const bodies = await pruneBodies(env.LOG_BODIES, recordsBefore);
  const pruned = { requests, hours, days, bodies };
  console.log(JSON.stringify({ msg: "request_log_pruned", ...pruned }));
  return pruned;
}
