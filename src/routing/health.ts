/**
 * The isolate's side of route health: planning reads a cached view and never
 * waits on a Durable Object; attempt outcomes go to the targets' RouteHealth
 * objects in batches, in the background.
 *
 * - `healthView` answers from this isolate's cache. A target whose entry is
 *   older than REFRESH_AFTER_MS (or missing: it reads as healthy meanwhile)
 *   gets one background snapshot read, shared by every concurrent request of
 *   the isolate, under the caller's `ctx.waitUntil`.
 * - Every answer from RouteHealth carries a version that grows with each change
 *   it takes; the cache keeps the newest, so a slow answer never overwrites a
 *   newer one (an admin reset's answer included).
 * - `reportAttempt` buffers; the first report starts a FLUSH_DEBOUNCE_MS timer
 *   (under that request's `waitUntil`) and the batch goes when it fires, or at
 *   once when FLUSH_AT reports are waiting. Each target's RouteHealth answers a
 *   batch with its new snapshot. A failed send, or one unanswered after
 *   REPORT_TIMEOUT_MS, is logged and its reports dropped: health is advisory,
 *   never an error for the client.
 * - Until a report is acknowledged, the view applies it locally with the same
 *   rules the Durable Object uses (health-state.ts): each target keeps one
 *   local state, the cached snapshot with every unacknowledged report applied,
 *   each once, as it is reported. It is rebuilt only when a new snapshot
 *   arrives (which includes every isolate's reports) or a batch is given up on;
 *   with nothing unacknowledged the snapshot is served as is.
 * - Half-open means one probe, not a stampede: the first caller of an isolate to
 *   see a target's cooldown over gets it as `half-open` and holds a probe slot
 *   for PROBE_SLOT_MS, or until an attempt started since then is reported; other
 *   callers meanwhile see it `open` until the slot ends, so planning skips it.
 *   Each isolate thus sends at most one probe per slot (several isolates may
 *   each send one; RouteHealth judges them all).
 * - Without the ROUTE_HEALTH binding the view is empty (every target healthy)
 *   and reports are dropped.
 */
import { withinMs } from "../config/within-ms.ts";
import { parseRateLimitHeaders, type Headroom } from "./rate-limit-headers.ts";
import { applyReport, reportedAt, snapshotOf, stateFromSnapshot, type HealthState, type VersionedHealth } from "./health-state.ts";
import type { Env } from "../env.ts";
import type { AttemptReport, HealthView, TargetHealth, TargetId } from "./health-types.ts";

/** What health needs of a request's execution context: work that may outlive the response. */
export interface BackgroundWork {
  waitUntil(promise: Promise<unknown>): void;
}

/** How old a cached snapshot may be before a background refresh. */
export const REFRESH_AFTER_MS = 2_000;
/** A refresh not answered within this long is given up, and no longer holds back the next one. */
const REFRESH_GIVE_UP_MS = 10_000;
/** A report batch not answered within this long is given up: its reports no longer count locally. */
export const REPORT_TIMEOUT_MS = 10_000;
/** How long reports wait for company before they are sent. */
export const FLUSH_DEBOUNCE_MS = 250; // a busy isolate sends each target a batch at most ~4 times a second
/** A flush timer that has not fired by then is taken as lost (its request's context cancelled it): the next report sets another. */
const FLUSH_TIMER_GIVE_UP_MS = 5_000;
/** Buffered reports that are sent without waiting for the timer. */
export const FLUSH_AT = 64;
/** How long this isolate's one probe of a half-open target holds off its other requests. */
export const PROBE_SLOT_MS = 30_000;
/** Longer target ids are not reported: RouteHealth lists each one under a KV key, and KV keys stop at 512 bytes. */
export const MAX_TARGET_ID_BYTES = 300;
/** Cached targets per isolate; the oldest entries go first. */
const MAX_CACHED_TARGETS = 2_000;

type Namespace = NonNullable<Env["ROUTE_HEALTH"]>;

/** A report with its rate-limit headers parsed once, however often it is applied locally. */
interface PendingReport {
  readonly report: AttemptReport;
  readonly headroom: Headroom | null;
}

interface InFlightBatch {
  readonly reports: readonly PendingReport[];
  readonly sentAt: number;
}

interface TargetView {
  /** The newest snapshot RouteHealth answered, and its version. */
  snapshot: TargetHealth | undefined;
  version: number;
  fetchedAt: number;
  refreshStartedAt: number | null;
  /** Batches sent and not yet answered, oldest first. */
  inFlight: InFlightBatch[];
  /** The snapshot with every in-flight and buffered report applied; null when there are none. */
  local: HealthState | null;
  /** This isolate's probe of a cooled-down target: when it was handed out, and until when it holds others off. */
  probe: { grantedAt: number; until: number } | null;
}

