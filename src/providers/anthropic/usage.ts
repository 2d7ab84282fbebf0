import { isSafeKey } from "../json.ts";
import type { Usage, UsageBilling } from "../types.ts";
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
  const billing = serverToolUses(u.server_tool_use);
  if (usage !== null && billing !== undefined) usage.billing = billing;
  return usage;
}

/** Server tools that are free beyond their tokens (web fetch); any other use the gateway has no price for is reported as such. */
const FREE_USES = new Set(["web_fetch_requests"]);

/** `server_tool_use`: web searches are billed per search ($10 per 1,000); other counts are reported. */
function serverToolUses(raw: unknown): UsageBilling | undefined {
  if (typeof raw !== "object" || raw === null) return undefined;
  const billing: UsageBilling = {};
  const other: Record<string, number> = {};
  for (const [name, value] of Object.entries(raw)) {
    const n = tokenCount(value);
    if (n <= 0 || !isSafeKey(name)) continue;
    if (name === "web_search_requests") billing.searches = n;
    else if (!FREE_USES.has(name)) other[name] = n;
  }
  if (Object.keys(other).length > 0) billing.otherUses = other;
  return Object.keys(billing).length > 0 ? billing : undefined;
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
