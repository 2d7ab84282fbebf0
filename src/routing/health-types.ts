/**
 * The contract between request handling and shared route health (DESIGN.md
 * "RouteHealth"): isolates plan from a cached view of every target's health and
 * report what their attempts met, both without waiting on a Durable Object.
 */

/** An upstream target: `provider/model`. One RouteHealth Durable Object each. */
export type TargetId = string;

export const targetId = (provider: string, model: string): TargetId => `${provider}/${model}`;

/** What the gateway knows about one target, as of the last snapshot this isolate holds. */
export interface TargetHealth {
  /** closed: in use; open: skipped until `retryAt`; half-open: the cooldown has passed and a probe may go. */
  readonly breaker: "closed" | "open" | "half-open";
  /** When an open breaker lets a probe through (epoch ms), or null. */
  readonly retryAt: number | null;
  /** Exponentially weighted mean time to first byte (ms), or null before any success was measured. */
  readonly ttfbMs: number | null;
  /** 0–1: how much of its configured weight the target gets after recent 429/503s; recovers over time. */
  readonly weightFactor: number;
  /** The provider's own rate-limit headroom, from its response headers, when it sends them. */
  readonly remainingRequests: number | null;
  readonly remainingTokens: number | null;
  /** When that headroom resets (epoch ms), or null. */
  readonly resetAt: number | null;
}

export interface HealthView {
  /** A target's cached health; undefined when nothing is known (treat as healthy). Never waits. */
  get(target: TargetId): TargetHealth | undefined;
}

export type AttemptOutcome = "success" | "failure" | "rate_limited" | "timeout";

/** One upstream attempt, reported to its target's RouteHealth in the background. */
export interface AttemptReport {
  readonly target: TargetId;
  /** When the attempt ended (epoch ms). */
  readonly at: number;
  /** When it started (epoch ms): an attempt begun before a breaker opened is no probe, whenever it ends. */
  readonly startedAt: number;
  readonly outcome: AttemptOutcome;
  /** The upstream's HTTP status, or null (no answer: refused connection, timeout). */
  readonly status: number | null;
  /** Time to first byte (non-streamed: to the response headers; streams: to the first event), or null. */
  readonly ttfbMs: number | null;
  /** The provider's rate-limit headers, as sent (`x-ratelimit-*`, `anthropic-ratelimit-*`). */
  readonly rateLimitHeaders: Readonly<Record<string, string>>;
}
