import { isSafeKey } from "./json.ts";
import type { Usage } from "./types.ts";

/** A token count as reported, or 0 for anything that is not one. */
export const tokenCount = (v: unknown): number => (typeof v === "number" && Number.isFinite(v) && v >= 0 ? v : 0);

/**
 * Usage from providers that report input apart from cache reads and writes
 * (Anthropic, Bedrock Converse): the gateway's prompt_tokens is all input
 * (DESIGN.md), so the three are summed. Null when neither input nor output was
 * reported (unknown, not free).
 */
export function usageFromSeparateCacheCounts(counts: { input: unknown; output: unknown; cacheRead: unknown; cacheWrite: unknown }): Usage | null {
  if (typeof counts.input !== "number" && typeof counts.output !== "number") return null;
  const cacheRead = tokenCount(counts.cacheRead);
  const cacheWrite = tokenCount(counts.cacheWrite);
  const prompt = tokenCount(counts.input) + cacheRead + cacheWrite;
  const completion = tokenCount(counts.output);
  return {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt + completion,
    prompt_tokens_details: { cached_tokens: cacheRead, cache_write_tokens: cacheWrite },
  };
}

/**
 * Merges the numeric counts of a usage object into `into`, and those of its
 * nested objects (Anthropic's `cache_creation` splits writes by cache TTL,
 * which prices them apart). Anthropic's stream reports usage twice
 * (message_start, then cumulative in message_delta) and sends `null` for
 * counts it does not repeat: only numbers may overwrite.
 */
export function mergeCounts(into: Record<string, unknown>, usage: unknown): void {
  if (typeof usage !== "object" || usage === null) return;
  for (const [key, value] of Object.entries(usage)) {
    if (!isSafeKey(key)) continue; // `__proto__` would merge into Object.prototype
    if (typeof value === "number" && Number.isFinite(value)) into[key] = value;
    else if (typeof value === "object" && value !== null && !Array.isArray(value)) {
      const nested = Object.hasOwn(into, key) ? into[key] : undefined;
      const target: Record<string, unknown> = typeof nested === "object" && nested !== null ? (nested as Record<string, unknown>) : {};
      into[key] = target;
      mergeCounts(target, value);
    }
  }
}

/** Usage as written into an answer for a client: the normalised counts, without the gateway's billing facts. */
export function clientUsage(usage: Usage): Omit<Usage, "billing"> {
  if (usage.billing === undefined) return usage;
  const { billing: _billing, ...counts } = usage;
  return counts;
}
