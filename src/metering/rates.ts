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

type OptionalRate = "cachedInput" | "cacheWrite" | "cacheWrite1h" | "reasoning";

/**
 * A rate the tier leaves out, from within the tier: the tier's own `anchor`
 * (input, or output for reasoning) scaled by the base tier's ratio for that
 * rate. Providers price a long-context tier's cache and reasoning rates as the
 * same multiples of its input and output as the base tier's (Claude above
 * 200k: input $6, 1-hour write $12, both 2× the base's), so the base tier's
 * rate itself would bill a long request's 1-hour writes below its 5-minute
 * ones. Undefined when the base tier has no such rate either; the base rate
 * as is when its anchor is 0 (no ratio to take).
 */
function fromTier(price: ModelPrice, tier: TierRates, name: OptionalRate, anchor: "input" | "output"): number | undefined {
  const own = tier[name];
  if (own !== undefined) return own;
  const base = price[name];
  if (base === undefined) return undefined;
  return price[anchor] > 0 ? (tier[anchor] * base) / price[anchor] : base;
}

/**
 * The rates a request is billed at: the base tier, or (`long`) the long-context
 * tier. A rate a tier leaves out is taken within the tier (see fromTier), then,
 * when no tier prices it, from the tier's own input (input-side rates) or
 * output (reasoning): an omitted rate means "the provider does not price it
 * apart". A 1-hour cache write without its own rate is billed as a write (its
 * nearest kind), not as input.
 */
export function effectiveRates(price: ModelPrice, long: boolean): EffectiveRates {
  const tier: TierRates = long && price.longContext !== undefined ? price.longContext : price;
  const cacheWrite = fromTier(price, tier, "cacheWrite", "input") ?? tier.input;
  return {
    input: tier.input,
    output: tier.output,
    cachedInput: fromTier(price, tier, "cachedInput", "input") ?? tier.input,
    cacheWrite,
    cacheWrite1h: fromTier(price, tier, "cacheWrite1h", "input") ?? cacheWrite,
    reasoning: fromTier(price, tier, "reasoning", "output") ?? tier.output,
  };
}

/** Whether `promptTokens` puts a request in the model's long-context tier (billed whole at the tier's rates). */
export const inLongContext = (price: ModelPrice, promptTokens: number): boolean =>
  price.longContext !== undefined && promptTokens > price.longContext.threshold;
