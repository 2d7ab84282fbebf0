/**
 * The isolate's view of revoked keys (src/durable/key-revocations.ts): every
 * revocation since the isolate started, fetched from the Durable Object at
 * most every REFRESH_MS in the background and at the latest MAX_AGE_MS after
 * the last fetch on the request path. So a revoked key is refused by every
 * isolate within 30 s, whatever KV or this isolate's key cache still holds,
 * and a typical request makes no Durable Object call for it (one call per
 * isolate per ~20 s, whatever the number of keys).
 */
import type { Env } from "../env.ts";
import type { BackgroundWork } from "../routing/health.ts";
import { REVOCATION_MEMORY_MS, REVOCATIONS_PAGE } from "./revocation-rules.ts";

/** The view is refreshed in the background once this old… */
const REFRESH_MS = 20_000;
/** …and never trusted older than this: the bound on how long a revoked key may still be served. */
export const MAX_AGE_MS = 30_000;

const ID_NAME = "revocations";

type Revocations = NonNullable<Env["KEY_REVOCATIONS"]>;

export const revocationsOf = (ns: Revocations) => ns.get(ns.idFromName(ID_NAME));

interface View {
  /** Revoked key hashes and when they were revoked. */
  readonly revoked: Map<string, number>;
  seq: number;
  fetchedAt: number;
  /** When the background refresh in progress began (null: none). */
  backgroundSince: number | null;
}

let view: View | null = null;

/** Longest wait for the Durable Object on one refresh: past it the request gets a 503 rather than hanging. */
const FETCH_TIMEOUT_MS = 3_000;

function timedOut(ms: number): { promise: Promise<never>; cancel: () => void } {
  let timer = 0;
  const promise = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`the revocation list did not answer within ${ms} ms`)), ms);
  });
  return { promise, cancel: () => clearTimeout(timer) };
}

/**
 * Brings `v` up to date from the Durable Object, as of `startedAt`. Each caller
 * makes its own calls (a promise begun in one request and awaited in another
 * ties the second to the first's life, and hangs it if the first is cancelled);
 * concurrent refreshes merge harmlessly, the view only ever gaining revocations.
 */
async function refresh(ns: Revocations, v: View, startedAt: number): Promise<void> {
  const stub = revocationsOf(ns);
  for (;;) {
    const timeout = timedOut(FETCH_TIMEOUT_MS);
    const page = await Promise.race([stub.since(v.seq), timeout.promise]).finally(timeout.cancel);
    for (const r of page) {
      v.revoked.set(r.hash, r.at);
      v.seq = Math.max(v.seq, r.seq);
    }
    if (page.length < REVOCATIONS_PAGE) break;
  }
  v.fetchedAt = Math.max(v.fetchedAt, startedAt);
  // The Durable Object forgets tombstones after a week; the view does too, so it stays as small.
  const forgetBefore = Date.now() - REVOCATION_MEMORY_MS;
  for (const [hash, at] of v.revoked) if (at < forgetBefore) v.revoked.delete(hash);
}

/**
 * Whether the key with secret hash `hash` is revoked, by a view at most
 * MAX_AGE_MS old. Without the binding there is no view: KV alone decides.
 */
export async function isRevoked(env: Env, ctx: BackgroundWork, hash: string): Promise<boolean> {
  const ns = env.KEY_REVOCATIONS;
  if (ns === undefined) return false;
  const now = Date.now();
  view ??= { revoked: new Map(), seq: 0, fetchedAt: -Infinity, backgroundSince: null };
  const v = view;
  if (now - v.fetchedAt >= MAX_AGE_MS) {
    await refresh(ns, v, now);
  } else if (now - v.fetchedAt >= REFRESH_MS && (v.backgroundSince === null || now - v.backgroundSince > FETCH_TIMEOUT_MS)) {
    v.backgroundSince = now;
    const done = refresh(ns, v, now)
      .catch((err: unknown) => console.error(JSON.stringify({ msg: "revocations_refresh_failed", error: String(err) })))
      .finally(() => {
        if (v.backgroundSince === now) v.backgroundSince = null;
      });
    ctx.waitUntil(done);
  }
  return v.revoked.has(hash);
}

/** A revocation made by this isolate applies here at once, before the next refresh. */
export function noteRevoked(hash: string): void {
  view?.revoked.set(hash, Date.now());
}
