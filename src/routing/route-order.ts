import type { RouteStrategy, RouteTarget } from "../config/schemas.ts";
import { targetId, type HealthView, type TargetHealth } from "./health-types.ts";
import { byKey, orderByStrategy, type Candidate, type StrategyInputs } from "./strategies.ts";

export interface OrderInputs extends StrategyInputs {
  /** The isolate's cached route health; without it every target counts as healthy. */
  readonly health: HealthView | undefined;
  /** Epoch ms, to tell whether a breaker's cooldown or a rate-limit window is over. */
  readonly now: number;
}

/**
 * Open and still cooling down. An open breaker whose `retryAt` has passed counts
 * as half-open: the snapshot may be older than the cooldown, and the target's
 * RouteHealth decides what the probe's outcome means.
 */
function isOpen(health: TargetHealth | undefined, now: number): boolean {
  return health?.breaker === "open" && (health.retryAt === null || health.retryAt > now);
}

/**
 * The provider said there is no headroom left until a reset that has not come
 * yet: the call would most likely be refused with a 429. Without a reset time the
 * headroom figure cannot be dated, so it is not held against the target.
 */
function isOutOfHeadroom(health: TargetHealth | undefined, now: number): boolean {
  if (health === undefined || health.resetAt === null || health.resetAt <= now) return false;
  return health.remainingRequests === 0 || health.remainingTokens === 0;
}

/**
 * The order in which a route's targets are tried:
 * - a target whose breaker is open is skipped; half-open ones stay, as probes;
 * - if every target is open, all are tried anyway, soonest `retryAt` first
 *   (unknown last): the request would otherwise fail without a single try,
 *   and the first to end its cooldown is the likeliest to have recovered;
 * - targets out of rate-limit headroom (and, outside `weighted`, targets whose
 *   weight recent 429/503s have cut below half) go after the others. Each group
 *   is ordered on its own, so a throttled target never wins the weighted draw.
 */
export function orderTargets(strategy: RouteStrategy, targets: readonly RouteTarget[], inputs: OrderInputs): RouteTarget[] {
  const candidates: Candidate[] = targets.map((target) => ({ target, health: inputs.health?.get(targetId(target.provider, target.model)) }));
  const usable = candidates.filter((c) => !isOpen(c.health, inputs.now));
  const allOpen = usable.length === 0;
  const pool = allOpen ? candidates : usable;
  const order = (group: Candidate[]): Candidate[] =>
    allOpen ? byKey(group, (c) => c.health?.retryAt ?? Infinity) : orderByStrategy(strategy, group, inputs);
  // Recent 429/503s cut a target's weight; the weighted draw uses that, the other strategies put it last.
  const throttled = (c: Candidate): boolean => isOutOfHeadroom(c.health, inputs.now) || (strategy !== "weighted" && (c.health?.weightFactor ?? 1) < 0.5);
  const ready = pool.filter((c) => !throttled(c));
  const limited = pool.filter(throttled);
  return [...order(ready), ...order(limited)].map((c) => c.target);
}
