/**
 * Admin price overrides: a price an operator sets for `provider/model` (a
 * negotiated rate, a model the bundled table lacks, an Azure deployment name),
 * kept in KV under `price:<provider>/<model>` in the admin API's own shape
 * (USD per million tokens, named as the admin API names them).
 */
import * as z from "zod";
import { readKvJson, listKvKeys, usableKvKey } from "../config/kv-json.ts";
import { modelIdSchema } from "../config/schemas.ts";
import type { ModelPrice, TierRates } from "./types.ts";

export const PRICE_KEY_PREFIX = "price:";

/** USD per million tokens. The cap only catches typos (per-token prices pasted as per-million are the opposite mistake, and pass). */
const rate = z.number().nonnegative().max(100_000);
const optionalRates = {
  cachedInputPerMTok: rate.optional(),
  cacheWritePerMTok: rate.optional(),
  cacheWrite1hPerMTok: rate.optional(),
  reasoningPerMTok: rate.optional(),
  audioInputPerMTok: rate.optional(),
  audioOutputPerMTok: rate.optional(),
};

export const priceOverrideSchema = z.strictObject({
  provider: z.string().min(1),
  // KV keys are at most 512 bytes: a model id (at most 256 printable ASCII characters) leaves room for the prefix and provider.
  model: modelIdSchema,
  inputPerMTok: rate,
  outputPerMTok: rate,
  ...optionalRates,
  maxOutputTokens: z.int().positive().max(10_000_000).optional(),
  /** The context window: caps the worst case of input the body cannot bound (src/metering/worst-case.ts). */
  maxInputTokens: z.int().positive().max(100_000_000).optional(),
  /** USD per call of a web search tool (OpenAI's `web_search`: $0.01–0.025), so a hard budget can bound and charge searches. */
  webSearchPerCallUsd: z.number().nonnegative().max(10).optional(),
  /** USD per call of OpenAI's `web_search_preview` tool, where it differs ($0.025 on non-reasoning models). */
  webSearchPreviewPerCallUsd: z.number().nonnegative().max(10).optional(),
  longContext: z
    .strictObject({ thresholdTokens: z.int().positive(), inputPerMTok: rate, outputPerMTok: rate, ...optionalRates })
    .optional(),
}).refine((o) => o.maxInputTokens === undefined || o.longContext === undefined || o.maxInputTokens > o.longContext.thresholdTokens, {
  // A window at or below the threshold would leave the long-context tier out of every worst case.
  path: ["maxInputTokens"],
  error: "maxInputTokens must be above longContext.thresholdTokens.",
});
export type PriceOverride = z.infer<typeof priceOverrideSchema>;
/** A price in the admin API's terms, without whose it is. */
export type PriceFields = Omit<PriceOverride, "provider" | "model">;

export const priceKey = (provider: string, model: string): string => `${PRICE_KEY_PREFIX}${provider}/${model}`;

type ApiTier = Pick<PriceFields, "inputPerMTok" | "outputPerMTok" | keyof typeof optionalRates>;

function tierFromApi(t: ApiTier): TierRates {
  return {
    input: t.inputPerMTok,
    output: t.outputPerMTok,
    ...(t.cachedInputPerMTok !== undefined && { cachedInput: t.cachedInputPerMTok }),
    ...(t.cacheWritePerMTok !== undefined && { cacheWrite: t.cacheWritePerMTok }),
    ...(t.cacheWrite1hPerMTok !== undefined && { cacheWrite1h: t.cacheWrite1hPerMTok }),
    ...(t.reasoningPerMTok !== undefined && { reasoning: t.reasoningPerMTok }),
    ...(t.audioInputPerMTok !== undefined && { audioInput: t.audioInputPerMTok }),
    ...(t.audioOutputPerMTok !== undefined && { audioOutput: t.audioOutputPerMTok }),
  };
}

