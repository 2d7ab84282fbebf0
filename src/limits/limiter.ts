/**
 * The Upstash side of rate limits: one Redis client and one `Ratelimit` per
 * distinct rule, created once per isolate with their ephemeral caches (an
 * identifier the cache knows is blocked is refused without a Redis call until
 * its window resets), and the policy for a Redis that fails or is slow.
 */
import { Ratelimit } from "@upstash/ratelimit";
import { Redis } from "@upstash/redis/cloudflare";
import { BoundedMap } from "../config/isolate-cache.ts";
import type { Env } from "../env.ts";
import type { LimitRule } from "./config.ts";

type Duration = Parameters<typeof Ratelimit.slidingWindow>[1];

/** What Redis answered for one rule and identifier. */
export interface Answered {
  readonly kind: "answered";
  readonly success: boolean;
  readonly limit: number;
  readonly remaining: number;
  readonly reset: number;
}

/** What Redis answered, or that it could not be asked in time. */
export type RuleOutcome = Answered | { readonly kind: "unavailable"; readonly why: string };

export interface LimiterSettings {
  /** Longest wait for Redis before the failure policy applies. */
  readonly timeoutMs: number;
  /** A Redis that fails or is slow lets requests through (open) or refuses them (closed). */
  readonly failure: "open" | "closed";
}

const DEFAULT_TIMEOUT_MS = 1_000;
/** Blocked identifiers each limiter remembers in the isolate (a forgotten one costs a Redis call, nothing else). */
export const EPHEMERAL_CACHE_ENTRIES = 10_000;

interface Backend {
  readonly redis: Redis;
  readonly settings: LimiterSettings;
  readonly limiters: Map<string, Ratelimit>;
}

/** The isolate's backend, and the settings it was made for (a change of any makes a new one). */
let backend: { made: string; value: Backend } | null = null;
let announced = false;

/** Says once per isolate (a Worker has no startup of its own: its first request) whether rate limits are on. */
export function announceLimits(env: Env): void {
  if (announced) return;
  announced = true;
  const on = limitsEnabled(env);
  console.log(
    JSON.stringify(
      on
        ? { msg: "rate_limits", status: "enabled", onRedisFailure: env.RATE_LIMIT_ON_REDIS_FAILURE === "closed" ? "closed" : "open" }
        : { msg: "rate_limits", status: "disabled", why: "UPSTASH_REDIS_REST_URL / UPSTASH_REDIS_REST_TOKEN are not set" },
    ),
  );
}

/** The isolate's Redis client and limiters, or null when the Upstash secrets are not set (limits off). */
export function limiterBackend(env: Env): Backend | null {
  const url = env.UPSTASH_REDIS_REST_URL;
  const token = env.UPSTASH_REDIS_REST_TOKEN;
  if (url === undefined || url === "" || token === undefined || token === "") return null;
  const made = `${url}\n${token}\n${env.RATE_LIMIT_TIMEOUT_MS ?? ""}\n${env.RATE_LIMIT_ON_REDIS_FAILURE ?? ""}`;
  if (backend !== null && backend.made === made) return backend.value;
  const timeoutMs = Number(env.RATE_LIMIT_TIMEOUT_MS);
  const settings: LimiterSettings = {
    timeoutMs: Number.isFinite(timeoutMs) && timeoutMs > 0 ? timeoutMs : DEFAULT_TIMEOUT_MS,
    failure: env.RATE_LIMIT_ON_REDIS_FAILURE === "closed" ? "closed" : "open",
  };
  // No retries: a request waits on this call, and the failure policy answers a Redis that is down.
  // Auto-pipelining sends the commands issued in one turn of the event loop as one HTTP call (issue 16):
  // a request's rules are checked together in one round trip, and the corrections of every request that
  // finished in a batch window go in one call. Checks of concurrent requests are not merged: a merged
  // call is a subrequest of the request that sends it, cancelled when that request ends, and the checks
  // of the others riding on it then wait for their timeout (tried in issue 16: under load every check
  // waited its 1 s; keeping the sender alive with its waitUntil was not tried).
  const redis = new Redis({ url, token, retry: false, enableTelemetry: false, enableAutoPipelining: true });
  backend = { made, value: { redis, settings, limiters: new Map() } };
  return backend.value;
}

/** Whether rate limits are on for this deployment (for GET /health). */
export function limitsEnabled(env: Env): boolean {
  return env.UPSTASH_REDIS_REST_URL !== undefined && env.UPSTASH_REDIS_REST_URL !== "" && env.UPSTASH_REDIS_REST_TOKEN !== undefined && env.UPSTASH_REDIS_REST_TOKEN !== "";
}

