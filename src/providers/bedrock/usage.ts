import type { Usage } from "../types.ts";
import { isObject, type Json } from "../json.ts";
import { tokenCount, usageFromSeparateCacheCounts } from "../usage.ts";
import { finishReason as anthropicFinishReason } from "../anthropic/usage.ts";

/** The 1-hour share of a Converse answer's cache writes: `cacheDetails` lists the writes by TTL (`[{ttl:"1h", inputTokens}, {ttl:"5m", …}]`). */
function oneHourWrites(details: unknown): number {
  if (!Array.isArray(details)) return 0;
  let tokens = 0;
  for (const d of details) if (isObject(d) && d.ttl === "1h") tokens += tokenCount(d.inputTokens);
  return tokens;
}

/**
 * The tier a Converse answer was served at: `serviceTier.type`, or
 * "latency-optimized" when `performanceConfig.latency` says it ran optimized
 * (Bedrock bills both apart from its standard rates).
 */
export function converseServiceTier(response: Json): string | undefined {
  if (isObject(response.performanceConfig) && response.performanceConfig.latency === "optimized") return "latency-optimized";
  return isObject(response.serviceTier) && typeof response.serviceTier.type === "string" ? response.serviceTier.type : undefined;
}

/**
 * Converse's TokenUsage → normalised usage. Like Anthropic's, Bedrock's
 * `inputTokens` leaves out the cache reads and writes, which it reports beside
 * it; `cacheDetails` splits the writes by TTL (1-hour writes cost more).
 * Reasoning is not broken out of `outputTokens`. `response` (the answer, or a
 * stream's metadata event) names the service tier it was billed at.
 */
export function normaliseConverseUsage(raw: unknown, response: Json = {}): Usage | null {
  if (typeof raw !== "object" || raw === null) return null;
  const u = raw as Record<string, unknown>;
  const usage = usageFromSeparateCacheCounts({ input: u.inputTokens, output: u.outputTokens, cacheRead: u.cacheReadInputTokens, cacheWrite: u.cacheWriteInputTokens });
  const writes1h = oneHourWrites(u.cacheDetails);
  if (usage?.prompt_tokens_details !== undefined && writes1h > 0) {
    usage.prompt_tokens_details.cache_write_1h_tokens = Math.min(writes1h, usage.prompt_tokens_details.cache_write_tokens ?? 0);
  }
  const tier = converseServiceTier(response);
  if (usage !== null && tier !== undefined) usage.billing = { serviceTier: tier };
  return usage;
}

/** Converse `stopReason` → OpenAI `finish_reason`: Anthropic's reasons, plus Bedrock's guardrail ones. */
export function finishReason(stopReason: unknown): string | null {
  return stopReason === "guardrail_intervened" || stopReason === "content_filtered" ? "content_filter" : anthropicFinishReason(stopReason);
}
