/**
 * The isolate's side of route health: planning reads a cached view and never
 * waits on a Durable Object; attempt outcomes go to the targets' RouteHealth
 * objects in batches, in the background.
 *
 * - `healthView` answers from this isolate's cache. A target whose entry is
 *   older than REFRESH_AFTER_MS (or missing: it reads as healthy meanwhile)
 *   gets one background snapshot read, shared by every concurrent request of
 *   the isolate, under the caller's `ctx.waitUntil`.
 * - `reportAttempt` buffers; the first report starts a FLUSH_DEBOUNCE_MS timer
 *   (under that request's `waitUntil`) and the batch goes when it fires, or at
 *   once when FLUSH_AT reports are waiting. Each target's RouteHealth answers a
 *   batch with its new snapshot, which replaces the cached one. A failed send
 *   is logged and its reports dropped: health is advisory, never an error for
 *   the client.
 * - Until a report is acknowledged, the view applies it locally with the same
 *   rules the Durable Object uses (route-health-state.ts), starting from the
 *   cached snapshot: failures this isolate has just seen can open the breaker
 *   locally, a 429 cuts the weight, a successful probe closes a half-open one.
 *   The acknowledgement's snapshot, which includes every isolate's reports,
 *   then takes over.
 * - Without the ROUTE_HEALTH binding the view is empty (every target healthy)
 *   and reports are dropped.
 */
import { applyReport, snapshotOf, stateFromSnapshot } from "../durable/route-health-state.ts";
import type { Env } from "../env.ts";
import type { AttemptReport, HealthView, TargetHealth, TargetId } from "./health-types.ts";

/** How old a cached snapshot may be before a background refresh. */
/** What health needs of a request's execution context: work that may outlive the response. */
export interface BackgroundWork {
  waitUntil(promise: Promise<unknown>): void;
}

export const REFRESH_AFTER_MS = 2_000;
/** A refresh not answered within this long no longer holds back the next one. */
const REFRESH_GIVE_UP_MS = 10_000;
/** How long reports wait for company before they are sent. */
export const FLUSH_DEBOUNCE_MS = 250; // a busy isolate sends each target a batch at most ~4 times a second
/** Buffered reports that are sent without waiting for the timer. */
export const FLUSH_AT = 64;
/** Cached targets per isolate; the oldest entries go first. */
const MAX_CACHED_TARGETS = 2_000;

type Namespace = NonNullable<Env["ROUTE_HEALTH"]>;

interface CachedTarget {
  health: TargetHealth | undefined;
  fetchedAt: number;
  refreshStartedAt: number | null;
}

const cache = new Map<TargetId, CachedTarget>();
/** Reports not yet sent, per target. */
let buffered = new Map<TargetId, AttemptReport[]>();
let bufferedCount = 0;
/** Reports sent and not yet acknowledged, per target. */
const sending = new Map<TargetId, Set<readonly AttemptReport[]>>();
let timerPending = false;

const EMPTY_VIEW: HealthView = { get: () => undefined };

function entryFor(target: TargetId): CachedTarget {
  let entry = cache.get(target);
  if (entry === undefined) {
    if (cache.size >= MAX_CACHED_TARGETS) {
      const oldest = cache.keys().next();
      if (oldest.done !== true) cache.delete(oldest.value);
    }
    entry = { health: undefined, fetchedAt: Number.NEGATIVE_INFINITY, refreshStartedAt: null };
    cache.set(target, entry);
  }
  return entry;
}

function store(target: TargetId, health: TargetHealth): void {
  const entry = entryFor(target);
  entry.health = health;
  entry.fetchedAt = Date.now();
}

function refreshIfStale(ns: Namespace, ctx: BackgroundWork, target: TargetId, now: number): void {
  const entry = entryFor(target);
  if (now - entry.fetchedAt < REFRESH_AFTER_MS) return;
  if (entry.refreshStartedAt !== null && now - entry.refreshStartedAt < REFRESH_GIVE_UP_MS) return;
  entry.refreshStartedAt = now;
  const refresh = ns
    .getByName(target)
    .snapshot()
    .then(
      (health) => store(target, health),
      (err: unknown) => {
        // Keep the old snapshot and wait a full period before asking again.
        entry.fetchedAt = Date.now();
        console.error(JSON.stringify({ msg: "route_health_refresh_failed", target, error: String(err) }));
      },
    )
    .finally(() => {
      entry.refreshStartedAt = null;
    });
  ctx.waitUntil(refresh);
}

