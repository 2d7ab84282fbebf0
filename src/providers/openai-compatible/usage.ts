import { isSafeKey } from "../json.ts";
import type { ProviderPreset, Usage, UsageBilling } from "../types.ts";

const count = (v: unknown): number | undefined => (typeof v === "number" && Number.isFinite(v) && v >= 0 ? v : undefined);

function detail(source: unknown, field: string): number | undefined {
  return typeof source === "object" && source !== null ? count((source as Record<string, unknown>)[field]) : undefined;
}

/** How a provider's usage object differs from OpenAI's meaning (ProviderPreset.usage). */
export type UsageSemantics = NonNullable<ProviderPreset["usage"]>;

/**
 * Whether reasoning tokens were reported outside completion_tokens: the preset
 * says so (xAI, Perplexity), or the counts show it, `total_tokens` being
 * prompt + completion + reasoning (xAI's documented arithmetic), which OpenAI's
 * meaning (reasoning inside completion) never gives.
 */
function reasoningApart(semantics: UsageSemantics, prompt: number, completion: number, reasoning: number, total: number | undefined): boolean {
  if (reasoning <= 0) return false;
  return semantics === "reasoning-apart" || (total !== undefined && total === prompt + completion + reasoning);
}

/** Uses the provider bills that its usage reports besides tokens (Perplexity's searches and citations, xAI's server-side tools). */
function billingOf(u: Record<string, unknown>): UsageBilling | undefined {
  const billing: UsageBilling = {};
  const searches = count(u.num_search_queries);
  if (searches !== undefined && searches > 0) billing.searches = searches;
  if (typeof u.search_context_size === "string") billing.searchContextSize = u.search_context_size;
  const citations = count(u.citation_tokens);
  if (citations !== undefined && citations > 0) billing.citationTokens = citations;
  const other: Record<string, number> = {};
  const tools = u.server_side_tool_usage_details;
  if (typeof tools === "object" && tools !== null) {
    for (const [name, n] of Object.entries(tools)) if ((count(n) ?? 0) > 0 && isSafeKey(name)) other[name] = n as number;
  }
  const sources = count(u.num_sources_used);
  if (sources !== undefined && sources > 0) other.num_sources_used = sources;
  if (Object.keys(other).length > 0) billing.otherUses = other;
  return Object.keys(billing).length > 0 ? billing : undefined;
}

/**
 * Reads an OpenAI-style `usage` object into normalised usage (DESIGN.md:
 * completion includes reasoning; prompt includes cache reads and writes and
 * audio). Provider variants read here: DeepSeek's `prompt_cache_hit_tokens`,
 * OpenRouter's `cache_write_tokens`, DashScope's `cache_creation_input_tokens`,
 * reasoning reported apart (xAI, Perplexity), Perplexity's root-level
 * `reasoning_tokens`, searches and citation tokens. Returns null when the
 * provider reported nothing usable: missing usage is unknown, never zero.
 */
export function normaliseOpenAIUsage(raw: unknown, semantics: UsageSemantics = "openai"): Usage | null {
  if (typeof raw !== "object" || raw === null) return null;
  const u = raw as Record<string, unknown>;
  const prompt = count(u.prompt_tokens);
  const reported = count(u.completion_tokens);
  if (prompt === undefined && reported === undefined) return null;
  const reasoning = detail(u.completion_tokens_details, "reasoning_tokens") ?? count(u.reasoning_tokens);
  const apart = reasoningApart(semantics, prompt ?? 0, reported ?? 0, reasoning ?? 0, count(u.total_tokens));
  const completion = (reported ?? 0) + (apart ? (reasoning ?? 0) : 0);
  const usage: Usage = {
    prompt_tokens: prompt ?? 0,
    completion_tokens: completion,
    total_tokens: apart ? (prompt ?? 0) + completion : (count(u.total_tokens) ?? (prompt ?? 0) + completion),
  };
  const details = u.prompt_tokens_details;
  const cached = detail(details, "cached_tokens") ?? count(u.prompt_cache_hit_tokens);
  const cacheWrite = detail(details, "cache_write_tokens") ?? detail(details, "cache_creation_input_tokens");
  const audioIn = detail(details, "audio_tokens");
  if (cached !== undefined || cacheWrite !== undefined || audioIn !== undefined) {
    usage.prompt_tokens_details = {};
    if (cached !== undefined) usage.prompt_tokens_details.cached_tokens = cached;
    if (cacheWrite !== undefined) usage.prompt_tokens_details.cache_write_tokens = cacheWrite;
    if (audioIn !== undefined && audioIn > 0) usage.prompt_tokens_details.audio_tokens = audioIn;
  }
  const audioOut = detail(u.completion_tokens_details, "audio_tokens");
  if (reasoning !== undefined || (audioOut !== undefined && audioOut > 0)) {
    usage.completion_tokens_details = {};
    if (reasoning !== undefined) usage.completion_tokens_details.reasoning_tokens = reasoning;
    if (audioOut !== undefined && audioOut > 0) usage.completion_tokens_details.audio_tokens = audioOut;
  }
  const billing = billingOf(u);
  if (billing !== undefined) usage.billing = billing;
  return usage;
}

/** `usage` with the service tier the answer was served at (its root `service_tier`), when it names one. */
export function withServiceTier(usage: Usage | null, tier: unknown): Usage | null {
  if (usage === null || typeof tier !== "string" || tier.length === 0) return usage;
  return { ...usage, billing: { ...usage.billing, serviceTier: tier } };
}
