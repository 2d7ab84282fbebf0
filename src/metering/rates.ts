import type { ModelPrice, ServiceTier, TierRates, TieredRates } from "./types.ts";

/** Every rate of one tier, fallbacks applied: what cost and worst-case multiply tokens by (USD per million). */
export interface EffectiveRates {
  readonly input: number;
  readonly output: number;
  readonly cachedInput: number;
  readonly cacheWrite: number;
  readonly cacheWrite1h: number;
  readonly reasoning: number;
  readonly audioInput: number;
  readonly audioOutput: number;
}

type OptionalRate = "cachedInput" | "cacheWrite" | "cacheWrite1h" | "reasoning" | "audioInput" | "audioOutput";
const INPUT_SIDE: readonly OptionalRate[] = ["cachedInput", "cacheWrite", "cacheWrite1h", "audioInput"];
const OUTPUT_SIDE: readonly OptionalRate[] = ["reasoning", "audioOutput"];

/** What a rate is scaled by when a tier leaves it out: input-side rates follow input, output-side ones output. */
const anchorOf = (name: OptionalRate): "input" | "output" => (OUTPUT_SIDE.includes(name) ? "output" : "input");

/**
 * A rate the tier leaves out, from within the tier: the tier's own `anchor`
 * (input, or output for reasoning and audio output) scaled by the base tier's
 * ratio for that rate. Providers price a long-context tier's cache and
 * reasoning rates as the same multiples of its input and output as the base
 * tier's (Claude above 200k: input $6, 1-hour write $12, both 2× the base's),
 * so the base tier's rate itself would bill a long request's 1-hour writes
 * below its 5-minute ones. Undefined when the base tier has no such rate
 * either; the base rate as is when its anchor is 0 (no ratio to take).
 */
function fromTier(base: TierRates, tier: TierRates, name: OptionalRate): number | undefined {
  const own = tier[name];
  if (own !== undefined) return own;
  const rate = base[name];
  if (rate === undefined) return undefined;
  const anchor = anchorOf(name);
  return base[anchor] > 0 ? (tier[anchor] * rate) / base[anchor] : rate;
}

/** `tier` with every optional rate it leaves out taken from `base` by fromTier: a whole tier. */
function completed(base: TierRates, tier: TierRates): TierRates {
  const out: Record<string, number | undefined> = { input: tier.input, output: tier.output };
  for (const name of [...INPUT_SIDE, ...OUTPUT_SIDE]) out[name] = fromTier(base, tier, name);
  return out as unknown as TierRates;
}

/**
 * Every rate of `rates` at the multiples `to` is of `from`: input-side rates by
 * the input multiple, output-side ones by the output multiple (a service or
 * long-context tier bills every rate at one multiple of the standard one).
 */
export function scaledLike(rates: TierRates, from: TierRates, to: TierRates): TierRates {
  const inRatio = from.input > 0 ? to.input / from.input : 1;
  const outRatio = from.output > 0 ? to.output / from.output : 1;
  const out: Record<string, number | undefined> = { input: rates.input * inRatio, output: rates.output * outRatio };
  for (const name of INPUT_SIDE) out[name] = rates[name] === undefined ? undefined : (rates[name] as number) * inRatio;
  for (const name of OUTPUT_SIDE) out[name] = rates[name] === undefined ? undefined : (rates[name] as number) * outRatio;
  return out as unknown as TierRates;
}

/**
 * The rates a request is billed at for a service tier (null: the standard
 * one). A tier's own rates win; one it leaves out is the standard rate scaled
 * by the tier's input or output multiple (priority bills every rate at the same
 * multiple), and its long-context tier is the standard one's, scaled the same
 * way, unless it has its own. Undefined when the model has no rates for that
 * tier: the caller decides what an unpriced tier means.
 */
export function ratesAtTier(price: ModelPrice, tier: ServiceTier | null): TieredRates | undefined {
  if (tier === null) return price;
  const own = price.serviceTiers?.[tier];
  if (own === undefined) return undefined;
  const base = completed(price, own);
  const standardLong = price.longContext;
  if (own.longContext !== undefined) return { ...base, longContext: { ...completed(base, own.longContext), threshold: own.longContext.threshold } };
  if (standardLong === undefined) return base;
  return { ...base, longContext: { ...scaledLike(completed(price, standardLong), price, own), threshold: standardLong.threshold } };
}

/**
 * The rates a request is billed at: the base tier, or (`long`) the long-context
 * tier. A rate a tier leaves out is taken within the tier (see fromTier), then,
 * when no tier prices it, from the tier's own input (input-side rates) or
 * output (reasoning, audio output): an omitted rate means "the provider does
 * not price it apart". A 1-hour cache write without its own rate is billed as a
 * write (its nearest kind), not as input.
 */
export function effectiveRates(price: TieredRates, long: boolean): EffectiveRates {
  const tier: TierRates = long && price.longContext !== undefined ? price.longContext : price;
  const cacheWrite = fromTier(price, tier, "cacheWrite") ?? tier.input;
  return {
    input: tier.input,
    output: tier.output,
    cachedInput: fromTier(price, tier, "cachedInput") ?? tier.input,
    cacheWrite,
    cacheWrite1h: fromTier(price, tier, "cacheWrite1h") ?? cacheWrite,
    reasoning: fromTier(price, tier, "reasoning") ?? tier.output,
    audioInput: fromTier(price, tier, "audioInput") ?? tier.input,
    audioOutput: fromTier(price, tier, "audioOutput") ?? tier.output,
  };
}

/** Whether `promptTokens` puts a request in the model's long-context tier (billed whole at the tier's rates). */
export const inLongContext = (price: TieredRates, promptTokens: number): boolean =>
  price.longContext !== undefined && promptTokens > price.longContext.threshold;
