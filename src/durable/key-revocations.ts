/**
 * KeyRevocations: one Durable Object (named "revocations") that remembers which
 * gateway keys were revoked, by the SHA-256 of their secret, in the order they
 * were revoked. KV alone cannot make a revocation final: an isolate may read a
 * stale copy of the record for a minute or more in another location, and an
 * admin PATCH that read the record before the DELETE writes it back after. The
 * Durable Object is strongly consistent, so isolates that consult it (src/auth/
 * revocations.ts) refuse a revoked key whatever KV says, within 30 s.
 *
 * Tombstones are kept REVOCATION_MEMORY_MS, far longer than any stale KV read
 * or racing PATCH lives (the PATCH re-checks and deletes again), so the table
 * stays bounded by the revocations of a week.
 */
import { DurableObject } from "cloudflare:workers";
import type { Env } from "../env.ts";

import { REVOCATION_MEMORY_MS, REVOCATIONS_PAGE, type Revoked } from "../auth/revocation-rules.ts";

export type { Revoked };

export class KeyRevocations extends DurableObject<Env> {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.storage.sql.exec(`CREATE TABLE IF NOT EXISTS revoked (
      seq INTEGER PRIMARY KEY AUTOINCREMENT,
      hash TEXT NOT NULL UNIQUE,
      revoked_at INTEGER NOT NULL
    )`);
  }

  /** Records a revocation (again: nothing changes) and forgets tombstones past their memory. */
  async revoke(hash: string): Promise<void> {
    if (!/^[0-9a-f]{64}$/.test(hash)) throw new Error("a key hash is 64 hex digits");
    const now = Date.now();
    const sql = this.ctx.storage.sql;
    sql.exec("INSERT INTO revoked (hash, revoked_at) VALUES (?, ?) ON CONFLICT (hash) DO NOTHING", hash, now);
    sql.exec("DELETE FROM revoked WHERE revoked_at < ?", now - REVOCATION_MEMORY_MS);
  }

  async isRevoked(hash: string): Promise<boolean> {
    return this.ctx.storage.sql.exec("SELECT 1 FROM revoked WHERE hash = ?", hash).toArray().length > 0;
  }

  /** Revocations after `seq`, oldest first, at most PAGE of them. */
  async since(seq: number): Promise<Revoked[]> {
    return this.ctx.storage.sql
      .exec<{ seq: number; hash: string; at: number }>("SELECT seq, hash, revoked_at AS at FROM revoked WHERE seq > ? ORDER BY seq LIMIT ?", seq, REVOCATIONS_PAGE)
      .toArray();
  }
}
