import type { Env } from "../env.ts";
import { IsolateCache } from "../config/isolate-cache.ts";
import { listKvKeys, readKvJson } from "../config/kv-json.ts";
import { keyRecordSchema, type CreateKeyInput, type KeyRecord, type UpdateKeyInput } from "../config/schemas.ts";
import type { BackgroundWork } from "../routing/health.ts";
import { randomBase62, sha256Hex } from "./crypto.ts";
import { isRevoked, noteRevoked, revocationsOf } from "./revocations.ts";

/**
 * Gateway keys in KV. The secret itself is never stored: `key:<sha256>` holds
 * the record (looked up on every request, by hash), `keyid:<id>` maps the
 * public id back to the hash so a key can be listed and revoked by id.
 */
const BY_HASH = "key:";
const BY_ID = "keyid:";
export const KEY_PREFIX = "sk-sy-";
const SECRET_LENGTH = 40;
/** Only strings shaped like a key can be one: anything else is refused before hashing, KV or cache. */
const KEY_PATTERN = new RegExp(`^${KEY_PREFIX}[0-9A-Za-z]{${SECRET_LENGTH}}$`);
export const KEY_ID_PATTERN = /^key_[0-9A-Za-z]{16}$/;

/** Found keys are trusted for this long in an isolate; unknown ones for less, so a new key works quickly. */
const KEY_TTL_MS = 30_000;
const UNKNOWN_KEY_TTL_MS = 5_000;
/**
 * Keyed by the presented secret, so a warm request needs no hashing: the secret
 * is in this isolate's memory for the request anyway, and never leaves it.
 */
const keyCache = new IsolateCache<{ hash: string; record: KeyRecord | null }>(KEY_TTL_MS);
/** Unknown keys live apart, so a flood of made-up keys cannot push the real ones out. */
const unknownKeyCache = new IsolateCache<{ hash: string; record: null }>(UNKNOWN_KEY_TTL_MS, 2_000);

/** Bumped by every revocation, so a lookup that raced one does not cache the revoked record. */
let revocations = 0;

/**
 * The key record for a presented secret (isolate cache, then KV by hash), or
 * null. A key the revocation view knows (revocations.ts, at most 30 s old) is
 * null whatever KV or the cache say: a stale KV copy or a PATCH that raced the
 * DELETE cannot bring it back.
 */
export async function findKeyBySecret(env: Env, ctx: BackgroundWork, secret: string): Promise<KeyRecord | null> {
  if (!KEY_PATTERN.test(secret)) return null;
  const cached = keyCache.get(secret) ?? unknownKeyCache.get(secret);
  if (cached !== undefined) return cached.record === null || (await isRevoked(env, ctx, cached.hash)) ? null : cached.record;
  const generation = revocations;
  const hash = await sha256Hex(secret);
  // The KV read and the view's check (a Durable Object call only when the view is stale) at once.
  const [raw, revoked] = await Promise.all([readKvJson(env.CONFIG, BY_HASH + hash), isRevoked(env, ctx, hash)]);
  const parsed = keyRecordSchema.safeParse(raw);
  const record = parsed.success && !revoked ? parsed.data : null;
  if (record === null) unknownKeyCache.set(secret, { hash, record });
  else if (generation === revocations) keyCache.set(secret, { hash, record });
  return record;
}

/** Whether the revocation Durable Object has `hash` (asked directly: admin paths must not trust a view). */
async function revokedAtSource(env: Env, hash: string): Promise<boolean> {
  return env.KEY_REVOCATIONS !== undefined && (await revocationsOf(env.KEY_REVOCATIONS).isRevoked(hash));
}

export async function createKey(env: Env, input: CreateKeyInput): Promise<{ secret: string; record: KeyRecord }> {
  const secret = KEY_PREFIX + randomBase62(SECRET_LENGTH);
  const hash = await sha256Hex(secret);
  const record: KeyRecord = {
    id: `key_${randomBase62(16)}`,
    name: input.name,
    models: input.models ?? null,
    prefix: secret.slice(0, KEY_PREFIX.length + 4),
    createdAt: new Date().toISOString(),
    maxCostPerRequestUsd: input.maxCostPerRequestUsd,
    allowUnpriced: input.allowUnpriced,
    degradeTo: input.degradeTo,
    alertWebhook: input.alertWebhook,
    limits: input.limits,
    requireEndUser: input.requireEndUser,
    logBodies: input.logBodies,
    storeResponses: input.storeResponses,
    pinEndUser: input.pinEndUser,
  };
  // The id index first: a key that can be used must always be revocable. Its
  // metadata carries the record so listing keys needs no read per key.
  const metadata = new TextEncoder().encode(JSON.stringify(record)).byteLength <= LISTABLE_METADATA_BYTES ? record : undefined;
  await env.CONFIG.put(BY_ID + record.id, hash, { metadata });
  await env.CONFIG.put(BY_HASH + hash, JSON.stringify(record));
  unknownKeyCache.delete(secret);
  return { secret, record };
}