const cache = new Map<TargetId, TargetView>();
/** Reports not yet sent, per target. */
let buffered = new Map<TargetId, PendingReport[]>();
let bufferedCount = 0;
/** When the pending flush timer was set, or null when none is. */
let flushTimerSetAt: number | null = null;

const EMPTY_VIEW: HealthView = { get: () => undefined };

function entryFor(target: TargetId): TargetView {
  let view = cache.get(target);
  if (view === undefined) {
    if (cache.size >= MAX_CACHED_TARGETS) {
      const oldest = cache.keys().next();
      if (oldest.done !== true) cache.delete(oldest.value);
    }
    view = { snapshot: undefined, version: Number.NEGATIVE_INFINITY, fetchedAt: Number.NEGATIVE_INFINITY, refreshStartedAt: null, inFlight: [], local: null, probe: null };
    cache.set(target, view);
  }
  return view;
}

function applyLocally(view: TargetView, target: TargetId, pending: PendingReport, now: number): void {
  view.local ??= stateFromSnapshot(target, view.snapshot, view.fetchedAt);
  applyReport(view.local, pending.report, now, pending.headroom);
}

/** Recomputes the local state from the snapshot and what is still unacknowledged, forgetting batches given up on. */
function rebuild(view: TargetView, target: TargetId, now: number): void {
  view.inFlight = view.inFlight.filter((batch) => now - batch.sentAt < REPORT_TIMEOUT_MS);
  view.local = null;
  for (const batch of view.inFlight) for (const pending of batch.reports) applyLocally(view, target, pending, now);
  for (const pending of buffered.get(target) ?? []) applyLocally(view, target, pending, now);
}

/** Caches an answer of RouteHealth unless a newer one is already cached; says whether it did. */
function store(target: TargetId, answer: VersionedHealth): boolean {
  const view = entryFor(target);
  const now = Date.now();
  if (answer.version < view.version) return false;
  view.snapshot = answer.health;
  view.version = answer.version;
  view.fetchedAt = now;
  rebuild(view, target, now);
  return true;
}

function cooledDown(health: TargetHealth, now: number): boolean {
  return health.breaker === "half-open" || (health.breaker === "open" && health.retryAt !== null && health.retryAt <= now);
}

/** Hands a cooled-down target to one caller as `half-open`; the others see it `open` until that probe's slot ends. */
function withProbeSlot(view: TargetView, health: TargetHealth, now: number): TargetHealth {
  if (!cooledDown(health, now)) return health;
  if (view.probe !== null && view.probe.until > now) return { ...health, breaker: "open", retryAt: view.probe.until };
  view.probe = { grantedAt: now, until: now + PROBE_SLOT_MS };
  return health.breaker === "half-open" ? health : { ...health, breaker: "half-open" };
}

function localHealth(target: TargetId): TargetHealth | undefined {
  const view = cache.get(target);
  if (view === undefined) return undefined;
  const now = Date.now();
  const oldest = view.inFlight[0];
  if (oldest !== undefined && now - oldest.sentAt >= REPORT_TIMEOUT_MS) rebuild(view, target, now);
  const health = view.local === null ? view.snapshot : snapshotOf(view.local, now);
  return health === undefined ? undefined : withProbeSlot(view, health, now);
}

function refreshIfStale(ns: Namespace, ctx: BackgroundWork, target: TargetId, now: number): void {
  const view = entryFor(target);
  if (now - view.fetchedAt < REFRESH_AFTER_MS) return;
  if (view.refreshStartedAt !== null && now - view.refreshStartedAt < REFRESH_GIVE_UP_MS) return;
  view.refreshStartedAt = now;
  const refresh = withinMs(ns.getByName(target).snapshot(), REFRESH_GIVE_UP_MS, "RouteHealth snapshot")
    .then(
      (answer) => store(target, answer),
      (err: unknown) => {
        // Keep the old snapshot and wait a full period before asking again.
        view.fetchedAt = Date.now();
        console.error(JSON.stringify({ msg: "route_health_refresh_failed", target, error: String(err) }));
      },
    )
    .finally(() => {
      view.refreshStartedAt = null;
    });
  ctx.waitUntil(refresh);
}