function tierToApi(t: TierRates): ApiTier {
  return {
    inputPerMTok: t.input,
    outputPerMTok: t.output,
    ...(t.cachedInput !== undefined && { cachedInputPerMTok: t.cachedInput }),
    ...(t.cacheWrite !== undefined && { cacheWritePerMTok: t.cacheWrite }),
    ...(t.cacheWrite1h !== undefined && { cacheWrite1hPerMTok: t.cacheWrite1h }),
    ...(t.reasoning !== undefined && { reasoningPerMTok: t.reasoning }),
    ...(t.audioInput !== undefined && { audioInputPerMTok: t.audioInput }),
    ...(t.audioOutput !== undefined && { audioOutputPerMTok: t.audioOutput }),
  };
}

export function toModelPrice(o: PriceFields): ModelPrice {
  const lc = o.longContext;
  return {
    ...tierFromApi(o),
    ...(lc !== undefined && { longContext: { ...tierFromApi(lc), threshold: lc.thresholdTokens } }),
    ...(o.maxOutputTokens !== undefined && { maxOutputTokens: o.maxOutputTokens }),
    ...(o.maxInputTokens !== undefined && { maxInputTokens: o.maxInputTokens }),
    ...((o.webSearchPerCallUsd !== undefined || o.webSearchPreviewPerCallUsd !== undefined) && {
      fees: {
        ...(o.webSearchPerCallUsd !== undefined && { webSearchTool: o.webSearchPerCallUsd }),
        ...(o.webSearchPreviewPerCallUsd !== undefined && { webSearchPreviewTool: o.webSearchPreviewPerCallUsd }),
      },
    }),
  };
}

export function toPriceFields(p: ModelPrice): PriceFields {
  const lc = p.longContext;
  return {
    ...tierToApi(p),
    ...(p.maxOutputTokens !== undefined && { maxOutputTokens: p.maxOutputTokens }),
    ...(p.maxInputTokens !== undefined && { maxInputTokens: p.maxInputTokens }),
    ...(typeof p.fees?.webSearchTool === "number" && { webSearchPerCallUsd: p.fees.webSearchTool }),
    ...(typeof p.fees?.webSearchPreviewTool === "number" && { webSearchPreviewPerCallUsd: p.fees.webSearchPreviewTool }),
    ...(lc !== undefined && { longContext: { thresholdTokens: lc.threshold, ...tierToApi(lc) } }),
  };
}

/** KV metadata is at most 1,024 bytes; a record that fits rides along so listing needs no read per override. */
const METADATA_MAX_BYTES = 1024;

/** The stored override, read from KV (uncached: admin reads and the price cache's misses), or null. */
export async function readOverride(kv: KVNamespace, provider: string, model: string): Promise<PriceOverride | null> {
  const key = priceKey(provider, model);
  // No override can have been written under a key KV refuses (one that would answer a 500).
  if (!usableKvKey(key)) return null;
  const raw = await readKvJson(kv, key);
  if (raw === null) return null;
  // Validated on write; re-checked so a hand-edited value cannot put a wrong price on every request.
  const parsed = priceOverrideSchema.safeParse(raw);
  if (!parsed.success) console.error(JSON.stringify({ msg: "price_override_invalid", key: priceKey(provider, model) }));
  return parsed.success ? parsed.data : null;
}

export async function writeOverride(kv: KVNamespace, override: PriceOverride): Promise<void> {
  const json = JSON.stringify(override);
  const metadata = new TextEncoder().encode(json).byteLength <= METADATA_MAX_BYTES ? override : undefined;
  await kv.put(priceKey(override.provider, override.model), json, { metadata });
}

/** Removes an override; whether there was one. */
export async function deleteOverride(kv: KVNamespace, provider: string, model: string): Promise<boolean> {
  const key = priceKey(provider, model);
  if (!usableKvKey(key) || (await kv.get(key)) === null) return false;
  await kv.delete(key);
  return true;
}

/** Every stored override, sorted by key (KV lists in key order). */
export async function listOverrides(kv: KVNamespace): Promise<PriceOverride[]> {
  const keys = await listKvKeys(kv, PRICE_KEY_PREFIX);
  const records = await Promise.all(
    keys.map(async (k) => {
      const fromMetadata = priceOverrideSchema.safeParse(k.metadata);
      if (fromMetadata.success) return fromMetadata.data;
      const parsed = priceOverrideSchema.safeParse(await readKvJson(kv, k.name));
      return parsed.success ? parsed.data : null;
    }),
  );
  return records.filter((r) => r !== null);
}
