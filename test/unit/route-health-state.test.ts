import { describe, expect, it } from "vitest";
import { parseDurationMs, parseRateLimitHeaders } from "../../src/routing/rate-limit-headers.ts";
import { BREAKER, WEIGHT, applyReport, detailOf, initialState, resetBreaker, snapshotOf, type HealthState } from "../../src/routing/health-state.ts";
import type { AttemptOutcome, AttemptReport } from "../../src/routing/health-types.ts";

const T0 = Date.parse("2026-11-20T12:00:00Z");
const TARGET = "openai/gpt-4o-mini";

function report(at: number, outcome: AttemptOutcome, extra: Partial<AttemptReport> = {}): AttemptReport {
  const status = outcome === "success" ? 200 : outcome === "rate_limited" ? 429 : outcome === "timeout" ? null : 500;
  return { target: TARGET, at, startedAt: at - 100, outcome, status, ttfbMs: outcome === "success" ? 300 : null, rateLimitHeaders: {}, ...extra };
}

/** Applies reports one second apart from `start`; returns the time of the last. */
function feed(state: HealthState, start: number, outcomes: AttemptOutcome[]): number {
  let at = start;
  outcomes.forEach((o, i) => {
    at = start + i * 1000;
    applyReport(state, report(at, o), at);
  });
  return at;
}

const times = <T>(n: number, value: T): T[] => Array.from({ length: n }, () => value);

