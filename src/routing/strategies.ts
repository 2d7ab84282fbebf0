import type { RouteStrategy, RouteTarget } from "../config/schemas.ts";
import type { TargetHealth } from "./health-types.ts";
import type { Purpose } from "./plan.ts";
import { blendedPrice, type PriceLookup } from "./prices.ts";

/** A route target with what this isolate knows of its health (undefined: nothing, so healthy). */
export interface Candidate {
  readonly target: RouteTarget;
  readonly health: TargetHealth | undefined;
}

export interface StrategyInputs {
  readonly purpose: Purpose;
  /** [0, 1), like Math.random; injectable so tests can draw deterministically. */
  readonly random: () => number;
  readonly priceOf: PriceLookup;
}

/** Sorts by `key` ascending; equal keys keep their configured order (Array.prototype.sort is stable). */
export function byKey(candidates: readonly Candidate[], key: (c: Candidate) => number): Candidate[] {
  return candidates
    .map((c) => ({ c, k: key(c) }))
    .sort((a, b) => (a.k < b.k ? -1 : a.k > b.k ? 1 : 0))
    .map(({ c }) => c);
}

/** Configured weight (default 1) scaled by the health's weightFactor, which 429s/503s lower for a while. */
function effectiveWeight(c: Candidate): number {
  const factor = Math.min(1, Math.max(0, c.health?.weightFactor ?? 1));
  return (c.target.weight ?? 1) * factor;
}

/**
 * One target drawn with probability proportional to its effective weight leads;
 * the rest follow by effective weight, heaviest first. If every effective weight
 * is 0 (all throttled to nothing) there is nothing to draw by: weight order only.
 */
function weighted(candidates: readonly Candidate[], random: () => number): Candidate[] {
  const ordered = byKey(candidates, (c) => -effectiveWeight(c));
  const total = ordered.reduce((sum, c) => sum + effectiveWeight(c), 0);
  if (total <= 0) return byKey(candidates, (c) => -(c.target.weight ?? 1));
  let point = random() * total;
  let pick = 0;
  for (let i = 0; i < ordered.length; i++) {
    const w = effectiveWeight(ordered[i] as Candidate);
    if (w <= 0) break;
    pick = i;
    if (point < w) break;
    point -= w;
  }
  const first = ordered[pick] as Candidate;
  return [first, ...ordered.filter((_, i) => i !== pick)];
}

/** Priced targets by blended price, cheapest first; unpriced ones after, in configured order. */
function cheapest(candidates: readonly Candidate[], inputs: StrategyInputs): Candidate[] {
  return byKey(candidates, (c) => {
    const price = inputs.priceOf(c.target);
    return price === undefined ? Infinity : blendedPrice(price, inputs.purpose);
  });
}

/**
 * Measured targets by time to first byte, fastest first — after the unmeasured
 * ones: traffic is the only way a target gets measured, so a new (or reset)
 * target goes first until its first success puts a number on it. Putting it
 * last would starve it: it would be measured only when every faster target failed.
 */
function fastest(candidates: readonly Candidate[]): Candidate[] {
  // Never seen: first, so it gets measured. Seen but never answered: last.
  return byKey(candidates, (c) => (c.health === undefined ? -Infinity : (c.health.ttfbMs ?? Infinity)));
}

/** Orders candidates (already filtered for availability) by the route's strategy. */
export function orderByStrategy(strategy: RouteStrategy, candidates: readonly Candidate[], inputs: StrategyInputs): Candidate[] {
  switch (strategy) {
    case "fallback":
      return [...candidates];
    case "weighted":
      return weighted(candidates, inputs.random);
    case "cheapest":
      return cheapest(candidates, inputs);
    case "fastest":
      return fastest(candidates);
  }
}
