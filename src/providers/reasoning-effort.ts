/**
 * OpenAI's `reasoning_effort` → a thinking budget in tokens, for providers
 * that take one (Anthropic, Claude on Bedrock). Looked up as an own key: a
 * plain object's inherited names (`constructor`, `toString`) are not efforts.
 */
import { invalidRequest } from "../http/errors.ts";

/** The budget `effort` stands for; undefined when unset or "none" (no thinking). Any other value is refused, as OpenAI refuses it. */
export function effortBudget(budgets: Readonly<Record<string, number>>, effort: unknown): number | undefined {
  if (effort === undefined || effort === null || effort === "none") return undefined;
  if (typeof effort === "string" && Object.hasOwn(budgets, effort)) return budgets[effort];
  throw invalidRequest(`'reasoning_effort' must be one of none, ${Object.keys(budgets).join(", ")}.`, "reasoning_effort", "invalid_value");
}
