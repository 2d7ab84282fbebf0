import type { Attempt } from "./plan.ts";
import type { AttemptFailure } from "./upstream-errors.ts";

/** Backoff with full jitter: a random wait up to BASE × 2^(n−1), capped. */
const BACKOFF_BASE_MS = 100;
const BACKOFF_CAP_MS = 2_000;

/**
 * How many calls a target gets for a failure like this one. A route sets
 * `maxAttempts` per target; without it a target gets one call, except that a
 * 500 (often a one-off inside the provider) gets a second. Credentials and
 * balance refusals (401/402/403) would only repeat: never retried in place.
 */
export function triesFor(attempt: Attempt, failure: AttemptFailure): number {
  if (failure.kind === "cancelled") return 1;
  if (failure.kind === "status" && (failure.status === 401 || failure.status === 402 || failure.status === 403)) return 1;
  if (attempt.maxAttempts !== undefined) return attempt.maxAttempts;
  return failure.kind === "status" && failure.status === 500 ? 2 : 1;
}

/** The wait before retry number `n` (1-based) on the same target: the provider's own `retry-after` when it gave one, else full jitter. */
export function retryDelayMs(failure: AttemptFailure, n: number, random: () => number = Math.random): number {
  if (failure.kind === "status" && failure.retryAfterMs != null) return failure.retryAfterMs;
  return Math.floor(random() * Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** (n - 1)));
}

/** A short label of why an attempt failed, for the `x-switchyard-fallbacks` trail. */
export function failureLabel(failure: AttemptFailure): string {
  switch (failure.kind) {
    case "status":
      return String(failure.status);
    case "stream_error":
      return "stream-error";
    case "body":
      return "bad-answer";
    default:
      return failure.kind;
  }
}
