import * as z from "zod";

/**
 * Client request schemas. They check only what the gateway itself relies on
 * and are loose: every other field passes through to the provider untouched,
 * so a new provider parameter never needs a gateway release.
 */

const tokenCap = z.number().int().positive().nullish();

const messageSchema = z.looseObject({
  role: z.string().min(1),
  content: z.union([z.string(), z.array(z.unknown()), z.null()]).optional(),
});

export const chatRequestSchema = z.looseObject({
  model: z.string().min(1),
  messages: z.array(messageSchema).min(1, "at least one message is required"),
  stream: z.boolean().nullish(),
  stream_options: z.looseObject({ include_usage: z.boolean().nullish() }).nullish(),
  max_tokens: tokenCap,
  max_completion_tokens: tokenCap,
  n: z.number().int().min(1).max(128).nullish(),
  user: z.string().max(512).nullish(),
});
export type ChatRequest = z.infer<typeof chatRequestSchema>;

const embeddingInput = z.union([
  z.string(),
  z.array(z.string()).min(1),
  z.array(z.number()).min(1),
  z.array(z.array(z.number()).min(1)).min(1),
]);

export const embeddingsRequestSchema = z.looseObject({
  model: z.string().min(1),
  input: embeddingInput,
  user: z.string().max(512).nullish(),
});
