/**
 * What a target that gets the canonical Chat Completions body accepts beyond
 * the common core, and the per-request cache of translations by it: the
 * endpoints that translate (/v1/messages, /v1/responses) translate once per
 * kind of target, and only if such a target is tried.
 */
import type { Json } from "../providers/json.ts";
import type { Attempt } from "../routing/plan.ts";

export interface ChatTarget {
  /** What the target's API calls the output cap. */
  readonly maxTokensField: "max_tokens" | "max_completion_tokens";
  /** Whether it takes `reasoning_effort` (OpenAI's non-reasoning models refuse it with a 400). */
  readonly reasoning: boolean;
}

export function chatTargetOf(attempt: Attempt): ChatTarget {
  const { preset } = attempt.provider;
  return {
    maxTokensField: preset.outputCapField ?? "max_tokens",
    reasoning: preset.adapter !== "openai-compatible" || preset.reasoningModels?.test(attempt.model) === true,
  };
}

/** `translate` of the request for an attempt's kind of target, made once per kind. */
export function translationCache(translate: (target: ChatTarget) => Json): (attempt: Attempt) => Json {
  const made = new Map<string, Json>();
  return (attempt) => {
    const target = chatTargetOf(attempt);
    const key = `${target.maxTokensField}:${target.reasoning}`;
    let translated = made.get(key);
    if (translated === undefined) made.set(key, (translated = translate(target)));
    return translated;
  };
}
