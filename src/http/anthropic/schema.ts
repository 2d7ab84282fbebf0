import * as z from "zod";
import { MAX_REQUESTED_OUTPUT_TOKENS } from "../../metering/worst-case.ts";
import { modelIdSchema } from "../../config/schemas.ts";

/**
 * What the gateway checks of an Anthropic Messages request: only what routing,
 * metering and translation rely on, never a rule stricter than Anthropic's own
 * (`max_tokens` is required, each message has a role and content). Roles are
 * not limited to `user` and `assistant`: Claude Code sends `system` turns
 * inside `messages`, and Anthropic takes new roles before this gateway knows
 * them. Everything else passes through: to Anthropic untouched, to other
 * providers through the translation, which refuses what it cannot carry.
 */
const messagesSchema = z
  .array(z.unknown())
  .min(1, "at least one message is required")
  .check((ctx) => {
    ctx.value.forEach((message, i) => {
      const m = typeof message === "object" && message !== null ? (message as Record<string, unknown>) : {};
      if (typeof m.role !== "string" || m.role.length === 0) {
        ctx.issues.push({ code: "custom", message: "each message needs a 'role' ('user' or 'assistant'; the system prompt is the top-level 'system' field)", path: [i, "role"], input: message });
        return;
      }
      if (typeof m.content !== "string" && !Array.isArray(m.content)) {
        ctx.issues.push({ code: "custom", message: "'content' must be a string or an array of content blocks", path: [i, "content"], input: m.content });
      }
    });
  });

export const messagesRequestSchema = z.looseObject({
  model: modelIdSchema,
  max_tokens: z.number().int().positive().max(MAX_REQUESTED_OUTPUT_TOKENS),
  messages: messagesSchema,
  system: z.union([z.string(), z.array(z.looseObject({ type: z.string() }))]).optional(),
  stream: z.boolean().optional(),
  stop_sequences: z.array(z.string()).optional(),
  tools: z.array(z.looseObject({})).optional(),
  metadata: z.looseObject({ user_id: z.string().nullish() }).optional(),
});

/** count_tokens takes a Messages request without `max_tokens`. */
export const countTokensRequestSchema = messagesRequestSchema.omit({ max_tokens: true });
