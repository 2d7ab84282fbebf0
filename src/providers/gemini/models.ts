/** What the adapter needs to know about a Gemini model from its name alone. */

/** The model's own name: `models/gemini-2.5-flash` (the API's resource name) → `gemini-2.5-flash`. */
export const bareModel = (model: string): string => model.replace(/^models\//, "");

/**
 * Gemini 3 and later: they take a `thinkingLevel` (not a budget) and issue an
 * id with every function call. The `-latest` aliases (`gemini-pro-latest`,
 * `gemini-flash-latest`, `gemini-flash-lite-latest`) point at Gemini 3 models.
 */
export function isGemini3OrLater(model: string): boolean {
  const name = bareModel(model);
  return /^gemini-([3-9]|[1-9]\d)(?:[.-]|$)/.test(name) || /^gemini-(?:pro|flash|flash-lite)-latest$/.test(name);
}

/** Gemini 2.5: thinking by token budget (`thinkingBudget`). */
export const isGemini25 = (model: string): boolean => /^gemini-2\.5(?:-|$)/.test(bareModel(model));
