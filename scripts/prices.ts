/**
 * `npm run prices [path/to/model_prices_and_context_window.json] [--out file]`: derives the
 * gateway's bundled price table (src/metering/bundled-prices.ts) from LiteLLM's
 * price map (BerriAI/litellm, MIT licence). Only chat, Responses-only and embedding models of
 * the gateway's provider presets are kept, keyed by the model name the gateway
 * sends upstream (the part after `provider/` in a request's model), so the
 * Worker bundle carries only what it can use. The output depends on the input
 * file alone (sorted, no clock): running it twice gives the same file.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { effectiveRates, ratesAtTier } from "../src/metering/rates.ts";
import type { Fee, ModelPrice, PerUseFees, SearchContextSize, ServiceTier, TierRates, TieredRates } from "../src/metering/types.ts";
import { PROVIDER_PRESETS } from "../src/providers/presets.ts";
import { sanePrice } from "./price-sanity.ts";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const DEFAULT_SOURCE = join(ROOT, "../shared/data/model_prices_and_context_window.json");
const OUTPUT = join(ROOT, "src/metering/bundled-prices.ts");

type Entry = Record<string, unknown>;

/**
 * LiteLLM's `litellm_provider` → the gateway's preset, and how its key becomes
 * the upstream model name (null: not a model this preset can call by that name).
 * `rank` orders candidates for one name: the lowest wins (a provider's own,
 * prefixed entry over a shorthand or a legacy duplicate).
 */
interface Mapping {
  readonly preset: string;
  readonly model: (key: string) => { model: string; rank: number } | null;
}

/** `prefix/rest` → rest (rank 0); an unprefixed key → itself (rank 1); a rest with a further `/` is refused when `flat`. */
const stripPrefix =
  (prefix: string, flat = false) =>
  (key: string): { model: string; rank: number } | null => {
    const prefixed = key.startsWith(`${prefix}/`);
    const model = prefixed ? key.slice(prefix.length + 1) : key;
    if (model.length === 0 || (flat && model.includes("/"))) return null;
    return { model, rank: prefixed ? 0 : 1 };
  };

/** Only keys under the prefix (providers whose unprefixed keys are generic size tiers, not models). */
const underPrefix =
  (prefix: string, flat = false) =>
  (key: string): { model: string; rank: number } | null => {
    if (!key.startsWith(`${prefix}/`)) return null;
    const model = key.slice(prefix.length + 1);
    return model.length === 0 || (flat && model.includes("/")) ? null : { model, rank: 0 };
  };

/**
 * Bedrock model ids (`anthropic.claude…`, inference profiles `us.anthropic.…`).
 * Keys with a region or commitment path (`bedrock/us-east-1/…`) price
 * provisioned throughput or one region's endpoint, not the id the gateway sends.
 */