/** A flush timer that never fired (its request's context was cancelled) must not hold reports back for good. */
function scheduleFlush(ns: Namespace, ctx: BackgroundWork, now: number): void {
  if (bufferedCount >= FLUSH_AT) {
    ctx.waitUntil(flush(ns));
    return;
  }
  if (flushTimerSetAt !== null && now - flushTimerSetAt < FLUSH_TIMER_GIVE_UP_MS) return;
  const setAt = now;
  flushTimerSetAt = setAt;
  const later = new Promise<void>((resolve) => setTimeout(resolve, FLUSH_DEBOUNCE_MS)).then(() => {
    if (flushTimerSetAt === setAt) flushTimerSetAt = null;
    return flush(ns);
  });
  ctx.waitUntil(later);
}

/** Route health as this isolate knows it now, never waiting; stale entries (of `targets` at once, of others when looked at) are refreshed in the background. */
export function healthView(env: Env, ctx: BackgroundWork, targets: readonly TargetId[] = []): HealthView {
  const ns = env.ROUTE_HEALTH;
  if (ns === undefined) return EMPTY_VIEW;
  const now = Date.now();
  if (bufferedCount > 0) scheduleFlush(ns, ctx, now);
  for (const target of targets) refreshIfStale(ns, ctx, target, now);
  // Targets not named up front (an alias's, read while planning) are refreshed as they are looked at.
  return {
    get(target) {
      refreshIfStale(ns, ctx, target, Date.now());
      return localHealth(target);
    },
  };
}


async function sendBatch(ns: Namespace, target: TargetId, reports: readonly PendingReport[]): Promise<void> {
  const view = entryFor(target);
  const batch: InFlightBatch = { reports, sentAt: Date.now() };
  view.inFlight.push(batch);
  let answer: VersionedHealth | null = null;
  try {
    answer = await withinMs(ns.getByName(target).report(reports.map((p) => p.report)), REPORT_TIMEOUT_MS, "RouteHealth report");
  } catch (err) {
    console.error(JSON.stringify({ msg: "route_health_report_failed", target, reports: reports.length, error: String(err) }));
  }
  view.inFlight = view.inFlight.filter((b) => b !== batch);
  // The answer includes this batch, and so does any newer one already cached; without
  // an answer its reports are dropped. Either way the local state is rebuilt once.
  if (answer === null || !store(target, answer)) rebuild(view, target, Date.now());
}

async function flush(ns: Namespace): Promise<void> {
  const batches = buffered;
  buffered = new Map();
  bufferedCount = 0;
  // sendBatch never rejects: one target's failure cannot lose another's reports.
  await Promise.all([...batches].map(([target, reports]) => sendBatch(ns, target, reports)));
}

/** Target ids short enough to be listed in KV (see MAX_TARGET_ID_BYTES); a UTF-16 unit is at most 3 UTF-8 bytes. */
function reportable(target: TargetId): boolean {
  if (target.length * 3 <= MAX_TARGET_ID_BYTES) return true;
  return target.length <= MAX_TARGET_ID_BYTES && new TextEncoder().encode(target).length <= MAX_TARGET_ID_BYTES;
}

/** Queues one attempt's outcome for its target's RouteHealth and applies it to this isolate's view. Returns at once; never throws. */
export function reportAttempt(env: Env, ctx: BackgroundWork, report: AttemptReport): void {
  const ns = env.ROUTE_HEALTH;
  if (ns === undefined || !reportable(report.target)) return;
  const now = Date.now();
  const pending: PendingReport = { report, headroom: parseRateLimitHeaders(report.rateLimitHeaders, reportedAt(report, now)) };
  let list = buffered.get(report.target);
  if (list === undefined) {
    list = [];
    buffered.set(report.target, list);
  }
  list.push(pending);
  bufferedCount += 1;
  const view = entryFor(report.target);
  // The probe (or any attempt begun since it was handed out) has ended: the local state now says what it found.
  if (view.probe !== null && report.startedAt >= view.probe.grantedAt) view.probe = null;
  applyLocally(view, report.target, pending, now);
  scheduleFlush(ns, ctx, now);
}

const RATE_LIMIT_HEADER = /^(?:x-ratelimit-|anthropic-ratelimit-)/;

/** The provider rate-limit headers of an upstream answer, for an AttemptReport (the rest are not sent). */
export function rateLimitHeaders(headers: Headers): Record<string, string> {
  const picked: Record<string, string> = {};
  for (const [name, value] of headers) if (RATE_LIMIT_HEADER.test(name)) picked[name] = value;
  return picked;
}

/** Caches the snapshot an admin reset answered, so this isolate sees the reset at once and no older answer undoes it. */
export function adoptResetHealth(target: TargetId, answer: VersionedHealth): void {
  store(target, answer);
  entryFor(target).probe = null;
}

/** Test hook: forget every cached snapshot and unsent report in this isolate. */
export function clearRouteHealthCache(): void {
  cache.clear();
  buffered = new Map();
  bufferedCount = 0;
  flushTimerSetAt = null;
}
