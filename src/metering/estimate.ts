import type { Usage } from "../providers/types.ts";
import { BYTES_PER_TOKEN } from "./input-bound.ts";

/**
 * Usage the provider did not report in full (a stream cut short, a client that
 * left, a provider that sends none, an answer that could not be read, a call
 * abandoned at its deadline), estimated: the reported counts where they exist
 * (a stream's opening usage gives the prompt), else `promptTokens`, the
 * request's input estimate on this target (the same walk as its reservation's
 * bound, capped at the context window); output at least `outputTokens` (one
 * token per content write streamed, or the answer's size), at most the
 * target's output cap. Never zero for a request that reached a provider:
 * missing usage is unknown, not free (DESIGN.md).
 */
export function estimatedUsage(reported: Usage | null, estimate: { promptTokens: number; outputTokens: number; outputCap: number }): Usage {
  const prompt = reported !== null && reported.prompt_tokens > 0 ? reported.prompt_tokens : Math.max(1, estimate.promptTokens);
  const completion = Math.min(Math.max(reported?.completion_tokens ?? 0, estimate.outputTokens), Math.max(estimate.outputCap, reported?.completion_tokens ?? 0));
  return { ...reported, prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
}

/** Output tokens estimated from a non-streamed answer's size. */
export const tokensInBytes = (bytes: number): number => Math.ceil(bytes / BYTES_PER_TOKEN);
