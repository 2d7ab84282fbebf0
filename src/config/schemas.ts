import * as z from "zod";
import { keyLimitsSchema, limitPairSchema } from "../limits/config.ts";
import { endUserProblem } from "../budgets/scopes.ts";

/**
 * Admin-side schemas. These are strict (unknown fields are refused) because a
 * typo in a route or key should fail loudly at write time, not silently at
 * request time. Client request schemas live in src/http/ and are loose.
 */

export const aliasNameSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/, "an alias is 1–64 letters, digits, '.', '_', ':' or '-', with no '/'");

/**
 * A target's price in USD per million tokens, as configured on the route: the
 * `cheapest` strategy orders by it, or by the bundled price table without one.
 */
export const targetPriceSchema = z.strictObject({
  input: z.number().nonnegative(),
  output: z.number().nonnegative(),
});

/**
 * A model id (a provider's own, or `provider/model`, an alias): it reaches
 * response headers, KV keys (512 bytes at most) and logs, so it is printable
 * ASCII (every provider's model ids are) and at most 256 characters.
 */
export const modelIdSchema = z
  .string()
  .min(1)
  .max(256, "a model name is at most 256 characters")
  .regex(/^[\x20-\x7e]+$/, "a model name is printable ASCII (no control characters, line breaks or non-ASCII letters)");

export const routeTargetSchema = z.strictObject({
  provider: z.string().min(1),
  model: modelIdSchema,
  /** Share of first picks under the `weighted` strategy (default 1; 0 = fallback only, never first). */
  weight: z.number().nonnegative().optional(),
  /** Give up on this target if no first byte arrives within this time. */
  ttfbTimeoutMs: z.number().int().positive().max(600_000).optional(),
  /** Tries on this target before moving to the next. */
  maxAttempts: z.number().int().min(1).max(10).optional(),
  /** Read by the `cheapest` strategy; targets without one go after those with one. */
  price: targetPriceSchema.optional(),
  /** The provider's own limits for this target (its published RPM/TPM): a target without headroom is skipped, not called. */
  limits: limitPairSchema.optional(),
});

const WEIGHTED_NEEDS_A_WEIGHT =
  "a 'weighted' route needs at least one target with a positive weight (weight defaults to 1; 0 means fallback only)";

export const routeSchema = z
  .strictObject({
    strategy: z.enum(["fallback", "weighted", "cheapest", "fastest"]).default("fallback"),
    targets: z.array(routeTargetSchema).min(1).max(16),
    /** Total deadline for the request across every attempt. */
    timeoutMs: z.number().int().positive().max(900_000).optional(),
    /** Start the next target in parallel when the current one is this slow to answer. */
    hedgeAfterMs: z.number().int().positive().max(600_000).optional(),
    description: z.string().max(500).optional(),
  })
  // Only weight-0 targets would leave the weighted draw with nothing to pick from.
  .refine((route) => route.strategy !== "weighted" || route.targets.some((t) => (t.weight ?? 1) > 0), {
    message: WEIGHTED_NEEDS_A_WEIGHT,
    path: ["targets"],
  });

export type TargetPrice = z.infer<typeof targetPriceSchema>;
export type RouteTarget = z.infer<typeof routeTargetSchema>;
export type Route = z.infer<typeof routeSchema>;
export type RouteStrategy = Route["strategy"];

/** A model allow-list entry: an alias, `provider/model`, or `provider/*`. */
const modelPatternSchema = modelIdSchema.max(200);

/** A key's spending rules, besides the budgets of its scope (`/admin/budgets/key:<id>`). */
const keySpendingFields = {
  /** A request whose worst-case cost is above this is refused (or served by `degradeTo`); one whose actual cost is above it raises an alert. */
  maxCostPerRequestUsd: z.number().positive().max(10_000).optional(),
  /** Serve models without a known price even under a hard budget (their cost is then unknown, not zero). */
  allowUnpriced: z.boolean().optional(),
  /** Alias that serves a request whose worst case is above `maxCostPerRequestUsd`, instead of refusing it. */
  degradeTo: z.string().min(1).max(64).optional(),
  /** Receives a JSON POST when a request's actual cost is above `maxCostPerRequestUsd`. */
  alertWebhook: z.url({ protocol: /^https?$/ }).optional(),
  /** Rate limits: `{"rpm", "tpm"}` or the full form with per-user and per-model limits (src/limits/config.ts). */
  limits: keyLimitsSchema.optional(),
  /** Keep request and response bodies in R2: for every request ("all"), for the anomalies only, or not at all (default). */
  logBodies: z.enum(["off", "anomalies", "all"]).optional(),
  /** Keep /v1/responses answers the gateway made (for `previous_response_id`), as clients ask by default; false keeps none. */
  storeResponses: z.boolean().optional(),
  /** Refuse (400) requests that name no end user: per-user budgets and limits then bind every request. */
  requireEndUser: z.boolean().optional(),
  /** Every request of the key is attributed to this end user, whatever it sends (a key minted per customer). */
  pinEndUser: z
    .string()
    .min(1)
    .refine((user) => endUserProblem(user) === null, "an end-user id is at most 256 bytes, without control characters")
    .optional(),
};

export const createKeySchema = z.strictObject({
  name: z.string().min(1).max(100),
  models: z.array(modelPatternSchema).max(500).optional(),
  ...keySpendingFields,
});
export type CreateKeyInput = z.infer<typeof createKeySchema>;

/** PATCH /admin/keys/:id: any field of a key but its secret; `null` clears an optional one. */
export const updateKeySchema = z.strictObject({
  name: z.string().min(1).max(100).optional(),
  models: z.array(modelPatternSchema).max(500).nullable().optional(),
  maxCostPerRequestUsd: keySpendingFields.maxCostPerRequestUsd.nullable(),
  allowUnpriced: keySpendingFields.allowUnpriced.nullable(),
  degradeTo: keySpendingFields.degradeTo.nullable(),
  alertWebhook: keySpendingFields.alertWebhook.nullable(),
  limits: keySpendingFields.limits.nullable(),
  requireEndUser: keySpendingFields.requireEndUser.nullable(),
  logBodies: keySpendingFields.logBodies.nullable(),
  storeResponses: keySpendingFields.storeResponses.nullable(),
  pinEndUser: keySpendingFields.pinEndUser.nullable(),
});
export type UpdateKeyInput = z.infer<typeof updateKeySchema>;

/** What KV holds for a gateway key, under `key:<sha256 of the secret>`. */
export const keyRecordSchema = z.object({
  id: z.string(),
  name: z.string(),
  models: z.array(z.string()).nullable(),
  /** The secret's first characters, so people can tell their keys apart. */
  prefix: z.string(),
  createdAt: z.string(),
  ...keySpendingFields,
});
export type KeyRecord = z.infer<typeof keyRecordSchema>;

/** Turns a zod failure into one sentence a person can act on. */
export function describeIssues(error: z.ZodError): { message: string; param: string | null } {
  const issue = error.issues[0];
  if (issue === undefined) return { message: "Invalid request body.", param: null };
  const param = formatPath(issue.path);
  return { message: param === null ? issue.message : `Invalid '${param}': ${issue.message}`, param };
}

export function formatPath(path: readonly PropertyKey[]): string | null {
  let out = "";
  for (const part of path) {
    if (typeof part === "number") out += `[${part}]`;
    else out += out.length === 0 ? String(part) : `.${String(part)}`;
  }
  return out.length === 0 ? null : out;
}
