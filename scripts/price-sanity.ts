/**
 * The price map's entries made consistent for `npm run prices` (scripts/prices.ts): a source
 * entry that contradicts itself is repaired so that it is never cheaper than the truth, or left
 * out (unpriced: counted, never free) when no repair is sure. Each change is noted for the run's log.
 */
import type { ModelPrice, ServiceTier, TierRates, TieredRates } from "../src/metering/types.ts";

type Entry = Record<string, unknown>;

/** A rate repaired, for the run's log. */
type Note = (what: string) => void;
/** A tier's rates, to repair in place (the copy keeps the tier's other fields). */
type WritableRates = { -readonly [K in keyof TierRates]?: number | undefined };

/**
 * One tier's rates made consistent, never cheaper than the truth: a cache read
 * costs at most uncached input and a cache write at least as much (writes are
 * billed as input, or above it), a 1-hour write at least a 5-minute one, and a
 * rate of 0 on a paid side is a missing price, not a free one (billed as input
 * or output instead). A write priced below input where there is no read price is
 * a read price typed into the write field (`ft:gpt-4o-2024-11-20`).
 */
function saneTier<T extends TierRates>(tier: T, note: Note): T {
  const r = { ...tier } as unknown as WritableRates;
  const drop = (name: keyof TierRates, why: string): void => {
    note(`${name} ${r[name]} ${why}`);
    delete r[name];
  };
  if (r.cachedInput === undefined && r.cacheWrite !== undefined && r.cacheWrite < tier.input) {
    note(`cacheWrite ${r.cacheWrite} below input ${tier.input} and no read price: taken as the read price`);
    r.cachedInput = r.cacheWrite;
    delete r.cacheWrite;
  }
  if (r.cachedInput !== undefined && r.cachedInput > tier.input) {
    note(`cachedInput ${r.cachedInput} above input ${tier.input}: reads billed as input`);
    r.cachedInput = tier.input;
  }
  if (r.cachedInput === 0 && tier.input > 0) drop("cachedInput", "on a paid model: reads billed as input");
  if (r.cacheWrite !== undefined && r.cacheWrite < tier.input) drop("cacheWrite", `below input ${tier.input}: writes billed as input`);
  if (r.cacheWrite1h !== undefined && r.cacheWrite1h < (r.cacheWrite ?? tier.input)) drop("cacheWrite1h", "below the 5-minute write: billed as one");
  if (r.audioInput === 0 && tier.input > 0) drop("audioInput", "on a paid model: audio billed as text");
  if (r.audioOutput === 0 && tier.output > 0) drop("audioOutput", "on a paid model: audio billed as text");
  return r as unknown as T;
}

/** `tier` with each rate below `floor`'s raised to it: a tier that must not bill below another (long context, priority). */
function atLeast<T extends TierRates>(tier: T, floor: TierRates, what: string, note: Note): T {
  const r = { ...tier } as unknown as WritableRates;
  for (const name of ["input", "output", "cachedInput", "cacheWrite", "cacheWrite1h", "reasoning", "audioInput", "audioOutput"] as const) {
    const own = r[name];
    const min = floor[name];
    if (own !== undefined && min !== undefined && own < min) {
      note(`${what} ${name} ${own} below ${min}: raised to it`);
      r[name] = min;
    }
  }
  return r as unknown as T;
}

/**
 * An entry's price made consistent (saneTier, in every tier; a long-context or
 * priority tier never below the standard one), or null when no repair is sure:
 * a chat model priced 0 on one side and not the other (a missing price typed as
 * 0) is left out, so it is unpriced (counted, never free) rather than half free.
 */
export function sanePrice(key: string, entry: Entry, price: ModelPrice, notes: string[]): ModelPrice | null {
  const note: Note = (what) => notes.push(`${key}: ${what}`);
  if (entry.mode === "chat" && (price.input === 0) !== (price.output === 0) && price.fees?.request === undefined) {
    note(`input ${price.input} and output ${price.output}: one side priced 0 on a paid model; left out (unpriced)`);
    return null;
  }
  const tiered = (t: TieredRates, what: string): TieredRates => {
    const base = saneTier(t, (w) => note(`${what}${w}`));
    if (t.longContext === undefined) return base;
    const long = atLeast(saneTier(t.longContext, (w) => note(`${what}above ${t.longContext?.threshold}: ${w}`)), base, `${what}long-context`, note);
    return { ...base, longContext: long };
  };
  // saneTier keeps every other field of what it is given (limits, fees, tiers): only rates change.
  let out: ModelPrice = tiered(price, "");
  if (price.serviceTiers !== undefined) {
    const tiers: Partial<Record<ServiceTier, TieredRates>> = {};
    for (const [name, rates] of Object.entries(price.serviceTiers) as Array<[ServiceTier, TieredRates]>) {
      const fixed = tiered(rates, `${name} `);
      tiers[name] = name === "priority" ? { ...atLeast(fixed, out, "priority", note), longContext: fixed.longContext } : fixed;
    }
    out = { ...out, serviceTiers: tiers };
  }
  return out;
}