describe("RouteHealth breaker", () => {
  it("opens after 5 consecutive failures, not 4, and a success in between resets the count", () => {
    const state = initialState();
    let at = feed(state, T0, ["failure", "failure", "timeout", "failure", "success", "failure", "failure", "failure", "failure"]);
    expect(snapshotOf(state, at).breaker).toBe("closed");
    at += 1000;
    applyReport(state, report(at, "failure"), at);
    const snap = snapshotOf(state, at);
    expect(snap.breaker).toBe("open");
    expect(snap.retryAt).toBe(at + BREAKER.cooldownMs);
  });

  it("opens on an error rate of at least 50 % over the window once it holds 10 attempts", () => {
    const state = initialState();
    // Alternating: never 5 failures in a row. Nine attempts are not enough to judge.
    let at = feed(state, T0, ["failure", "success", "failure", "success", "failure", "success", "failure", "success", "failure"]);
    expect(snapshotOf(state, at).breaker).toBe("closed");
    at += 1000;
    applyReport(state, report(at, "failure"), at);
    expect(snapshotOf(state, at).breaker).toBe("open");
    expect(detailOf(state, TARGET, at).window).toEqual({ requests: 10, failures: 6 });
  });

  it("forgets failures older than the window", () => {
    const state = initialState();
    feed(state, T0, ["failure", "success", "failure", "success", "failure", "success", "failure", "success"]);
    // Two minutes later the old attempts no longer count: 2 failures of 2 is under the 10-attempt minimum.
    const later = T0 + 120_000;
    const at = feed(state, later, ["failure", "success"]);
    expect(detailOf(state, TARGET, at).window).toEqual({ requests: 2, failures: 1 });
    expect(snapshotOf(state, at).breaker).toBe("closed");
  });

  it("is half-open after the cooldown, and a successful probe closes it", () => {
    const state = initialState();
    const opened = feed(state, T0, times(5, "failure"));
    expect(snapshotOf(state, opened + BREAKER.cooldownMs - 1).breaker).toBe("open");
    const probeAt = opened + BREAKER.cooldownMs;
    expect(snapshotOf(state, probeAt).breaker).toBe("half-open");
    applyReport(state, report(probeAt + 200, "success"), probeAt + 200);
    const snap = snapshotOf(state, probeAt + 200);
    expect(snap.breaker).toBe("closed");
    expect(snap.retryAt).toBeNull();
    // The window was cleared: one more failure does not re-open it on old evidence.
    applyReport(state, report(probeAt + 300, "failure"), probeAt + 300);
    expect(snapshotOf(state, probeAt + 300).breaker).toBe("closed");
  });

  it("re-opens after a failed probe with the cooldown doubled, up to 5 minutes", () => {
    const state = initialState();
    let at = feed(state, T0, times(5, "failure"));
    const cooldowns: number[] = [];
    for (let i = 0; i < 6; i++) {
      at = snapshotOf(state, at).retryAt ?? Number.NaN;
      applyReport(state, report(at, "failure", { startedAt: at }), at);
      const snap = snapshotOf(state, at);
      expect(snap.breaker).toBe("open");
      cooldowns.push((snap.retryAt ?? 0) - at);
    }
    expect(cooldowns).toEqual([60_000, 120_000, 240_000, 300_000, 300_000, 300_000]);
    applyReport(state, report(at + 300_000, "success", { startedAt: at + 300_000 }), at + 300_000);
    expect(detailOf(state, TARGET, at + 300_000)).toMatchObject({ breaker: "closed", cooldownMs: BREAKER.cooldownMs, timesOpened: 7 });
  });

  it("ignores outcomes of attempts that ended while open, before the cooldown", () => {
    const state = initialState();
    const opened = feed(state, T0, times(5, "failure"));
    const retryAt = snapshotOf(state, opened).retryAt;
    applyReport(state, report(opened + 1000, "success"), opened + 1000);
    applyReport(state, report(opened + 2000, "failure"), opened + 2000);
    expect(snapshotOf(state, opened + 2000)).toMatchObject({ breaker: "open", retryAt });
  });

  it("judges a probe by when it started: an attempt begun before the breaker opened neither doubles the cooldown nor closes it", () => {
    const state = initialState();
    const opened = feed(state, T0, times(5, "failure"));
    const retryAt = snapshotOf(state, opened).retryAt ?? Number.NaN;
    // A slow call started a second before the breaker opened; it fails after the cooldown.
    applyReport(state, report(retryAt + 5000, "failure", { startedAt: opened - 1000 }), retryAt + 5000);
    expect(detailOf(state, TARGET, retryAt + 5000)).toMatchObject({ breaker: "half-open", retryAt, cooldownMs: BREAKER.cooldownMs, timesOpened: 1 });
    // Another one succeeds after the cooldown: still no probe, the breaker stays as it was.
    applyReport(state, report(retryAt + 6000, "success", { startedAt: retryAt - 1 }), retryAt + 6000);
    expect(snapshotOf(state, retryAt + 6000)).toMatchObject({ breaker: "half-open", retryAt });
    // A call started at retryAt is the probe: its failure doubles the cooldown.
    applyReport(state, report(retryAt + 7000, "failure", { startedAt: retryAt }), retryAt + 7000);
    expect(detailOf(state, TARGET, retryAt + 7000)).toMatchObject({ breaker: "open", retryAt: retryAt + 7000 + 2 * BREAKER.cooldownMs, timesOpened: 2 });
  });

  it("does not count 429s toward the breaker, and an operator reset closes it", () => {
    const state = initialState();
    const at = feed(state, T0, times(12, "rate_limited"));
    expect(snapshotOf(state, at).breaker).toBe("closed");
    expect(detailOf(state, TARGET, at).window.requests).toBe(0);
    const opened = feed(state, at + 1000, times(5, "failure"));
    expect(snapshotOf(state, opened).breaker).toBe("open");
    resetBreaker(state);
    expect(snapshotOf(state, opened)).toMatchObject({ breaker: "closed", retryAt: null, weightFactor: 1 });
    expect(detailOf(state, TARGET, opened).totals).toEqual({ success: 0, failure: 5, timeout: 0, rate_limited: 12 });
  });
});

describe("RouteHealth latency and weight", () => {
  it("keeps an exponentially weighted mean of time to first byte (alpha 0.2), from successes only", () => {
    const state = initialState();
    expect(snapshotOf(state, T0).ttfbMs).toBeNull();
    applyReport(state, report(T0, "success", { ttfbMs: 1000 }), T0);
    expect(snapshotOf(state, T0).ttfbMs).toBe(1000);
    applyReport(state, report(T0 + 1, "success", { ttfbMs: 500 }), T0 + 1);
    expect(snapshotOf(state, T0 + 1).ttfbMs).toBe(900);
    applyReport(state, report(T0 + 2, "failure", { ttfbMs: 5 }), T0 + 2);
    applyReport(state, report(T0 + 3, "success", { ttfbMs: null }), T0 + 3);
    expect(snapshotOf(state, T0 + 3).ttfbMs).toBe(900);
  });

  it("halves the weight after a 429 or a 503, and recovers linearly to full over 60 s", () => {
    const state = initialState();
    applyReport(state, report(T0, "rate_limited"), T0);
    expect(snapshotOf(state, T0).weightFactor).toBe(0.5);
    expect(snapshotOf(state, T0 + 30_000).weightFactor).toBeCloseTo(0.75);
    expect(snapshotOf(state, T0 + WEIGHT.recoveryMs).weightFactor).toBe(1);
    applyReport(state, report(T0 + 70_000, "failure", { status: 503 }), T0 + 70_000);
    applyReport(state, report(T0 + 70_000, "failure", { status: 503 }), T0 + 70_000);
    expect(snapshotOf(state, T0 + 70_000).weightFactor).toBe(0.25);
    // A plain 500 is a failure but not "overloaded": no cut.
    applyReport(state, report(T0 + 70_000, "failure", { status: 500 }), T0 + 70_000);
    expect(snapshotOf(state, T0 + 70_000).weightFactor).toBe(0.25);
    for (let i = 0; i < 10; i++) applyReport(state, report(T0 + 70_000, "rate_limited"), T0 + 70_000);
    expect(snapshotOf(state, T0 + 70_000).weightFactor).toBe(WEIGHT.floor);
  });
});

