import type { Usage } from "../types.ts";
import { tokenCount, usageFromSeparateCacheCounts } from "../usage.ts";

/**
 * Anthropic reports input tokens apart from cache reads and writes (summed into
 * prompt_tokens, as DESIGN.md's usage means all input). `cache_creation` splits
 * the writes by TTL; the 1-hour ones are kept apart because they cost more.
 */
export function normaliseAnthropicUsage(raw: unknown): Usage | null {
  if (typeof raw !== "object" || raw === null) return null;
  const u = raw as Record<string, unknown>;
  const usage = usageFromSeparateCacheCounts({ input: u.input_tokens, output: u.output_tokens, cacheRead: u.cache_read_input_tokens, cacheWrite: u.cache_creation_input_tokens });
  const byTtl = u.cache_creation;
  const writes1h = typeof byTtl === "object" && byTtl !== null ? tokenCount((byTtl as Record<string, unknown>).ephemeral_1h_input_tokens) : 0;
  if (usage?.prompt_tokens_details !== undefined && writes1h > 0) {
    usage.prompt_tokens_details.cache_write_1h_tokens = Math.min(writes1h, usage.prompt_tokens_details.cache_write_tokens ?? 0);
  }
  return usage;
}

/** Anthropic `stop_reason` → OpenAI `finish_reason`. */
export function finishReason(stopReason: unknown): string | null {
  switch (stopReason) {
    case "end_turn":
    case "stop_sequence":
    case "pause_turn":
      return "stop";
    case "max_tokens":
    case "model_context_window_exceeded":
      return "length";
    case "tool_use":
      return "tool_calls";
    case "refusal":
      return "content_filter";
    case null:
    case undefined:
      return null;
    default:
      return "stop";
  }
}
