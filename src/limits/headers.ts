import type { RuleOutcome } from "./limiter.ts";

type Answered = Extract<RuleOutcome, { kind: "answered" }>;

/** OpenAI's spelling of a time until reset: `1s`, `6m0s`, `250ms`. */
export function resetIn(ms: number): string {
  const total = Math.max(0, Math.ceil(ms));
  if (total < 1000) return `${total}ms`;
  const seconds = Math.ceil(total / 1000);
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  if (h > 0) return `${h}h${m}m${s}s`;
  return m > 0 ? `${m}m${s}s` : `${s}s`;
}

/** The tightest of several answers for one measure: the least remaining, relative to its limit. */
export function tightest(outcomes: readonly Answered[]): Answered | undefined {
  let best: Answered | undefined;
  for (const o of outcomes) if (best === undefined || Math.max(0, o.remaining) / o.limit < Math.max(0, best.remaining) / best.limit) best = o;
  return best;
}

/** `x-ratelimit-limit-<measure>`, `-remaining-`, `-reset-`, as OpenAI sends them. */
export function rateLimitHeaders(measure: "requests" | "tokens", outcome: Answered | undefined, now: number, into: Record<string, string>): void {
  if (outcome === undefined) return;
  into[`x-ratelimit-limit-${measure}`] = String(outcome.limit);
  into[`x-ratelimit-remaining-${measure}`] = String(Math.max(0, outcome.remaining));
  into[`x-ratelimit-reset-${measure}`] = resetIn(outcome.reset - now);
}