describe("provider rate-limit headers", () => {
  it("reads Go-style durations", () => {
    expect(parseDurationMs("1s")).toBe(1000);
    expect(parseDurationMs("6m0s")).toBe(360_000);
    expect(parseDurationMs("20ms")).toBe(20);
    expect(parseDurationMs("1h2m3.5s")).toBe(3_723_500);
    expect(parseDurationMs("7.66s")).toBe(7660);
    expect(parseDurationMs("soon")).toBeNull();
    expect(parseDurationMs("5x")).toBeNull();
  });

  it("reads OpenAI's x-ratelimit-* headers; the reset is the soonest while nothing is used up", () => {
    const headroom = parseRateLimitHeaders(
      {
        "x-ratelimit-limit-requests": "60",
        "x-ratelimit-remaining-requests": "59",
        "x-ratelimit-reset-requests": "1s",
        "x-ratelimit-limit-tokens": "150000",
        "x-ratelimit-remaining-tokens": "149984",
        "x-ratelimit-reset-tokens": "6m0s",
      },
      T0,
    );
    expect(headroom).toEqual({ remainingRequests: 59, remainingTokens: 149_984, resetAt: T0 + 1000, observedAt: T0 });
  });

  it("reads Anthropic's anthropic-ratelimit-* headers (RFC 3339 resets); a used-up limit sets the reset", () => {
    const headroom = parseRateLimitHeaders(
      {
        "Anthropic-RateLimit-Requests-Remaining": "0",
        "anthropic-ratelimit-requests-reset": "2026-11-20T12:00:40Z",
        "anthropic-ratelimit-tokens-remaining": "38000",
        "anthropic-ratelimit-tokens-reset": "2026-11-20T12:00:05Z",
        "anthropic-ratelimit-input-tokens-remaining": "30000",
      },
      T0,
    );
    expect(headroom).toEqual({ remainingRequests: 0, remainingTokens: 38_000, resetAt: T0 + 40_000, observedAt: T0 });
    expect(parseRateLimitHeaders({ "content-type": "application/json", "x-ratelimit-remaining-requests": "many" }, T0)).toBeNull();
  });

  it("reads a bare-number reset as seconds from now, or as an epoch time in seconds (above 1e9) or milliseconds (above 1e12)", () => {
    const resetOf = (reset: string) => parseRateLimitHeaders({ "x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": reset }, T0)?.resetAt;
    expect(resetOf("20")).toBe(T0 + 20_000);
    expect(resetOf("1.5")).toBe(T0 + 1500);
    expect(resetOf(String(T0 / 1000 + 30))).toBe(T0 + 30_000);
    expect(resetOf(String(T0 + 45_000))).toBe(T0 + 45_000);
  });

  it("shows headroom in the snapshot until it resets, then no longer", () => {
    const state = initialState();
    applyReport(state, report(T0, "rate_limited", { rateLimitHeaders: { "x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "20s" } }), T0);
    expect(snapshotOf(state, T0 + 1000)).toMatchObject({ remainingRequests: 0, remainingTokens: null, resetAt: T0 + 20_000 });
    expect(snapshotOf(state, T0 + 20_000)).toMatchObject({ remainingRequests: null, resetAt: null });
    // An older answer arriving late does not overwrite newer headroom.
    applyReport(state, report(T0 + 5000, "success", { rateLimitHeaders: { "x-ratelimit-remaining-requests": "10" } }), T0 + 5000);
    applyReport(state, report(T0 + 4000, "success", { rateLimitHeaders: { "x-ratelimit-remaining-requests": "12" } }), T0 + 5000);
    expect(snapshotOf(state, T0 + 6000).remainingRequests).toBe(10);
  });
});
