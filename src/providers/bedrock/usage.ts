import type { Usage } from "../types.ts";
import { usageFromSeparateCacheCounts } from "../usage.ts";

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

/** Converse `stopReason` → OpenAI `finish_reason`. */
export function finishReason(stopReason: unknown): string | null {
  switch (stopReason) {
    case "end_turn":
    case "stop_sequence":
      return "stop";
    case "max_tokens":
    case "model_context_window_exceeded":
      return "length";
    case "tool_use":
      return "tool_calls";
    case "guardrail_intervened":
    case "content_filtered":
      return "content_filter";
    case null:
    case undefined:
      return null;
    default:
      return "stop";
  }
}
