/**
 * One target's health as plain data and pure functions of (state, report, now),
 * so the rules are testable with a fake clock; the RouteHealth Durable Object
 * only stores this and applies reports in order.
 *
 * Breaker rules (DESIGN.md "RouteHealth"):
 * - Only the provider's failures count: `failure` and `timeout` reports (no
 *   answer, 5xx, timeouts; execution classifies them). Client errors never reach here.
 * - Closed → open after `consecutiveFailures` failures in a row, or when the
 *   window (the last ~60 s, in 10 s buckets) holds at least `minRequests`
 *   attempts of which at least `errorRate` failed.
 * - Open → half-open once `retryAt` has passed: the next attempt is a probe.
 *   A probe that succeeds closes the breaker (and clears the window, so old
 *   failures cannot re-open it at once); one that fails re-opens it with the
 *   cooldown doubled, up to `maxCooldownMs`.
 * - A probe is an attempt that STARTED at or after `retryAt`. Reports of any
 *   other attempt while the breaker is open change nothing, whenever they end:
 *   one begun before the breaker opened that fails after the cooldown must not
 *   double it, nor close the breaker if it succeeds.
 * - `rate_limited` (429) is the provider being busy, not broken: it never counts
 *   toward the breaker. It halves the weight factor instead, and so does a
 *   503/529 (overloaded) failure, which also counts as a failure. Sustained 429s
 *   drive the factor to its floor, and the provider's headers (`remainingRequests`
 *   0 until `resetAt`) say when it has room again.
 */
import type { AttemptOutcome, AttemptReport, TargetHealth, TargetId } from "./health-types.ts";
import { parseRateLimitHeaders, type Headroom } from "./rate-limit-headers.ts";

export const BREAKER = {
  consecutiveFailures: 5,
  windowMs: 60_000,
  bucketMs: 10_000,
  minRequests: 10,
  errorRate: 0.5,
  cooldownMs: 30_000,
  maxCooldownMs: 300_000,
} as const;

/** Each 429/503 multiplies the weight factor by `cut` (not below `floor`); it climbs back to 1 linearly over `recoveryMs`. */
export const WEIGHT = { cut: 0.5, floor: 0.05, recoveryMs: 60_000 } as const;

/** Smoothing of the time-to-first-byte mean: each new sample counts for 20 %. */
export const TTFB_ALPHA = 0.2;

/** Statuses meaning "overloaded, try elsewhere": they cut the weight like a 429. */
const OVERLOADED_STATUSES: ReadonlySet<number> = new Set([503, 529]);

/** Bumped when the stored shape changes: a Durable Object holding an older shape starts afresh. */
export const STATE_VERSION = 1;

interface WindowBucket {
  start: number;
  requests: number;
  failures: number;
}

export interface HealthState {
  v: typeof STATE_VERSION;
  /** The target this state belongs to, known from its first report. */
  target: TargetId | null;
  /** Whether the target is listed in the registry admin reads (see target-registry.ts). */
  registered: boolean;
  breaker: "closed" | "open";
  openedAt: number | null;
  retryAt: number | null;
  /** The current open period's cooldown; the base cooldown while closed. */
  cooldownMs: number;
  consecutiveFailures: number;
  window: WindowBucket[];
  ttfbMs: number | null;
  /** The factor right after the last cut and when it was cut; null: full weight. */
  weightCut: { factor: number; at: number } | null;
  headroom: Headroom | null;
  totals: Record<AttemptOutcome, number>;
  lastFailure: { at: number; outcome: AttemptOutcome; status: number | null } | null;
  timesOpened: number;
}

export function initialState(): HealthState {
  return {
    v: STATE_VERSION,
    target: null,
    registered: false,
    breaker: "closed",
    openedAt: null,
    retryAt: null,
    cooldownMs: BREAKER.cooldownMs,
    consecutiveFailures: 0,
    window: [],
    ttfbMs: null,
    weightCut: null,
    headroom: null,
    totals: { success: 0, failure: 0, rate_limited: 0, timeout: 0 },
    lastFailure: null,
    timesOpened: 0,
  };
}

