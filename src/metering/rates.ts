import type { ModelPrice, TierRates } from "./types.ts";

/** Tokens × USD per million tokens → nano-dollars: ×10⁻⁶ (per million) ×10⁹ (nanos). */
export const NANOS_PER_TOKEN_AT_ONE_USD_PER_MTOK = 1_000;

/** Every rate of one tier, fallbacks applied: what cost and worst-case multiply tokens by (USD per million). */
export interface EffectiveRates {
  readonly input: number;
  readonly output: number;
  readonly cachedInput: number;
  readonly cacheWrite: number;
  readonly cacheWrite1h: number;
  readonly reasoning: number;
}

/**
 * The rates a request is billed at: the base tier, or (`long`) the long-context
 * tier. A rate a tier leaves out falls back to the base tier's same rate, then
 * to the tier's own input (input-side rates) or output (reasoning): an omitted
 * rate means "the provider does not price it apart". A 1-hour cache write
 * without its own rate is billed as a write (its nearest kind), not as input.
 */
export function effectiveRates(price: ModelPrice, long: boolean): EffectiveRates {
  const tier: TierRates = long && price.longContext !== undefined ? price.longContext : price;
  const cacheWrite = tier.cacheWrite ?? price.cacheWrite ?? tier.input;
  return {
    input: tier.input,
    output: tier.output,
    cachedInput: tier.cachedInput ?? price.cachedInput ?? tier.input,
    cacheWrite,
    cacheWrite1h: tier.cacheWrite1h ?? price.cacheWrite1h ?? cacheWrite,
    reasoning: tier.reasoning ?? price.reasoning ?? tier.output,
  };
}

/** Whether `promptTokens` puts a request in the model's long-context tier (billed whole at the tier's rates). */
export const inLongContext = (price: ModelPrice, promptTokens: number): boolean =>
  price.longContext !== undefined && promptTokens > price.longContext.threshold;
