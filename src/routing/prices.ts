import type { RouteTarget, TargetPrice } from "../config/schemas.ts";
import type { Purpose } from "./plan.ts";

/**
 * Where the `cheapest` strategy gets a target's price (USD per million tokens).
 * The seam for the metering price table: it will pass a lookup that consults the
 * table; until then planning uses the price configured on the route.
 */
export type PriceLookup = (target: RouteTarget) => TargetPrice | undefined;

export const configuredPrice: PriceLookup = (target) => target.price;

/**
 * One number to compare targets by. Chat blends input and output 3:1, the ratio
 * of a typical chat request (history and system prompt outweigh the answer) and
 * the convention price comparisons use; the request's real token counts are not
 * known when planning. Embeddings produce no output tokens, so only input counts.
 */
export function blendedPrice(price: TargetPrice, purpose: Purpose): number {
  return purpose === "embeddings" ? price.input : (3 * price.input + price.output) / 4;
}