export function weightFactorAt(cut: HealthState["weightCut"], now: number): number {
  if (cut === null) return 1;
  const recovered = cut.factor + ((1 - cut.factor) * Math.max(0, now - cut.at)) / WEIGHT.recoveryMs;
  return Math.min(1, recovered);
}

function cutWeight(state: HealthState, at: number): void {
  state.weightCut = { factor: Math.max(WEIGHT.floor, weightFactorAt(state.weightCut, at) * WEIGHT.cut), at };
}

function count(state: HealthState, at: number, failed: boolean): void {
  const start = at - (at % BREAKER.bucketMs);
  const oldest = at - BREAKER.windowMs;
  state.window = state.window.filter((b) => b.start + BREAKER.bucketMs > oldest);
  let bucket = state.window.find((b) => b.start === start);
  if (bucket === undefined) {
    bucket = { start, requests: 0, failures: 0 };
    state.window.push(bucket);
  }
  bucket.requests += 1;
  if (failed) bucket.failures += 1;
}

/** Attempts and failures in the window ending at `now`. */
export function windowCounts(state: HealthState, now: number): { requests: number; failures: number } {
  let requests = 0;
  let failures = 0;
  for (const b of state.window) {
    if (b.start + BREAKER.bucketMs <= now - BREAKER.windowMs) continue;
    requests += b.requests;
    failures += b.failures;
  }
  return { requests, failures };
}

function open(state: HealthState, at: number, cooldownMs: number): void {
  state.breaker = "open";
  state.openedAt = at;
  state.cooldownMs = cooldownMs;
  state.retryAt = at + cooldownMs;
  state.timesOpened += 1;
}

function close(state: HealthState): void {
  state.breaker = "closed";
  state.openedAt = null;
  state.retryAt = null;
  state.cooldownMs = BREAKER.cooldownMs;
  state.consecutiveFailures = 0;
  state.window = [];
}

function tripped(state: HealthState, at: number): boolean {
  if (state.consecutiveFailures >= BREAKER.consecutiveFailures) return true;
  const { requests, failures } = windowCounts(state, at);
  return requests >= BREAKER.minRequests && failures / requests >= BREAKER.errorRate;
}

/** When a report's attempt ended, as its target's state counts it: never later than `now`, the receiver's clock. */
export const reportedAt = (report: AttemptReport, now: number): number => Math.min(report.at, now);

/**
 * Applies one attempt's outcome. `now` is the receiver's clock: a report is never
 * taken as later than it. `headroom` is the report's rate-limit headers, parsed;
 * a caller that applies the same report more than once parses them once and passes them.
 */
export function applyReport(
  state: HealthState,
  report: AttemptReport,
  now: number,
  headroom: Headroom | null = parseRateLimitHeaders(report.rateLimitHeaders, reportedAt(report, now)),
): void {
  const at = reportedAt(report, now);
  state.target ??= report.target;
  state.totals[report.outcome] += 1;

  if (headroom !== null && (state.headroom === null || headroom.observedAt >= state.headroom.observedAt)) state.headroom = headroom;

  const startedAt = Math.min(report.startedAt, at);
  const isProbe = state.breaker === "open" && state.retryAt !== null && startedAt >= state.retryAt;
  const staleWhileOpen = state.breaker === "open" && !isProbe;

  if (report.outcome === "success") {
    if (report.ttfbMs !== null) state.ttfbMs = state.ttfbMs === null ? report.ttfbMs : state.ttfbMs + TTFB_ALPHA * (report.ttfbMs - state.ttfbMs);
    if (isProbe) close(state);
    else if (!staleWhileOpen) state.consecutiveFailures = 0;
    count(state, at, false);
    return;
  }
  if (report.outcome === "rate_limited") {
    cutWeight(state, at);
    return;
  }

  state.lastFailure = { at, outcome: report.outcome, status: report.status };
  if (report.status !== null && OVERLOADED_STATUSES.has(report.status)) cutWeight(state, at);
  if (staleWhileOpen) return;
  count(state, at, true);
  if (isProbe) {
    open(state, at, Math.min(BREAKER.maxCooldownMs, state.cooldownMs * 2));
    return;
  }
  state.consecutiveFailures += 1;
  if (tripped(state, at)) open(state, at, BREAKER.cooldownMs);
}

