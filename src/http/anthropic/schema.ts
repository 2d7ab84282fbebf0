import * as z from "zod";
import { MAX_REQUESTED_OUTPUT_TOKENS } from "../../metering/worst-case.ts";
import { modelIdSchema } from "../../config/schemas.ts";

/**
 * What the gateway checks of an Anthropic Messages request: what routing and
 * translation rely on, with Anthropic's own rules for them (`max_tokens` is
 * required, roles are `user` or `assistant`, the system prompt is a separate
 * field). Everything else passes through: to Anthropic untouched, to other
 * providers through the translation, which refuses what it cannot carry.
 */
const messagesSchema = z
  .array(z.unknown())
  .min(1, "at least one message is required")
  .check((ctx) => {
    ctx.value.forEach((message, i) => {
      const m = typeof message === "object" && message !== null ? (message as Record<string, unknown>) : {};
      if (m.role !== "user" && m.role !== "assistant") {
        ctx.issues.push({ code: "custom", message: "each message's role must be 'user' or 'assistant' (the system prompt is the top-level 'system' field)", path: [i, "role"], input: message });
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