function unacknowledged(target: TargetId): AttemptReport[] {
  const reports: AttemptReport[] = [];
  for (const batch of sending.get(target) ?? []) reports.push(...batch);
  reports.push(...(buffered.get(target) ?? []));
  return reports;
}

function localHealth(target: TargetId): TargetHealth | undefined {
  const entry = cache.get(target);
  const pending = unacknowledged(target);
  if (pending.length === 0) return entry?.health;
  const now = Date.now();
  const state = stateFromSnapshot(target, entry?.health, entry?.fetchedAt ?? now);
  for (const report of pending) applyReport(state, report, now);
  return snapshotOf(state, now);
}

/** The health of `targets` as this isolate knows it now; stale entries are refreshed in the background. */
export function healthView(env: Env, ctx: BackgroundWork, targets: readonly TargetId[]): HealthView {
  const ns = env.ROUTE_HEALTH;
  if (ns === undefined) return EMPTY_VIEW;
  const now = Date.now();
  for (const target of targets) refreshIfStale(ns, ctx, target, now);
  return { get: localHealth };
}

/**
 * The same view for a request whose targets are not known yet (an alias is
 * read during planning): each target looked at is refreshed in the background
 * if its cached state is stale, as `healthView` does up front.
 */
export function requestHealthView(env: Env, ctx: BackgroundWork): HealthView {
  const ns = env.ROUTE_HEALTH;
  if (ns === undefined) return EMPTY_VIEW;
  return {
    get(target) {
      refreshIfStale(ns, ctx, target, Date.now());
      return localHealth(target);
    },
  };
}

async function sendBatch(ns: Namespace, target: TargetId, reports: readonly AttemptReport[]): Promise<void> {
  let inFlight = sending.get(target);
  if (inFlight === undefined) {
    inFlight = new Set();
    sending.set(target, inFlight);
  }
  inFlight.add(reports);
  try {
    store(target, await ns.getByName(target).report(reports));
  } catch (err) {
    console.error(JSON.stringify({ msg: "route_health_report_failed", target, reports: reports.length, error: String(err) }));
  } finally {
    inFlight.delete(reports);
    if (inFlight.size === 0) sending.delete(target);
  }
}

async function flush(ns: Namespace): Promise<void> {
  const batches = buffered;
  buffered = new Map();
  bufferedCount = 0;
  // sendBatch never rejects: one target's failure cannot lose another's reports.
  await Promise.all([...batches].map(([target, reports]) => sendBatch(ns, target, reports)));
}

/** Queues one attempt's outcome for its target's RouteHealth. Returns at once; never throws. */
export function reportAttempt(env: Env, ctx: BackgroundWork, report: AttemptReport): void {
  const ns = env.ROUTE_HEALTH;
  if (ns === undefined) return;
  let list = buffered.get(report.target);
  if (list === undefined) {
    list = [];
    buffered.set(report.target, list);
  }
  list.push(report);
  bufferedCount += 1;
  if (bufferedCount >= FLUSH_AT) {
    ctx.waitUntil(flush(ns));
  } else if (!timerPending) {
    timerPending = true;
    const later = new Promise<void>((resolve) => setTimeout(resolve, FLUSH_DEBOUNCE_MS)).then(() => {
      timerPending = false;
      return flush(ns);
    });
    ctx.waitUntil(later);
  }
}

const RATE_LIMIT_HEADER = /^(?:x-ratelimit-|anthropic-ratelimit-)/;

/** The provider rate-limit headers of an upstream answer, for an AttemptReport (the rest are not sent). */
export function rateLimitHeaders(headers: Headers): Record<string, string> {
  const picked: Record<string, string> = {};
  for (const [name, value] of headers) if (RATE_LIMIT_HEADER.test(name)) picked[name] = value;
  return picked;
}

/** Drops this isolate's copy of a target's health (after an admin reset, so this isolate sees it at once). */
export function forgetTargetHealth(target: TargetId): void {
  cache.delete(target);
}

/** Test hook: forget every cached snapshot and unsent report in this isolate. */
export function clearRouteHealthCache(): void {
  cache.clear();
  buffered = new Map();
  bufferedCount = 0;
  sending.clear();
  timerPending = false;
}
