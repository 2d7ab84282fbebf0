import type { RouteTarget, TargetPrice } from "../config/schemas.ts";
import { bundledPrice } from "../metering/price-table.ts";
import type { Purpose } from "./plan.ts";

/** Where the `cheapest` strategy gets a target's price (USD per million tokens). */
export type PriceLookup = (target: RouteTarget) => TargetPrice | undefined;

/**
 * The price the route gives a target, else the bundled price table's. (Admin
 * overrides are not consulted here: planning stays synchronous and free of KV
 * reads; the overrides still decide what a request is charged.)
 */
export const configuredPrice: PriceLookup = (target) => {
  if (target.price !== undefined) return target.price;
  const table = bundledPrice(target.provider, target.model);
  return table === undefined ? undefined : { input: table.input, output: table.output };
};

/**
 * One number to compare targets by. Chat blends input and output 3:1, the ratio
 * of a typical chat request (history and system prompt outweigh the answer) and
 * the convention price comparisons use; the request's real token counts are not
 * known when planning. Embeddings produce no output tokens, so only input counts.
 */
export function blendedPrice(price: TargetPrice, purpose: Purpose): number {
  return purpose === "embeddings" ? price.input : (3 * price.input + price.output) / 4;
}
