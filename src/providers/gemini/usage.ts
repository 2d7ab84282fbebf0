import { isObject, type Json } from "../json.ts";
import type { Usage } from "../types.ts";
import { tokenCount } from "../usage.ts";

const count = tokenCount;

/**
 * Gemini's `usageMetadata` → normalised usage (DESIGN.md). `promptTokenCount`
 * already includes the cached content (`cachedContentTokenCount` is a part of
 * it); tool-use prompts (`toolUsePromptTokenCount`) and thoughts
 * (`thoughtsTokenCount`) are counted apart, so they are added to input and
 * output. Null when no counts were reported (unknown, not free).
 */
export function normaliseGeminiUsage(raw: unknown): Usage | null {
  if (!isObject(raw) || (typeof raw.promptTokenCount !== "number" && typeof raw.candidatesTokenCount !== "number")) return null;
  const prompt = count(raw.promptTokenCount) + count(raw.toolUsePromptTokenCount);
  const reasoning = count(raw.thoughtsTokenCount);
  const completion = count(raw.candidatesTokenCount) + reasoning;
  const usage: Usage = {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt + completion,
    prompt_tokens_details: { cached_tokens: count(raw.cachedContentTokenCount) },
    completion_tokens_details: { reasoning_tokens: reasoning },
  };
  // Audio is billed at its own rate; audio read from the cache is billed as a cache read, like any other.
  const audioIn = Math.max(0, audioTokens(raw.promptTokensDetails) + audioTokens(raw.toolUsePromptTokensDetails) - audioTokens(raw.cacheTokensDetails));
  const audioOut = audioTokens(raw.candidatesTokensDetails);
  if (audioIn > 0) usage.prompt_tokens_details = { ...usage.prompt_tokens_details, audio_tokens: audioIn };
  if (audioOut > 0) usage.completion_tokens_details = { ...usage.completion_tokens_details, audio_tokens: audioOut };
  return usage;
}

/** The AUDIO entry of a per-modality token list (`[{"modality":"AUDIO","tokenCount":800}, …]`). */
function audioTokens(details: unknown): number {
  if (!Array.isArray(details)) return 0;
  let tokens = 0;
  for (const d of details) if (isObject(d) && d.modality === "AUDIO") tokens += count(d.tokenCount);
  return tokens;
}

/** Gemini finish reasons that mean the answer was withheld or cut for its content. */
const FILTERED = new Set([
  "SAFETY", "RECITATION", "LANGUAGE", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII",
  "IMAGE_SAFETY", "IMAGE_PROHIBITED_CONTENT", "IMAGE_RECITATION",
]);

/** Gemini `finishReason` → OpenAI `finish_reason` (null while the candidate is unfinished). */
export function finishReason(reason: unknown, calledTools: boolean): string | null {
  if (typeof reason !== "string" || reason === "FINISH_REASON_UNSPECIFIED") return null;
  if (reason === "MAX_TOKENS") return "length";
  if (FILTERED.has(reason)) return "content_filter";
  // STOP, and the rest (OTHER, a failure after some content, …): the model stopped; OpenAI has no closer word.
  return calledTools ? "tool_calls" : "stop";
}

/** Finish reasons of a model that failed to answer (a broken or unexpected tool call, a missing thought signature). */
const FAILED = new Set(["MALFORMED_FUNCTION_CALL", "UNEXPECTED_TOOL_CALL", "TOO_MANY_TOOL_CALLS", "MISSING_THOUGHT_SIGNATURE", "MALFORMED_RESPONSE"]);

/**
 * Why a candidate that ended without an answer (no text, no tool call:
 * `answered` false) failed, or null if it did not. Such an ending is the
 * provider's failure, never a silent empty "stop".
 */
export function failureWithoutAnswer(candidate: Json, answered: boolean): string | null {
  const reason = candidate.finishReason;
  if (answered || typeof reason !== "string" || !FAILED.has(reason)) return null;
  const said = typeof candidate.finishMessage === "string" && candidate.finishMessage.length > 0 ? ` (${candidate.finishMessage})` : "";
  return `Gemini ended its answer with ${reason} before any text or tool call${said}.`;
}
