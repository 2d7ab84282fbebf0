import * as z from "zod";
import { MAX_REQUESTED_OUTPUT_TOKENS } from "../metering/worst-case.ts";
import { modelIdSchema } from "../config/schemas.ts";

/**
 * Client request schemas. They check only what the gateway itself relies on
 * and are loose: every other field passes through to the provider untouched,
 * so a new provider parameter never needs a gateway release.
 */

/** The body's end user: checked in full where it is used (budgets/scopes.ts endUserOf). */
const userField = z.string().nullish();

/** An output cap: no model writes more than MAX_REQUESTED_OUTPUT_TOKENS, and a larger number would only inflate the worst case. */
const tokenCap = z.number().int().positive().max(MAX_REQUESTED_OUTPUT_TOKENS).nullish();

/**
 * Messages are checked by hand, not by a zod schema per message: a long
 * conversation would otherwise be walked and copied on every request. Only
 * what routing and providers universally need is checked: an object with a role.
 */
const messagesSchema = z
  .array(z.unknown())
  .min(1, "at least one message is required")
  .check((ctx) => {
    ctx.value.forEach((message, i) => {
      const role = typeof message === "object" && message !== null ? (message as Record<string, unknown>).role : undefined;
      if (typeof role !== "string" || role.length === 0) {
        ctx.issues.push({ code: "custom", message: "each message needs a 'role' string", path: [i, "role"], input: message });
        return;
      }
      const content = (message as Record<string, unknown>).content;
      if (content !== undefined && content !== null && typeof content !== "string" && !Array.isArray(content)) {
        ctx.issues.push({ code: "custom", message: "'content' must be a string, an array of parts, or null", path: [i, "content"], input: content });
      }
    });
  });

export const chatRequestSchema = z.looseObject({
  model: modelIdSchema,
  messages: messagesSchema,
  stream: z.boolean().nullish(),
  stream_options: z.looseObject({ include_usage: z.boolean().nullish() }).nullish(),
  max_tokens: tokenCap,
  max_completion_tokens: tokenCap,
  n: z.number().int().min(1).max(128).nullish(),
  user: userField,
});
export type ChatRequest = z.infer<typeof chatRequestSchema>;

const embeddingInput = z.union([
  z.string(),
  z.array(z.string()).min(1),
  z.array(z.number()).min(1),
  z.array(z.array(z.number()).min(1)).min(1),
]);

export const embeddingsRequestSchema = z.looseObject({
  model: modelIdSchema,
  input: embeddingInput,
  user: userField,
});