/** What isolates plan from. Headroom past its reset, or older than a window with no reset, is no longer known. */
export function snapshotOf(state: HealthState, now: number): TargetHealth {
  const h = state.headroom;
  const headroomKnown = h !== null && (h.resetAt !== null ? h.resetAt > now : now - h.observedAt < BREAKER.windowMs);
  const breaker = state.breaker === "closed" ? "closed" : state.retryAt !== null && now >= state.retryAt ? "half-open" : "open";
  return {
    breaker,
    retryAt: state.retryAt,
    ttfbMs: state.ttfbMs === null ? null : Math.round(state.ttfbMs),
    weightFactor: weightFactorAt(state.weightCut, now),
    remainingRequests: headroomKnown ? h.remainingRequests : null,
    remainingTokens: headroomKnown ? h.remainingTokens : null,
    resetAt: headroomKnown ? h.resetAt : null,
  };
}

/**
 * What RouteHealth answers a report batch or a snapshot read with. `version` grows
 * with every change the object takes, so an isolate keeps whichever answer is
 * newest, whatever order they arrive in (an RPC contract private to route health:
 * planning sees only the TargetHealth).
 */
export interface VersionedHealth {
  readonly health: TargetHealth;
  readonly version: number;
}

/** The snapshot plus the counters an operator wants to see (GET /admin/health). */
export interface TargetHealthDetail extends TargetHealth {
  readonly target: TargetId;
  readonly openedAt: number | null;
  readonly cooldownMs: number;
  readonly consecutiveFailures: number;
  readonly window: { readonly requests: number; readonly failures: number };
  readonly totals: Readonly<Record<AttemptOutcome, number>>;
  readonly lastFailure: HealthState["lastFailure"];
  readonly timesOpened: number;
}

export function detailOf(state: HealthState, target: TargetId, now: number): TargetHealthDetail {
  return {
    target,
    ...snapshotOf(state, now),
    openedAt: state.openedAt,
    cooldownMs: state.cooldownMs,
    consecutiveFailures: state.consecutiveFailures,
    window: windowCounts(state, now),
    totals: { ...state.totals },
    lastFailure: state.lastFailure,
    timesOpened: state.timesOpened,
  };
}

/** An operator's reset: breaker closed, failures and weight cuts forgotten; latency, headroom and totals kept. */
export function resetBreaker(state: HealthState): void {
  close(state);
  state.weightCut = null;
}

/**
 * A state that reproduces a snapshot as seen at `fetchedAt`, so that an isolate
 * can run its own not-yet-acknowledged reports through the same rules
 * (src/routing/health.ts). Counters a snapshot does not carry start at zero.
 */
export function stateFromSnapshot(target: TargetId, health: TargetHealth | undefined, fetchedAt: number): HealthState {
  const state = initialState();
  state.target = target;
  if (health === undefined) return state;
  if (health.breaker !== "closed") {
    state.breaker = "open";
    state.retryAt = health.retryAt;
  }
  state.ttfbMs = health.ttfbMs;
  if (health.weightFactor < 1) state.weightCut = { factor: health.weightFactor, at: fetchedAt };
  if (health.remainingRequests !== null || health.remainingTokens !== null) {
    state.headroom = { remainingRequests: health.remainingRequests, remainingTokens: health.remainingTokens, resetAt: health.resetAt, observedAt: fetchedAt };
  }
  return state;
}
