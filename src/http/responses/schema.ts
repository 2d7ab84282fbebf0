import * as z from "zod";
import { modelIdSchema } from "../../config/schemas.ts";
import { MAX_REQUESTED_OUTPUT_TOKENS } from "../../metering/worst-case.ts";

/**
 * What the gateway checks of a Responses API request (`POST /v1/responses`):
 * what routing, metering and translation rely on, never stricter than
 * OpenAI's own rules. Everything else passes through: to OpenAI (and Azure)
 * untouched, to other providers through the translation (request.ts), which
 * refuses what it cannot carry.
 */
export const responsesRequestSchema = z
  .looseObject({
    model: modelIdSchema,
    input: z.union([z.string(), z.array(z.looseObject({}))]).optional(),
    instructions: z.string().nullish(),
    max_output_tokens: z.number().int().positive().max(MAX_REQUESTED_OUTPUT_TOKENS).nullish(),
    stream: z.boolean().nullish(),
    tools: z.array(z.looseObject({ type: z.string() })).optional(),
    store: z.boolean().nullish(),
    previous_response_id: z.string().min(1).max(200).nullish(),
    user: z.string().nullish(),
    safety_identifier: z.string().nullish(),
    metadata: z.record(z.string(), z.string()).nullish(),
    temperature: z.number().nullish(),
    top_p: z.number().nullish(),
  })
  .refine((body) => body.input !== undefined || typeof body.previous_response_id === "string", { message: "'input' is required (a string or a list of input items)", path: ["input"] });

export type ResponsesRequest = z.infer<typeof responsesRequestSchema>;

/** GET /v1/responses/{id}/input_items' query, as OpenAI pages it. */
export const inputItemsQuerySchema = z.looseObject({
  order: z.enum(["asc", "desc"]).default("desc"),
  limit: z.coerce.number().int().min(1).max(100).default(20),
  after: z.string().max(200).optional(),
});
