/**
 * Rate-limit configuration (issue 6): what a key's `limits` and a route
 * target's `limits` accept, and its one normalised form. The shorthand
 * `{"rpm": 60, "tpm": 100000}` means a sliding window of one minute for
 * requests and for tokens; the full form names each rule's limit, window and
 * algorithm.
 */
import * as z from "zod";

/** A window in @upstash/ratelimit's Duration syntax: `10 s`, `1 m`, `1 h`, `1 d` (space optional). */
const windowSchema = z
  .string()
  .regex(/^\d{1,7}\s?(ms|s|m|h|d)$/, "a window is a number and a unit: ms, s, m, h or d (e.g. '1 m', '10 s')");

export const limitRuleSchema = z.strictObject({
  limit: z.number().int().positive().max(1e12),
  window: windowSchema.default("1 m"),
  /** sliding-window (default): smooth; fixed-window: cheapest; token-bucket: bursts up to `limit`, refilled by `refillRate` per window. */
  algorithm: z.enum(["sliding-window", "fixed-window", "token-bucket"]).default("sliding-window"),
  /** Token bucket only: what each window adds back (default: `limit`). */
  refillRate: z.number().int().positive().max(1e12).optional(),
});
export type LimitRule = z.infer<typeof limitRuleSchema>;

const pairFields = {
  rpm: z.number().int().positive().max(1e9).optional(),
  tpm: z.number().int().positive().max(1e12).optional(),
  requests: limitRuleSchema.optional(),
  tokens: limitRuleSchema.optional(),
};
type PairFields = { rpm?: number | undefined; tpm?: number | undefined; requests?: unknown; tokens?: unknown };
const eachMeasureOnce = (p: PairFields): boolean => !(p.rpm !== undefined && p.requests !== undefined) && !(p.tpm !== undefined && p.tokens !== undefined);
const ONCE = { message: "give each measure once: 'rpm' or 'requests', 'tpm' or 'tokens'" };

/** Requests and tokens per window, in shorthand (`rpm`, `tpm`) or in full (`requests`, `tokens`), not both for one measure. */
export const limitPairSchema = z.strictObject(pairFields).refine(eachMeasureOnce, ONCE);
export type LimitPair = z.infer<typeof limitPairSchema>;

/** A key's limits: its own, each of its end users', and per requested model (alias, `provider/model` or `provider/*`). */
export const keyLimitsSchema = z
  .strictObject({
    ...pairFields,
    perUser: limitPairSchema.optional(),
    perModel: z.record(z.string().min(1).max(200), limitPairSchema).optional(),
  })
  .refine(eachMeasureOnce, ONCE);
export type KeyLimits = z.infer<typeof keyLimitsSchema>;

/** The one form the limiter works with. */
export interface Limits {
  readonly requests?: LimitRule | undefined;
  readonly tokens?: LimitRule | undefined;
}

const perMinute = (limit: number): LimitRule => ({ limit, window: "1 m", algorithm: "sliding-window" });

export function normaliseLimits(pair: { rpm?: number | undefined; tpm?: number | undefined; requests?: LimitRule | undefined; tokens?: LimitRule | undefined }): Limits {
  return {
    requests: pair.requests ?? (pair.rpm === undefined ? undefined : perMinute(pair.rpm)),
    tokens: pair.tokens ?? (pair.tpm === undefined ? undefined : perMinute(pair.tpm)),
  };
}
