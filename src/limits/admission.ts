/**
 * The rate-limit half of the admit step (DESIGN.md "admit"): a request counts
 * once against each request rule and with its prompt's token bound against
 * each token rule that applies to it (its key's, its end user's within the
 * key, the requested model's within the key), all in one concurrent round of
 * Redis calls. After the answer each token rule is corrected to the real
 * prompt and completion tokens.
 *
 * The bound achieved for tokens: a request is admitted only if its prompt
 * bound fits in what the window has left (counted: the real tokens of finished
 * requests and the prompt bounds of those in flight), and completions are
 * added as requests finish. So a window's real tokens stay under N plus the
 * completions of the requests that were in flight when it filled. (The prompt
 * bound is the request's UTF-8 size, never below its real prompt: the
 * correction only ever gives tokens back for the prompt.)
 */
import type { BackgroundWork } from "../routing/health.ts";
import type { GatewayKey } from "../auth/gateway-key.ts";
import type { Env } from "../env.ts";
import { GatewayError } from "../http/errors.ts";
import type { Usage } from "../providers/types.ts";
import { normaliseLimits, type LimitRule, type Limits } from "./config.ts";
import { rateLimitHeaders, resetIn, tightest } from "./headers.ts";
import { applyRule, limiterBackend, queueCorrection, type RuleOutcome } from "./limiter.ts";

interface Check {
  readonly rule: LimitRule;
  readonly identifier: string;
  readonly measure: "requests" | "tokens";
  /** What the refusal names: `key 'billing'`, `end user 'alice'`, `model 'gpt-4o'`. */
  readonly subject: string;
}

/** Whether a key's per-model pattern covers a model name (alias, `provider/model`, `provider/*`, `*`). */
const covers = (pattern: string, model: string): boolean =>
  pattern === model || pattern === "*" || (pattern.endsWith("/*") && model.startsWith(pattern.slice(0, -1)));

/**
 * A model's family: its name without a dated snapshot or `-latest` suffix
 * (`gpt-5-2025-08-07` → `gpt-5`, `claude-sonnet-4-5-20250929` → `claude-sonnet-4-5`),
 * so that a rule on the family binds every snapshot of it.
 */
export function modelFamily(model: string): string {
  return model.replace(/-(?:\d{4}-\d{2}-\d{2}|\d{8}|latest)$/, "");
}

/**
 * Every name a per-model rule may be written for that this request answers to:
 * the model as requested (an alias, a bare or dated name) and each target it may
 * be served by, `provider/model`, with their families. A rule on any of them binds
 * it, so neither an alias nor a dated snapshot escapes a rule on the model.
 */
export function ruleNames(requested: string, targets: readonly string[]): string[] {
  const names = new Set<string>();
  for (const name of [requested, ...targets]) {
    names.add(name);
    names.add(modelFamily(name));
  }
  return [...names];
}

function checksFor(key: GatewayKey, user: string | null, models: readonly string[]): Check[] {
  const config = key.limits;
  if (config === undefined) return [];
  const checks: Check[] = [];
  const add = (limits: Limits, identifier: string, subject: string): void => {
    if (limits.requests !== undefined) checks.push({ rule: limits.requests, identifier, measure: "requests", subject });
    if (limits.tokens !== undefined) checks.push({ rule: limits.tokens, identifier, measure: "tokens", subject });
  };
  add(normaliseLimits(config), `key:${key.id}`, `the key '${key.name}'`);
  if (user !== null && config.perUser !== undefined) add(normaliseLimits(config.perUser), `user:${key.id}:${user}`, `the end user '${user}'`);
  // Every rule that covers a name the request may be served under binds it: stopping at the first would let
  // an alias whose targets match a loose rule (`deepseek/*`) escape a strict one on another target.
  for (const [pattern, limits] of Object.entries(config.perModel ?? {})) {
    if (models.some((model) => covers(pattern, model))) add(normaliseLimits(limits), `model:${key.id}:${pattern}`, `the model '${pattern}' on this key`);
  }
  return checks;
}

const WINDOW_WORDS: Record<string, string> = { ms: "millisecond", s: "second", m: "minute", h: "hour", d: "day" };
function perWindow(window: string): string {
  const [, n, unit] = /^(\d+)\s?(ms|s|m|h|d)$/.exec(window) ?? [];
  const word = WINDOW_WORDS[unit ?? ""] ?? window;
  return n === "1" ? `per ${word}` : `per ${n} ${word}s`;
}

/**
 * Whether a refused call was counted all the same, so it must be given back: a
 * fixed window counts every call; a sliding window counts a call that passed
 * its check (the window was below the limit) but overshot it (it then answers
 * a negative remaining below -1; -1 is its "refused before counting").
 */
function countedAnyway(rule: LimitRule, outcome: Extract<RuleOutcome, { kind: "answered" }>): boolean {
  if (rule.algorithm === "fixed-window") return true;
  return rule.algorithm === "sliding-window" && outcome.remaining < -1;
}

export class RequestLimits {
  readonly headers: Record<string, string> = {};
  readonly #env: Env;
  readonly #ctx: BackgroundWork;
  /** Token rules the request was counted against, with the amount counted. */
  readonly #counted: Array<{ check: Check; tokens: number }> = [];
  /** Request rules whose check timed out but that Redis counted when it answered. */
  readonly #lateRequests: Check[] = [];
  /** How the request ended: served (with its usage) or given back (null usage); null while it runs. */
  #end: { used: Usage | null } | null = null;

