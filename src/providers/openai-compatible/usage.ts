import type { Usage } from "../types.ts";

const count = (v: unknown): number | undefined => (typeof v === "number" && Number.isFinite(v) && v >= 0 ? v : undefined);

function detail(source: unknown, field: string): number | undefined {
  return typeof source === "object" && source !== null ? count((source as Record<string, unknown>)[field]) : undefined;
}

/**
 * Reads an OpenAI-style `usage` object into normalised usage. Returns null when
 * the provider reported nothing usable: missing usage is unknown, never zero.
 */
export function normaliseOpenAIUsage(raw: unknown): Usage | null {
  if (typeof raw !== "object" || raw === null) return null;
  const u = raw as Record<string, unknown>;
  const prompt = count(u.prompt_tokens);
  const completion = count(u.completion_tokens);
  if (prompt === undefined && completion === undefined) return null;
  const usage: Usage = {
    prompt_tokens: prompt ?? 0,
    completion_tokens: completion ?? 0,
    total_tokens: count(u.total_tokens) ?? (prompt ?? 0) + (completion ?? 0),
  };
  const cached = detail(u.prompt_tokens_details, "cached_tokens") ?? count(u.prompt_cache_hit_tokens);
  const cacheWrite = detail(u.prompt_tokens_details, "cache_write_tokens");
  if (cached !== undefined || cacheWrite !== undefined) {
    usage.prompt_tokens_details = {};
    if (cached !== undefined) usage.prompt_tokens_details.cached_tokens = cached;
    if (cacheWrite !== undefined) usage.prompt_tokens_details.cache_write_tokens = cacheWrite;
  }
  const reasoning = detail(u.completion_tokens_details, "reasoning_tokens");
  if (reasoning !== undefined) usage.completion_tokens_details = { reasoning_tokens: reasoning };
  return usage;
}
