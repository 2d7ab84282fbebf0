import type { Usage } from "../types.ts";
import { usageFromSeparateCacheCounts } from "../usage.ts";
import { finishReason as anthropicFinishReason } from "../anthropic/usage.ts";

/**
 * Converse's TokenUsage → normalised usage. Like Anthropic's, Bedrock's
 * `inputTokens` leaves out the cache reads and writes, which it reports beside
 * it. Reasoning is not broken out of `outputTokens`.
 */
export function normaliseConverseUsage(raw: unknown): Usage | null {
  if (typeof raw !== "object" || raw === null) return null;
  const u = raw as Record<string, unknown>;
  return usageFromSeparateCacheCounts({ input: u.inputTokens, output: u.outputTokens, cacheRead: u.cacheReadInputTokens, cacheWrite: u.cacheWriteInputTokens });
}

/** Converse `stopReason` → OpenAI `finish_reason`: Anthropic's reasons, plus Bedrock's guardrail ones. */
export function finishReason(stopReason: unknown): string | null {
  return stopReason === "guardrail_intervened" || stopReason === "content_filtered" ? "content_filter" : anthropicFinishReason(stopReason);
}