  private constructor(env: Env, ctx: BackgroundWork) {
    this.#env = env;
    this.#ctx = ctx;
  }

  /**
   * Counts the request against every rule that applies, or throws the 429 (or,
   * with a failed Redis and the closed policy, the 503) that refuses it.
   */
  static async admit(input: {
    env: Env;
    ctx: BackgroundWork;
    key: GatewayKey;
    user: string | null;
    models: readonly string[];
    promptTokens: number;
    /** False for a request that uses no model tokens (count_tokens): only request rules count it. */
    tokens?: boolean;
  }): Promise<RequestLimits> {
    const limits = new RequestLimits(input.env, input.ctx);
    const checks = checksFor(input.key, input.user, input.models).filter((check) => input.tokens !== false || check.measure === "requests");
    const backend = checks.length === 0 ? null : limiterBackend(input.env);
    if (backend === null) return limits;
    const waitUntil = (p: Promise<unknown>): void => input.ctx.waitUntil(p);
    const outcomes = await Promise.all(
      checks.map((check) => {
        const rate = check.measure === "tokens" ? input.promptTokens : 1;
        return applyRule(backend, waitUntil, check.rule, check.identifier, rate, (late) => limits.#late(check, rate, late));
      }),
    );
    const now = Date.now();
    const answered = (measure: Check["measure"]) =>
      outcomes.flatMap((o, i) => (o.kind === "answered" && checks[i]?.measure === measure ? [o] : []));
    rateLimitHeaders("requests", tightest(answered("requests")), now, limits.headers);
    rateLimitHeaders("tokens", tightest(answered("tokens")), now, limits.headers);

    outcomes.forEach((o, i) => {
      const check = checks[i];
      if (check?.measure === "tokens" && o.kind === "answered" && (o.success || countedAnyway(check.rule, o))) limits.#counted.push({ check, tokens: input.promptTokens });
    });
    const unavailable = outcomes.find((o): o is Extract<RuleOutcome, { kind: "unavailable" }> => o.kind === "unavailable");
    if (unavailable !== undefined) {
      const policy = backend.settings.failure;
      console.error(JSON.stringify({ msg: "ratelimit_unavailable", policy, why: unavailable.why }));
      if (policy === "closed") {
        limits.refund();
        throw new GatewayError(503, "Rate limits could not be checked (their store did not answer), and this gateway refuses requests it cannot check. Try again shortly.", {
          code: "rate_limit_unavailable",
          headers: { "x-switchyard-ratelimit": "unavailable; fail-closed", "retry-after": "1" },
        });
      }
      limits.headers["x-switchyard-ratelimit"] = "unavailable; fail-open";
    }
    const refusedAt = outcomes.findIndex((o) => o.kind === "answered" && !o.success);
    if (refusedAt !== -1) {
      limits.refund();
      const refused = outcomes[refusedAt] as Extract<RuleOutcome, { kind: "answered" }>;
      const check = checks[refusedAt] as Check;
      const waitMs = Math.max(0, refused.reset - now);
      throw new GatewayError(
        429,
        `Rate limit reached for ${check.subject} on ${check.measure} ${perWindow(check.rule.window)}: limit ${refused.limit}. Try again in ${resetIn(waitMs)}.`,
        { code: "rate_limit_exceeded", type: check.measure, headers: { ...limits.headers, "retry-after": String(Math.max(1, Math.ceil(waitMs / 1000))) } },
      );
    }
    return limits;
  }

  /** Corrects each token rule from the prompt bound counted to the tokens really used, in the background. */
  settle(used: Usage): void {
    if (this.#end !== null) return;
    this.#end = { used };
    for (const { check, tokens } of this.#counted) this.#apply(check, used.prompt_tokens + used.completion_tokens - tokens);
  }

  /** The request was refused after it was counted (a budget, another rule, a Redis under the closed policy): what it counted is given back. */
  refund(): void {
    if (this.#end !== null) return;
    this.#end = { used: null };
    for (const { check, tokens } of this.#counted) this.#apply(check, -tokens);
    for (const check of this.#lateRequests) this.#apply(check, -1);
  }

  /**
   * A check that timed out has been answered after all: Redis counted it (or
   * not). A served request keeps its request counts and has its tokens
   * corrected like the others; a refused one gives everything back.
   */
  #late(check: Check, rate: number, outcome: Extract<RuleOutcome, { kind: "answered" }>): void {
    if (!outcome.success && !countedAnyway(check.rule, outcome)) return;
    const end = this.#end;
    if (check.measure === "tokens") {
      if (end === null) this.#counted.push({ check, tokens: rate });
      else this.#apply(check, end.used === null ? -rate : end.used.prompt_tokens + end.used.completion_tokens - rate);
    } else if (end === null) this.#lateRequests.push(check);
    else if (end.used === null) this.#apply(check, -1);
  }

  #apply(check: Check, delta: number): void {
    const rate = Math.round(delta);
    const backend = limiterBackend(this.#env);
    if (rate === 0 || backend === null) return;
    queueCorrection(backend, (p) => this.#ctx.waitUntil(p), check.rule, check.identifier, rate);
  }
}