/** KV metadata holds at most 1024 bytes; a record with a long allow-list is read on its own. */
const LISTABLE_METADATA_BYTES = 1000;

/** Reads a key's record through its id index (used when its metadata could not hold it). */
async function readRecordById(env: Env, idKey: string): Promise<unknown> {
  const hash = await env.CONFIG.get(idKey);
  return hash === null ? null : readKvJson(env.CONFIG, BY_HASH + hash);
}

/** A key's record by its public id, or null (no such key, or a record that does not parse). */
export async function findKeyById(env: Env, id: string): Promise<KeyRecord | null> {
  const parsed = keyRecordSchema.safeParse(await readRecordById(env, BY_ID + id));
  return parsed.success ? parsed.data : null;
}

export async function listKeys(env: Env): Promise<KeyRecord[]> {
  const listed = await listKvKeys(env.CONFIG, BY_ID);
  const raws = await Promise.all(listed.map((k) => (k.metadata !== undefined && k.metadata !== null ? k.metadata : readRecordById(env, k.name))));
  const keys: KeyRecord[] = [];
  for (const raw of raws) {
    const parsed = keyRecordSchema.safeParse(raw);
    if (parsed.success) keys.push(parsed.data);
  }
  return keys.sort((a, b) => a.createdAt.localeCompare(b.createdAt));
}

/**
 * Changes a key's settings (not its secret); its cached record in this isolate
 * goes, others see it within KEY_TTL_MS. Null if no such id, or revoked. The
 * record is read, then written back: a revocation landing in between would be
 * undone in KV, so the write is checked against the revocations afterwards and
 * taken back (auth refuses the key meanwhile: the Durable Object has it).
 */
export async function updateKey(env: Env, id: string, input: UpdateKeyInput): Promise<KeyRecord | null> {
  const hash = await env.CONFIG.get(BY_ID + id);
  if (hash === null || (await revokedAtSource(env, hash))) return null;
  const parsed = keyRecordSchema.safeParse(await readKvJson(env.CONFIG, BY_HASH + hash));
  if (!parsed.success) return null;
  const record: KeyRecord = { ...parsed.data };
  for (const [field, value] of Object.entries(input)) {
    if (value === undefined) continue;
    // `null` clears an optional setting; `models: null` means every model.
    Object.assign(record, { [field]: value === null && field !== "models" ? undefined : value });
  }
  const metadata = new TextEncoder().encode(JSON.stringify(record)).byteLength <= LISTABLE_METADATA_BYTES ? record : undefined;
  await env.CONFIG.put(BY_HASH + hash, JSON.stringify(record));
  await env.CONFIG.put(BY_ID + id, hash, { metadata });
  revocations++; // a lookup racing this one must not cache the old record
  keyCache.deleteWhere((entry) => entry.hash === hash);
  if (await revokedAtSource(env, hash)) {
    await deleteRecords(env, id, hash);
    return null;
  }
  return record;
}

async function deleteRecords(env: Env, id: string, hash: string): Promise<void> {
  await env.CONFIG.delete(BY_HASH + hash);
  await env.CONFIG.delete(BY_ID + id);
}

/**
 * Revokes a key: recorded in the revocation Durable Object first (from then on
 * every isolate refuses it within 30 s, whatever KV says), then gone from KV
 * and from this isolate's cache. False if no such id.
 */
export async function revokeKey(env: Env, id: string): Promise<boolean> {
  const hash = await env.CONFIG.get(BY_ID + id);
  if (hash === null) return false;
  if (env.KEY_REVOCATIONS !== undefined) await revocationsOf(env.KEY_REVOCATIONS).revoke(hash);
  noteRevoked(hash);
  await deleteRecords(env, id, hash);
  revocations++;
  keyCache.deleteWhere((entry) => entry.hash === hash);
  return true;
}

/** Test hook: forget every key cached in this isolate. */
export function clearKeyCache(): void {
  keyCache.clear();
}
