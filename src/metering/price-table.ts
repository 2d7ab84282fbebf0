/**
 * A model's price: the operator's override from KV, else the bundled table
 * (scripts/prices.ts), else null: unpriced, which metering treats as unknown,
 * never as free. Both lookups are cached in the isolate, so the hot path reads
 * KV once per model per 30 s and otherwise costs two Map lookups.
 */
import { IsolateCache } from "../config/isolate-cache.ts";
import type { Env } from "../env.ts";
import { BUNDLED_PRICES } from "./bundled-prices.ts";
import { priceKey, readOverride, toModelPrice } from "./price-overrides.ts";
import { scaledLike } from "./rates.ts";
import type { ModelPrice, ServiceTier, TieredRates } from "./types.ts";

/** How long an isolate trusts what it read about an override (present or absent). KV itself may lag ~60 s across locations. */
const OVERRIDE_TTL_MS = 30_000;
/** Resolved names kept per provider; past this the memo starts over, so a flood of made-up names cannot grow memory. */
const MEMO_MAX = 5_000;

/** Each provider's table, parsed from its JSON text on first use. */
const tables = new Map<string, ReadonlyMap<string, ModelPrice>>();
/** What each asked-for name resolved to (null: unpriced), fallbacks included. */
const resolved = new Map<string, Map<string, ModelPrice | null>>();
const overrides = new IsolateCache<ModelPrice | null>(OVERRIDE_TTL_MS);

function tableOf(provider: string): ReadonlyMap<string, ModelPrice> | undefined {
  let table = tables.get(provider);
  if (table === undefined) {
    const json = Object.hasOwn(BUNDLED_PRICES, provider) ? BUNDLED_PRICES[provider] : undefined;
    if (json === undefined) return undefined;
    table = new Map(Object.entries(JSON.parse(json) as Record<string, ModelPrice>));
    tables.set(provider, table);
  }
  return table;
}

/** Bedrock inference profiles: a geography prefix on a model id (`us.anthropic.claude…`), billed as that model. */
const REGION_PREFIX = /^(?:us|us-gov|eu|apac|au|jp|ca|global)\.(?=[a-z])/;
/** A snapshot date at the end of a name (`-20250929`, `-2024-08-06`), or before a Bedrock version (`-20250929-v1:0`). */
const DATED = /^(.+)-(\d{8}|\d{4}-\d{2}-\d{2})(?:-v\d+(?::\d+)?)?$/;

/** The newest dated snapshot of an undated family name (`claude-sonnet-4-5` → `claude-sonnet-4-5-20250929`), if the table has one. */
function newestSnapshot(table: ReadonlyMap<string, ModelPrice>, family: string): ModelPrice | undefined {
  let newest: { date: string; price: ModelPrice } | undefined;
  for (const [name, price] of table) {
    if (!name.startsWith(family)) continue;
    const m = DATED.exec(name);
    if (m === null || m[1] !== family) continue;
    const date = (m[2] as string).replaceAll("-", "");
    if (newest === undefined || date > newest.date) newest = { date, price };
  }
  return newest?.price;
}

/**
 * The exact name, then only fallbacks that stay inside one model family: a
 * fine-tune (`ft:gpt-4o-mini-2024-07-18:org::id`) at its base's fine-tuning
 * price; a Bedrock geography prefix at the bare id's; a dated snapshot at its
 * undated family's (the provider's alias for it) and an undated or `-latest`
 * name at its newest snapshot's, each only when that entry exists.
 */
function lookUp(table: ReadonlyMap<string, ModelPrice>, model: string): ModelPrice | undefined {
  const exact = table.get(model);
  if (exact !== undefined) return exact;
  if (model.startsWith("ft:")) {
    const end = model.indexOf(":", 3);
    return end > 3 ? table.get(model.slice(0, end)) : undefined;
  }
  const bare = model.replace(REGION_PREFIX, "");
  if (bare !== model) return lookUp(table, bare);
  const family = model.endsWith("-latest") ? model.slice(0, -"-latest".length) : model;
  if (family !== model) {
    const alias = table.get(family);
    if (alias !== undefined) return alias;
  }
  const dated = DATED.exec(family);
  if (dated !== null) return table.get(dated[1] as string);
  return newestSnapshot(table, family);
}

