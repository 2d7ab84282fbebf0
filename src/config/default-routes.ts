import type { Route } from "./schemas.ts";

/**
 * Aliases that exist before anyone configures one, so a fresh deployment (and
 * the local run, where every provider points at the mock) answers at once. A
 * route stored in KV under the same alias replaces the bundled one; deleting
 * it brings the bundled one back. Targets on providers without a key are skipped.
 */
export const DEFAULT_ROUTES: Readonly<Record<string, Route>> = {
  fast: {
    strategy: "fallback",
    description: "Quick, inexpensive chat",
    targets: [
      { provider: "openai", model: "gpt-4o-mini" },
      { provider: "groq", model: "llama-3.1-8b-instant" },
    ],
  },
  smart: {
    strategy: "fallback",
    description: "Stronger reasoning, higher price",
    targets: [
      { provider: "openai", model: "gpt-4.1" },
      { provider: "deepseek", model: "deepseek-chat" },
    ],
  },
  cheap: {
    strategy: "fallback",
    description: "Lowest cost first",
    targets: [
      { provider: "deepseek", model: "deepseek-chat" },
      { provider: "openai", model: "gpt-4o-mini" },
    ],
  },
  embed: {
    strategy: "fallback",
    description: "Text embeddings",
    targets: [{ provider: "openai", model: "text-embedding-3-small" }],
  },
};
