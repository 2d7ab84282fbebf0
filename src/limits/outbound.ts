/**
 * Outbound limits (issue 6): a route target may carry its provider's published
 * RPM/TPM (`limits` on the target). Before each call the target's request and
 * token windows are counted; a target without headroom is refused before any
 * upstream call, which the executor treats as "skip to the next target" (and,
 * when every target is out, answers with the first refusal: a 429). A target
 * the ephemeral cache already knows is blocked costs no Redis call. The
 * answering target's token window is corrected to the real usage afterwards.
 */
import type { BackgroundWork } from "../routing/health.ts";
import type { Env } from "../env.ts";
import { GatewayError } from "../http/errors.ts";
import type { Usage } from "../providers/types.ts";
import type { Attempt } from "../routing/plan.ts";
import type { LimitRule } from "./config.ts";
import { resetIn } from "./headers.ts";
import { applyRule, limiterBackend } from "./limiter.ts";

const identifierOf = (attempt: Attempt): string => `target:${attempt.provider.name}/${attempt.model}`;

/** One request's outbound counting: which targets were counted how many prompt tokens. */
export class OutboundLimits {
  readonly headers: Record<string, string> = {};
  readonly #env: Env;
  readonly #ctx: BackgroundWork;
  readonly #promptTokens: number;
  readonly #counted = new Map<Attempt, number>();
  #done = false;

  constructor(env: Env, ctx: BackgroundWork, promptTokens: number) {
    this.#env = env;
    this.#ctx = ctx;
    this.#promptTokens = promptTokens;
  }

  /** Throws a 429 GatewayError (the executor's "refused: try the next target") when `attempt` has no headroom. */
  async beforeCall(attempt: Attempt): Promise<void> {
    const limits = attempt.limits;
    if (limits === undefined) return;
    const backend = limiterBackend(this.#env);
    if (backend === null) return;
    const waitUntil = (p: Promise<unknown>): void => this.#ctx.waitUntil(p);
    const rules: Array<[LimitRule, number]> = [];
    if (limits.requests !== undefined) rules.push([limits.requests, 1]);
    if (limits.tokens !== undefined) rules.push([limits.tokens, this.#promptTokens]);
    const outcomes = await Promise.all(rules.map(([rule, rate]) => applyRule(backend, waitUntil, rule, identifierOf(attempt), rate)));
    const tokens = limits.tokens === undefined ? undefined : outcomes.at(-1);
    const tokensCounted = tokens?.kind === "answered" && tokens.success;
    if (limits.tokens !== undefined && outcomes.some((o) => o.kind === "answered" && !o.success)) {
      // Not called after all: the prompt counted against its token window goes back.
      if (tokensCounted) waitUntil(applyRule(backend, waitUntil, limits.tokens, identifierOf(attempt), -this.#promptTokens));
    } else if (tokensCounted) this.#counted.set(attempt, this.#promptTokens);
    for (const outcome of outcomes) {
      // A target's own limits protect the provider: a store that cannot be asked does not stop traffic.
      if (outcome.kind === "unavailable") console.error(JSON.stringify({ msg: "ratelimit_unavailable", target: identifierOf(attempt), why: outcome.why }));
      else if (!outcome.success) {
        const waitMs = Math.max(0, outcome.reset - Date.now());
        throw new GatewayError(429, `The target '${attempt.provider.name}/${attempt.model}' is at its configured limit (${outcome.limit} per window); try again in ${resetIn(waitMs)}.`, {
          code: "target_rate_limited",
          headers: { "retry-after": String(Math.max(1, Math.ceil(waitMs / 1000))) },
        });
      }
    }
  }

  /** Corrects the answering target's token window to the real usage. */
  settle(used: Usage, attempt: Attempt): void {
    if (this.#done) return;
    this.#done = true;
    const counted = this.#counted.get(attempt);
    const rule = attempt.limits?.tokens;
    const backend = limiterBackend(this.#env);
    if (counted === undefined || rule === undefined || backend === null) return;
    const rate = used.prompt_tokens + used.completion_tokens - counted;
    if (rate !== 0) this.#ctx.waitUntil(applyRule(backend, (p) => this.#ctx.waitUntil(p), rule, identifierOf(attempt), rate));
  }

  /** Nothing answered: the counted calls did reach (or were refused by) the providers, so they stay counted. */
  refund(): void {
    this.#done = true;
  }
}