/** The bundled price of `provider/model` (the provider's own model name), or undefined if the table has none. */
export function bundledPrice(provider: string, model: string): ModelPrice | undefined {
  let memo = resolved.get(provider);
  const hit = memo?.get(model);
  if (hit !== undefined) return hit ?? undefined;
  const table = tableOf(provider);
  if (table === undefined) return undefined;
  if (memo === undefined) {
    memo = new Map();
    resolved.set(provider, memo);
  } else if (memo.size >= MEMO_MAX) {
    memo.clear();
  }
  const price = lookUp(table, model) ?? null;
  memo.set(model, price);
  return price ?? undefined;
}

/** What an override takes from the bundled entry when it does not set it itself. */
const INHERITED = ["maxOutputTokens", "maxInputTokens", "fees", "audioInput", "audioOutput"] as const;

/**
 * An override as it is metered: what it sets, and, where it says nothing, the
 * bundled entry's limits (context window, output cap), per-use fees and audio
 * rates, which a price for text tokens does not change. Without them an
 * override would lower the output cap reserved below the one sent, or make
 * searches and audio free.
 */
export function withBundledDefaults(override: ModelPrice, bundled: ModelPrice | undefined): ModelPrice {
  if (bundled === undefined) return override;
  const inherited: Record<string, unknown> = {};
  for (const field of INHERITED) if (override[field] === undefined && bundled[field] !== undefined) inherited[field] = bundled[field];
  // An override of one fee (a web search's) keeps the bundled entry's others (the preview tool's, a per-request fee).
  if (override.fees !== undefined && bundled.fees !== undefined) inherited.fees = { ...bundled.fees, ...override.fees };
  if (override.serviceTiers === undefined && bundled.serviceTiers !== undefined) inherited.serviceTiers = tiersAsMultiples(override, bundled);
  // A long-context tier is a multiple of the standard rates too (GPT-5.4 bills twice its input above 272k).
  const long = bundled.longContext;
  if (override.longContext === undefined && long !== undefined) inherited.longContext = { ...scaledLike(override, bundled, long), threshold: long.threshold };
  return { ...override, ...inherited };
}

/**
 * The bundled entry's service tiers as the same multiples of the override's
 * rates (priority bills every rate at one multiple of standard): a negotiated
 * rate keeps priority and flex requests reservable. Rates a tier leaves out
 * follow from these (rates.ts ratesAtTier).
 */
function tiersAsMultiples(override: ModelPrice, bundled: ModelPrice): NonNullable<ModelPrice["serviceTiers"]> {
  const tiers: Partial<Record<ServiceTier, TieredRates>> = {};
  for (const [name, tier] of Object.entries(bundled.serviceTiers ?? {}) as Array<[ServiceTier, TieredRates]>) tiers[name] = scaledLike(override, bundled, tier);
  return tiers;
}


/** The price a request to `provider/model` is metered at: the override (with withBundledDefaults), else the bundled price, else null (unpriced). */
export async function priceOf(env: Pick<Env, "CONFIG">, provider: string, model: string): Promise<ModelPrice | null> {
  const key = priceKey(provider, model);
  let override = overrides.get(key);
  if (override === undefined) {
    const stored = await readOverride(env.CONFIG, provider, model);
    override = stored === null ? null : withBundledDefaults(toModelPrice(stored), bundledPrice(provider, model));
    overrides.set(key, override);
  }
  return override ?? bundledPrice(provider, model) ?? null;
}

/** Forgets every cached override (after an admin write, and between tests). The bundled table never changes at run time. */
export function clearPriceCache(): void {
  overrides.clear();
}
