/**
 * What the KeyRevocations Durable Object (src/durable/key-revocations.ts) and the isolates that
 * consult it (revocations.ts) agree on: how long a tombstone is kept, how many one answer carries.
 */

/** Tombstones are kept this long: far longer than any stale KV read or racing PATCH lives. */
export const REVOCATION_MEMORY_MS = 7 * 86_400_000;
/** Most tombstones one answer carries; an isolate further behind asks again from the last one. */
export const REVOCATIONS_PAGE = 1_000;

/** One revocation, in the order they were made. */
export interface Revoked {
  readonly seq: number;
  readonly hash: string;
  readonly at: number;
}
