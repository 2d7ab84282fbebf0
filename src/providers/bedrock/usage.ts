import type { Usage } from "../types.ts";

const count = (v: unknown): number => (typeof v === "number" && Number.isFinite(v) && v >= 0 ? v : 0);

/**
 * Converse's TokenUsage → normalised usage. Like Anthropic's, Bedrock's
 * `inputTokens` leaves out the cache reads and writes, which it reports beside
 * it; the gateway's prompt_tokens is all input (DESIGN.md), so the three are
 * summed. Reasoning is not broken out of `outputTokens`. Null when no counts
 * were reported (unknown, not free).
 */
export function normaliseConverseUsage(raw: unknown): Usage | null {
  if (typeof raw !== "object" || raw === null) return null;
  const u = raw as Record<string, unknown>;
  if (typeof u.inputTokens !== "number" && typeof u.outputTokens !== "number") return null;
  const cacheRead = count(u.cacheReadInputTokens);
  const cacheWrite = count(u.cacheWriteInputTokens);
  const prompt = count(u.inputTokens) + cacheRead + cacheWrite;
  const completion = count(u.outputTokens);
  return {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt + completion,
    prompt_tokens_details: { cached_tokens: cacheRead, cache_write_tokens: cacheWrite },
  };
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
