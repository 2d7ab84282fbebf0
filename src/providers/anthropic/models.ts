/**
 * Anthropic requires `max_tokens`; when a client sends none, the gateway asks
 * for the model's own output ceiling (Anthropic's model overview), so a
 * translated request never cuts an answer an OpenAI client expected whole.
 * Matched by prefix so dated snapshots (`claude-sonnet-4-5-20250929`) count.
 */
const MAX_OUTPUT: ReadonlyArray<readonly [string, number]> = [
  ["claude-opus-4-1", 32_000],
  ["claude-opus-4", 32_000],
  ["claude-sonnet-4", 64_000],
  ["claude-haiku-4", 64_000],
  ["claude-3-7-sonnet", 64_000],
  ["claude-3-5-haiku", 8_192],
  ["claude-3-5-sonnet", 8_192],
  ["claude-3-haiku", 4_096],
  ["claude-3-opus", 4_096],
];

/** A ceiling every current Claude model accepts, for models not listed above. */
const FALLBACK_MAX_OUTPUT = 8_192;

export function maxOutputTokens(model: string): number {
  for (const [prefix, tokens] of MAX_OUTPUT) if (model.startsWith(prefix)) return tokens;
  return FALLBACK_MAX_OUTPUT;
}

/** Models that accept an extended-thinking budget (Claude 3.7 Sonnet and the Claude 4 family). */
export function supportsThinking(model: string): boolean {
  return /^claude-(3-7-sonnet|opus-4|sonnet-4|haiku-4)/.test(model);
}

/** Models with structured outputs (`output_config.format`): Claude Opus 4.1, Sonnet 4.5, Haiku 4.5 and every later generation. */
export function supportsStructuredOutputs(model: string): boolean {
  return /^claude-(opus-4-[1-9]|sonnet-4-[5-9]|haiku-4-[5-9]|(opus|sonnet|haiku)-([5-9]|[1-9]\d))(-|$)/.test(model); // `(-|$)`: opus-4-20250514 is Opus 4.0
}