const bedrockModel = (rank: number) => (key: string): { model: string; rank: number } | null => {
  const model = key.replace(/^bedrock(_converse)?\//, "");
  return model.includes("/") ? null : { model, rank };
};

/** Fireworks' chat models are `accounts/fireworks/models/x`; LiteLLM also lists some as a bare `x`. */
const fireworksModel = (key: string): { model: string; rank: number } | null => {
  const rest = underPrefix("fireworks_ai")(key);
  if (rest === null || rest.model.endsWith("/")) return null;
  if (rest.model.includes("/")) return rest;
  return { model: `accounts/fireworks/models/${rest.model}`, rank: 1 };
};

const MAPPINGS: Readonly<Record<string, Mapping>> = {
  openai: { preset: "openai", model: (k) => (k.includes("/") ? null : { model: k, rank: 0 }) },
  anthropic: { preset: "anthropic", model: (k) => (k.includes("/") ? null : { model: k, rank: 0 }) },
  gemini: { preset: "gemini", model: stripPrefix("gemini", true) },
  bedrock_converse: { preset: "bedrock", model: bedrockModel(0) },
  bedrock: { preset: "bedrock", model: bedrockModel(1) },
  deepseek: { preset: "deepseek", model: stripPrefix("deepseek", true) },
  mistral: { preset: "mistral", model: stripPrefix("mistral", true) },
  groq: { preset: "groq", model: underPrefix("groq") },
  together_ai: { preset: "together", model: underPrefix("together_ai") },
  deepinfra: { preset: "deepinfra", model: underPrefix("deepinfra") },
  fireworks_ai: { preset: "fireworks", model: fireworksModel },
  "fireworks_ai-embedding-models": { preset: "fireworks", model: fireworksModel },
  xai: { preset: "xai", model: stripPrefix("xai", true) },
  openrouter: { preset: "openrouter", model: underPrefix("openrouter") },
  dashscope: { preset: "qwen", model: stripPrefix("dashscope", true) },
  perplexity: { preset: "perplexity", model: stripPrefix("perplexity", true) },
  // Data-zone keys (`azure/eu/…`, `azure/global/…`) are not deployment names.
  azure: { preset: "azure", model: underPrefix("azure", true) },
  cloudflare: { preset: "workers-ai", model: underPrefix("cloudflare") },
};

/** USD per token → USD per million tokens, without float noise ($3/MTok is exactly 3). */
const perMillion = (v: unknown): number | undefined =>
  typeof v === "number" && Number.isFinite(v) && v >= 0 ? Number((v * 1e6).toPrecision(6)) : undefined;

/** The base field names of the rates a tier reads (the long-context tier adds `_above_Nk_tokens`). */
const RATE_FIELDS: ReadonlyArray<readonly [keyof TierRates, string]> = [
  ["input", "input_cost_per_token"],
  ["output", "output_cost_per_token"],
  ["cachedInput", "cache_read_input_token_cost"],
  ["cacheWrite", "cache_creation_input_token_cost"],
  ["cacheWrite1h", "cache_creation_input_token_cost_above_1hr"],
  ["reasoning", "output_cost_per_reasoning_token"],
  ["audioInput", "input_cost_per_audio_token"],
  ["audioOutput", "output_cost_per_audio_token"],
];

function readTier(entry: Entry, suffix: string, serviceTier = ""): Partial<Record<keyof TierRates, number>> {
  const tier: Partial<Record<keyof TierRates, number>> = {};
  for (const [name, field] of RATE_FIELDS) {
    const rate = perMillion(entry[field + suffix + serviceTier]);
    if (rate !== undefined) tier[name] = rate;
  }
  // DeepSeek's entries name the cache-read rate `input_cost_per_token_cache_hit`.
  if (suffix === "" && serviceTier === "" && tier.cachedInput === undefined) {
    const hit = perMillion(entry.input_cost_per_token_cache_hit);
    if (hit !== undefined) tier.cachedInput = hit;
  }
  // A cache write priced 0 (DeepSeek) means "no separate write price", not free input: leave it to fall back to input.
  if (tier.cacheWrite === 0) delete tier.cacheWrite;
  if (tier.cacheWrite1h === 0) delete tier.cacheWrite1h;
  return tier;
}

/** The prompt size above which the entry bills a request at other rates (`input_cost_per_token_above_200k_tokens` → 200,000). */
function longContextThreshold(entry: Entry): number | undefined {
  const thresholds = new Set<number>();
  for (const field of Object.keys(entry)) {
    const m = /^(?:input_cost_per_token|output_cost_per_token)_above_(\d+)k_tokens$/.exec(field);
    if (m !== null) thresholds.add(Number(m[1]) * 1000);
  }
  if (thresholds.size > 1) throw new Error(`more than one long-context threshold: ${[...thresholds].join(", ")}`);
  return thresholds.values().next().value;
}

/** Every rate a price bills at, in every tier: two prices with the same view cost the same for every usage. */
const billedRates = (p: ModelPrice): string =>
  JSON.stringify([null, "priority", "flex"].map((tier) => {
    const rates = ratesAtTier(p, tier as ServiceTier | null);
    return rates === undefined ? null : [effectiveRates(rates, false), effectiveRates(rates, true)];
  }));

/** Drops each optional rate the fallbacks give anyway, so the table is smaller and costs stay identical. */
function withoutRedundantRates(price: ModelPrice): ModelPrice {
  const same = (a: ModelPrice, b: ModelPrice): boolean => billedRates(a) === billedRates(b);
  const without = <T extends object>(o: T, name: string): T => Object.fromEntries(Object.entries(o).filter(([k]) => k !== name)) as T;
  let out: ModelPrice = price;
  const optional: ReadonlyArray<keyof TierRates> = ["cachedInput", "cacheWrite", "cacheWrite1h", "reasoning", "audioInput", "audioOutput"];
  for (const name of optional) {
    if (out.longContext?.[name] === undefined) continue;
    const candidate: ModelPrice = { ...out, longContext: without(out.longContext, name) };
    if (same(candidate, out)) out = candidate;
  }
  for (const name of optional) {
    if (out[name] === undefined) continue;
    const candidate = without(out, name);
    if (same(candidate, out)) out = candidate;
  }
  return out;
}

/** A Bedrock model id without its geography prefix (`us.anthropic.claude…` → `anthropic.claude…`), as src/metering/price-table.ts reads it. */
const bareBedrockId = (model: string): string => model.replace(/^(?:us|us-gov|eu|apac|au|jp|ca|global)\.(?=[a-z])/, "");

/**
 * Anthropic bills a 1-hour cache write at 2× the input rate, in each tier (a
 * 5-minute write 1.25×, a read 0.1×); LiteLLM's entries miss it or get it
 * wrong for some models (claude-3-haiku at $6, claude-4-opus with none), so
 * the rate is set from the input rate, each change noted for the run's log.
 */
function withClaude1hRates(key: string, price: ModelPrice, corrections: string[]): ModelPrice {
  const fix = <T extends TierRates>(tier: T, label: string): T => {
    const rate = Number((2 * tier.input).toPrecision(6));
    if (tier.cacheWrite1h === rate) return tier;
    corrections.push(`${key}${label}: 1-hour write ${tier.cacheWrite1h ?? "missing"} → ${rate}`);
    return { ...tier, cacheWrite1h: rate };
  };
  const base = fix(price, "");
  return price.longContext === undefined ? base : { ...base, longContext: fix(price.longContext, ` above ${price.longContext.threshold / 1000}k`) };
}

/**
 * The context window, from `max_input_tokens`. Left out for embedding models
 * (the window is per input; a batch is billed whole) and where it is not above
 * the long-context threshold: LiteLLM gives Claude Sonnet 4.5 a 200k window
 * and a tier above 200k (the 1M-context beta), and a cap at 200k would leave
 * that tier out of every worst case; the default cap applies instead.
 */
function contextWindow(key: string, entry: Entry, price: ModelPrice, notes: string[]): number | undefined {
  const max = entry.max_input_tokens;
  if ((entry.mode !== "chat" && entry.mode !== "responses") || typeof max !== "number" || !Number.isInteger(max) || max <= 0) return undefined;
  if (price.longContext !== undefined && max <= price.longContext.threshold) {
    notes.push(`${key}: max_input_tokens ${max} is not above the long-context threshold ${price.longContext.threshold}`);
    return undefined;
  }
  return max;
}

/** The rates of one service tier (`suffix` "" for standard, "_priority", "_flex"), with its long-context tier; undefined if the entry has none. */
function tieredRates(entry: Entry, suffix: string, threshold: number | undefined): TieredRates | undefined {
  const base = readTier(entry, "", suffix);
  if (base.input === undefined && base.output === undefined) return undefined;
  let rates: TieredRates = { input: base.input ?? 0, output: base.output ?? 0, ...base };
  if (threshold !== undefined) {
    const tier = readTier(entry, `_above_${threshold / 1000}k_tokens`, suffix);
    // The 1-hour write's tier field is `cache_creation_input_token_cost_above_1hr_above_200k_tokens`, read above as cacheWrite1h.
    if (suffix === "" || tier.input !== undefined || tier.output !== undefined) {
      rates = { ...rates, longContext: { input: tier.input ?? rates.input, output: tier.output ?? rates.output, ...tier, threshold } };
    }
  }
  return rates;
}

/** `{"search_context_size_low": 0.005, …}` → `{low: 0.005, …}`, one number when every size costs the same. */
function feeBySize(raw: unknown): Fee | undefined {
  if (typeof raw !== "object" || raw === null) return undefined;
  const bySize: Partial<Record<SearchContextSize, number>> = {};
  for (const size of ["low", "medium", "high"] as const) {
    const usd = (raw as Entry)[`search_context_size_${size}`];
    if (typeof usd === "number" && Number.isFinite(usd) && usd >= 0) bySize[size] = usd;
  }
  const values = Object.values(bySize);
  if (values.length === 0) return undefined;
  return values.length === 3 && values.every((v) => v === values[0]) ? values[0] : bySize;
}

/**
 * Per-use fees, as each provider bills them: LiteLLM's `search_context_cost_per_query`
 * is Anthropic's fee per search of its web search tool, Perplexity's fee per request (by search context
 * size) or, for deep research (the model with citation tokens), per search query, and
 * OpenAI's per call of its search models (one a request). Other providers' search fees
 * are for tools the gateway's translations do not carry.
 *
 * LiteLLM's map has no fee for OpenAI's web search tool, which every agent on the Responses API
 * offers (Codex sends it each turn): without one, a hard budget would refuse every such request.
 * OpenAI's pricing page bills `web_search` at $10 per 1,000 calls on every model (its search
 * content tokens are in the usage's input tokens), and the older `web_search_preview` at $10 on
 * reasoning models, $25 on the others. A model is taken to reason when LiteLLM says so or it is of
 * the o-series or GPT-5 families (LiteLLM leaves the deep-research models unmarked), but for the
 * `-chat` ones OpenAI describes as non-reasoning; in doubt, the dearer.
 */
const OPENAI_WEB_SEARCH_USD = 0.01;
const OPENAI_WEB_SEARCH_PREVIEW_USD = { reasoning: 0.01, other: 0.025 } as const;

function feesOf(preset: string, model: string, entry: Entry): PerUseFees | undefined {
  const bySize = feeBySize(entry.search_context_cost_per_query);
  const flat = typeof entry.input_cost_per_request === "number" && entry.input_cost_per_request > 0 ? entry.input_cost_per_request : undefined;
  const citationPerMTok = perMillion(entry.citation_cost_per_token);
  let search: Fee | undefined;
  let webSearchTool: Fee | undefined;
  let request: Fee | undefined = flat;
  if (bySize !== undefined) {
    if (preset === "anthropic") webSearchTool = bySize;
    else if (preset === "perplexity" && citationPerMTok !== undefined) search = bySize;
    else if (preset === "perplexity" || preset === "openai" || preset === "azure") request = bySize;
  }
  let webSearchPreviewTool: Fee | undefined;
  if (preset === "openai" && (entry.mode === "chat" || entry.mode === "responses") && request === undefined && search === undefined) {
    webSearchTool = OPENAI_WEB_SEARCH_USD;
    const reasons = (entry.supports_reasoning === true || /^(ft:)?(o\d|gpt-5)/.test(model)) && !/-chat\b/.test(model);
    webSearchPreviewTool = reasons ? OPENAI_WEB_SEARCH_PREVIEW_USD.reasoning : OPENAI_WEB_SEARCH_PREVIEW_USD.other;
  }
  const fees: PerUseFees = {
    ...(search !== undefined && { search }),
    ...(webSearchTool !== undefined && { webSearchTool }),
    ...(webSearchPreviewTool !== undefined && { webSearchPreviewTool }),
    ...(request !== undefined && { request }),
    ...(citationPerMTok !== undefined && { citationPerMTok }),
  };
  return Object.keys(fees).length > 0 ? fees : undefined;
}

function toPrice(preset: string, model: string, entry: Entry): ModelPrice | null {
  const threshold = longContextThreshold(entry);
  const standard = tieredRates(entry, "", threshold);
  // Unpriced (no input and no output rate, or both 0): unknown, never free.
  if (standard === undefined || (!standard.input && !standard.output)) return null;
  let price: ModelPrice = standard;
  const serviceTiers: Partial<Record<ServiceTier, TieredRates>> = {};
  for (const tier of ["priority", "flex"] as const) {
    const rates = tieredRates(entry, `_${tier}`, threshold);
    if (rates !== undefined) serviceTiers[tier] = rates;
  }
  if (Object.keys(serviceTiers).length > 0) price = { ...price, serviceTiers };
  const fees = feesOf(preset, model, entry);
  if (fees !== undefined) price = { ...price, fees };
  const maxOutput = entry.max_output_tokens;
  if (typeof maxOutput === "number" && Number.isInteger(maxOutput) && maxOutput > 0) price = { ...price, maxOutputTokens: maxOutput };
  return price;
}

/** Field order in the emitted JSON, fixed so the file is the same on every run. */
const ORDER = [
  "input", "output", "cachedInput", "cacheWrite", "cacheWrite1h", "reasoning", "audioInput", "audioOutput", "threshold", "longContext",
  "serviceTiers", "priority", "flex", "fees", "search", "webSearchTool", "webSearchPreviewTool", "request", "citationPerMTok", "low", "medium", "high", "maxOutputTokens", "maxInputTokens",
];
const ordered = (price: object): object =>
  Object.fromEntries(
    Object.entries(price)
      .sort(([a], [b]) => ORDER.indexOf(a) - ORDER.indexOf(b))
      .map(([k, v]) => [k, typeof v === "object" && v !== null ? ordered(v) : v]),
  );

/** A JSON text as a single-quoted JS string literal. */
const jsString = (json: string): string => `'${json.replaceAll("\\", "\\\\").replaceAll("'", "\\'")}'`;

function main(): void {
  // `npm run prices [source.json] [--out file.ts]`: the output defaults to the bundled table.
  const args = process.argv.slice(2);
  const outAt = args.indexOf("--out");
  const output = outAt === -1 ? OUTPUT : resolve(args[outAt + 1] ?? OUTPUT);
  const positional = args.filter((_, i) => i !== outAt && i !== outAt + 1);
  const source = resolve(positional[0] ?? DEFAULT_SOURCE);
  const data = JSON.parse(readFileSync(source, "utf8")) as Record<string, unknown>;
  const lastUpdated = typeof data.last_updated === "string" ? data.last_updated.slice(0, 10) : "unknown";
  const presets = new Map(PROVIDER_PRESETS.map((p) => [p.name, p]));
  for (const m of Object.values(MAPPINGS)) if (!presets.has(m.preset)) throw new Error(`no preset named '${m.preset}'`);

  // Bedrock bills 1-hour writes only for the Claude models that offer the 1-hour TTL (4.5 and later): those
  // LiteLLM gives a 1-hour rate under some id, so a geography's entry that lacks it is completed from its family's.
  const bedrock1h = new Set<string>();
  for (const [key, raw] of Object.entries(data)) {
    const entry = raw as Entry;
    const mapping = MAPPINGS[String(entry?.litellm_provider)];
    const named = mapping?.preset === "bedrock" ? mapping.model(key) : null;
    if (named !== null && named !== undefined && perMillion(entry.cache_creation_input_token_cost_above_1hr) !== undefined) bedrock1h.add(bareBedrockId(named.model));
  }

  const chosen = new Map<string, Map<string, { rank: number; key: string; price: ModelPrice }>>();
  const conflicts: string[] = [];
  const corrections: string[] = [];
  const windowNotes: string[] = [];
  const repairs: string[] = [];
  for (const [key, raw] of Object.entries(data)) {
    if (typeof raw !== "object" || raw === null) continue;
    const entry = raw as Entry;
    const mapping = MAPPINGS[String(entry.litellm_provider)];
    if (mapping === undefined) continue;
    const preset = presets.get(mapping.preset);
    // Models served by the Responses API only (Codex's gpt-5-codex, the -pro and deep-research models) where the preset speaks it.
    const responsesOnly = entry.mode === "responses" && preset?.responsesPath !== undefined;
    if (!(entry.mode === "chat" || responsesOnly || (entry.mode === "embedding" && preset?.embeddings === true))) continue;
    const named = mapping.model(key);
    if (named === null) continue;
    const read = toPrice(mapping.preset, named.model, entry);
    let price = read === null ? null : sanePrice(`${mapping.preset}/${named.model}`, entry, read, repairs);
    if (price === null) continue;
    const claude1h = entry.mode === "chat" && (mapping.preset === "anthropic" || (mapping.preset === "bedrock" && bedrock1h.has(bareBedrockId(named.model))));
    if (claude1h) price = withClaude1hRates(`${mapping.preset}/${named.model}`, price, corrections);
    const window = contextWindow(`${mapping.preset}/${named.model}`, entry, price, windowNotes);
    price = withoutRedundantRates(window === undefined ? price : { ...price, maxInputTokens: window });
    const table = chosen.get(mapping.preset) ?? new Map();
    chosen.set(mapping.preset, table);
    const held = table.get(named.model);
    // Lowest rank wins; between equals, the higher input price (never under-reserve), then the key, so order never matters.
    const wins = held === undefined || named.rank < held.rank || (named.rank === held.rank && (price.input > held.price.input || (price.input === held.price.input && key < held.key)));
    if (held !== undefined && JSON.stringify(held.price) !== JSON.stringify(price)) conflicts.push(`${mapping.preset}/${named.model}: ${wins ? key : held.key} over ${wins ? held.key : key}`);
    if (wins) table.set(named.model, { rank: named.rank, key, price });
  }

  const lines: string[] = [];
  const summary: string[] = [];
  for (const preset of PROVIDER_PRESETS) {
    const table = chosen.get(preset.name);
    if (table === undefined || table.size === 0) continue;
    const models = [...table.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const json = JSON.stringify(Object.fromEntries(models.map((m) => [m, ordered((table.get(m) as { price: ModelPrice }).price)])));
    lines.push(`  ${JSON.stringify(preset.name)}: ${jsString(json)},`);
    summary.push(`${preset.name.padEnd(12)} ${String(models.length).padStart(4)}`);
  }
  const total = [...chosen.values()].reduce((n, t) => n + t.size, 0);

  const file = `/**
 * GENERATED by \`npm run prices\` (scripts/prices.ts): do not edit by hand; re-run it instead.
 * Source: LiteLLM's model_prices_and_context_window.json (BerriAI/litellm, MIT licence),
 * last_updated ${lastUpdated}. ${total} chat and embedding models of the gateway's presets.
 *
 * Per provider, a JSON text (parsed on first use: a string literal costs the
 * isolate far less to load than an object literal of this size) mapping the
 * upstream model name to its ModelPrice (USD per million tokens; an absent
 * optional rate falls back as src/metering/rates.ts says).
 */
export const BUNDLED_PRICES: Readonly<Record<string, string>> = {
${lines.join("\n")}
};
`;
  writeFileSync(output, file);
  console.log(`Wrote ${output} from ${source} (last_updated ${lastUpdated}): ${total} models, ${file.length} bytes.`);
  console.log(summary.join("\n"));
  if (corrections.length > 0) console.log(`${corrections.length} Claude 1-hour cache-write rates set to 2× input:\n  ${corrections.join("\n  ")}`);
  if (windowNotes.length > 0) console.log(`${windowNotes.length} context windows left out (the default cap applies):\n  ${windowNotes.join("\n  ")}`);
  if (repairs.length > 0) console.log(`${repairs.length} inconsistent source rates repaired or left out (never cheaper than the truth):\n  ${repairs.join("\n  ")}`);
  if (conflicts.length > 0) console.log(`${conflicts.length} names priced differently by two entries (the first kept):\n  ${conflicts.join("\n  ")}`);
}

main();