const ruleKey = (rule: LimitRule): string => `${rule.algorithm}:${rule.limit}:${rule.window}:${rule.refillRate ?? ""}`;

function limiterFor(b: Backend, rule: LimitRule): Ratelimit {
  const key = ruleKey(rule);
  let limiter = b.limiters.get(key);
  if (limiter === undefined) {
    const window = rule.window as Duration;
    const algorithm =
      rule.algorithm === "fixed-window"
        ? Ratelimit.fixedWindow(rule.limit, window)
        : rule.algorithm === "token-bucket"
          ? Ratelimit.tokenBucket(rule.refillRate ?? rule.limit, window, rule.limit)
          : Ratelimit.slidingWindow(rule.limit, window);
    limiter = new Ratelimit({
      redis: b.redis,
      limiter: algorithm,
      // The rule is in the prefix: changing a key's limit starts fresh counters instead of reading old ones with new meaning.
      prefix: `switchyard:rl:${key}`,
      // Bounded: it gains an entry per blocked identifier (end users are a client's choice) and never prunes.
      ephemeralCache: new BoundedMap<string, number>(EPHEMERAL_CACHE_ENTRIES),
      // The gateway times calls itself (applyRule): the library's timeout would drop a late answer whose count must be given back.
      timeout: 0,
      analytics: false,
      enableProtection: false,
    });
    b.limiters.set(key, limiter);
  }
  return limiter;
}

/** Corrections wait this long for others: the isolate's finished requests then cost one Redis call per window. */
export const CORRECTION_BATCH_MS = 50;
/** Corrections waiting for the next batch, summed per rule and identifier (their counts add up). */
const corrections = new Map<string, { rule: LimitRule; identifier: string; rate: number }>();
let correctionsDue: Promise<void> | null = null;

/**
 * Counts `rate` against `rule` for `identifier` in the isolate's next correction batch: the tokens a
 * finished request really used, or what a refused one gives back. One call for the whole batch.
 */
export function queueCorrection(b: Backend, waitUntil: (promise: Promise<unknown>) => void, rule: LimitRule, identifier: string, rate: number): void {
  const key = `${ruleKey(rule)}\n${identifier}`;
  const queued = corrections.get(key);
  if (queued === undefined) corrections.set(key, { rule, identifier, rate });
  else queued.rate += rate;
  if (correctionsDue !== null) return;
  correctionsDue = new Promise<void>((resolve) => setTimeout(resolve, CORRECTION_BATCH_MS)).then(async () => {
    correctionsDue = null;
    const batch = [...corrections.values()].filter((c) => Math.round(c.rate) !== 0);
    corrections.clear();
    // Issued in one turn: auto-pipelining makes them one HTTP call.
    await Promise.all(batch.map((c) => applyRule(b, waitUntil, c.rule, c.identifier, Math.round(c.rate))));
  });
  waitUntil(correctionsDue);
}

/**
 * Counts `rate` (1 for a request, tokens for a token rule; negative gives
 * back) against `rule` for `identifier`. Its `pending` work goes to `waitUntil`.
 */
export async function applyRule(
  b: Backend,
  waitUntil: (promise: Promise<unknown>) => void,
  rule: LimitRule,
  identifier: string,
  rate: number,
  late?: (outcome: Answered) => void,
): Promise<RuleOutcome> {
  const call: Promise<RuleOutcome> = limiterFor(b, rule)
    .limit(identifier, { rate })
    .then(
      (result): RuleOutcome => {
        waitUntil(result.pending.catch(() => {})); // background sync of a call already answered: nothing to tell anyone
        return { kind: "answered", success: result.success, limit: result.limit, remaining: result.remaining, reset: result.reset };
      },
      (err: unknown): RuleOutcome => ({ kind: "unavailable", why: err instanceof Error ? err.message : String(err) }),
    );
  let timer = 0;
  const timedOut = new Promise<"timeout">((resolve) => (timer = setTimeout(() => resolve("timeout"), b.settings.timeoutMs)));
  const first = await Promise.race([call, timedOut]);
  clearTimeout(timer);
  if (first !== "timeout") return first;
  // The call has reached Redis (or will): when it answers, whoever counted on it learns what it counted.
  waitUntil(call.then((outcome) => (outcome.kind === "answered" ? late?.(outcome) : undefined)));
  return { kind: "unavailable", why: `Redis did not answer within ${b.settings.timeoutMs} ms` };
}
