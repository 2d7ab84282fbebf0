/**
 * OpenAI's `reasoning_effort` → Gemini's `thinkingConfig`. Gemini 3 models
 * take a `thinkingLevel` (Pro: low/high; Flash also minimal/medium) and cannot
 * turn thinking off; Gemini 2.5 models take a token `thinkingBudget` (Pro:
 * 128–32,768, never 0; Flash and Flash-Lite: 0–24,576, 0 turns it off).
 * Sending both, or a level to a 2.5 model, is a 400, so the model decides.
 */
import { invalidRequest } from "../../http/errors.ts";
import type { Json } from "../json.ts";
import { bareModel, isGemini25, isGemini3OrLater } from "./models.ts";

const EFFORTS = new Set(["none", "minimal", "low", "medium", "high"]);

/** 2.5 budgets per effort; Pro's floor is 128 (it cannot think less). */
const BUDGET: Record<string, number> = { none: 0, minimal: 512, low: 1024, medium: 8192, high: 24576 };

function gemini3Level(model: string, effort: string): string {
  const flash = model.includes("flash");
  if (effort === "none" || effort === "minimal") return flash ? "minimal" : "low";
  if (effort === "medium") return flash ? "medium" : "high";
  return effort; // low, high
}

/** The `thinkingConfig` for a `reasoning_effort`, or undefined for models without thinking (Gemini 2.0 and older). */
export function thinkingConfig(model: string, effort: unknown): Json | undefined {
  if (effort === undefined || effort === null) return undefined;
  if (typeof effort !== "string" || !EFFORTS.has(effort)) {
    throw invalidRequest(`'reasoning_effort' must be one of ${[...EFFORTS].join(", ")} for Gemini models.`, "reasoning_effort", "invalid_value");
  }
  const name = bareModel(model);
  // Thought summaries come back as `reasoning_content`; with thinking off there are none to ask for.
  if (isGemini3OrLater(name)) return { thinkingLevel: gemini3Level(name, effort), includeThoughts: true };
  if (isGemini25(name)) {
    const pro = name.includes("pro");
    const budget = pro ? Math.max(BUDGET[effort] ?? 0, 128) : (BUDGET[effort] ?? 0);
    return budget === 0 ? { thinkingBudget: 0 } : { thinkingBudget: budget, includeThoughts: true };
  }
  return undefined;
}
