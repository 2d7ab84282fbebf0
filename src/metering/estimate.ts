import type { Usage } from "../providers/types.ts";

/**
 * Bytes of request or answer per token, for estimates only (never for the
 * worst case, which counts one token per byte): English text runs about four
 * characters per token, and JSON framing counted as text errs on the high side.
 */
const BYTES_PER_TOKEN = 4;

/**
 * Usage the provider did not report in full (a stream cut short, a client that
 * left, a provider that sends none), estimated from what was sent and what was
 * streamed: the reported counts where they exist (a stream's opening usage
 * gives the prompt), else the request's size; at least one token per content
 * write streamed. Never zero for a request that reached a provider: missing
 * usage is unknown, not free (DESIGN.md).
 */
export function estimatedUsage(reported: Usage | null, requestBytes: number, streamedTokens: number): Usage {
  const prompt = reported !== null && reported.prompt_tokens > 0 ? reported.prompt_tokens : Math.max(1, Math.ceil(requestBytes / BYTES_PER_TOKEN));
  const completion = Math.max(reported?.completion_tokens ?? 0, streamedTokens);
  return { ...reported, prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
}

/** Output tokens estimated from a non-streamed answer's size. */
export const tokensInBytes = (bytes: number): number => Math.ceil(bytes / BYTES_PER_TOKEN);
