import type { AbandonedCharge, Charge } from "../budgets/charges.ts";
import type { Usage } from "../providers/types.ts";

/** One line per request, written when it is over (after the stream for streams). */
export interface RequestLogEntry {
  requestId: string;
  keyId: string;
  endpoint: "chat" | "embeddings" | "messages";
  requested: string;
  provider: string;
  model: string;
  stream: boolean;
  attempts: number;
  status: number;
  outcome: string;
  usage: Usage | null;
  /** USD charged for it (null: the model has no known price, or nothing was charged). */
  costUsd: number | null;
  /** Some of the charge is the gateway's estimate: the provider reported no (complete) usage, or calls were billed without an answer. */
  costEstimated: boolean;
  /** The answer's cost by what was billed (input, cachedInput, cacheWrite, cacheWrite1h, audioInput, output, reasoning, audioOutput, fees), USD. */
  costParts?: Readonly<Record<string, number>>;
  /** Calls a provider may bill though they never answered (a hedge that lost, a call abandoned at its deadline), each charged its estimated input. */
  billedWithoutAnswer?: readonly AbandonedCharge[];
  /** What the answer reported that no price covers (`searches ×2`, `service_tier priority`): not in the cost. */
  unpriced?: readonly string[];
  durationMs: number;
}

/** A charge's fields in the request's record (only those that say something). */
export function chargeFields(charge: Charge): Pick<RequestLogEntry, "costUsd" | "costEstimated" | "costParts" | "billedWithoutAnswer" | "unpriced"> {
  return {
    costUsd: charge.costUsd,
    costEstimated: charge.estimated,
    ...(Object.keys(charge.parts).length > 0 && { costParts: charge.parts }),
    ...(charge.abandoned.length > 0 && { billedWithoutAnswer: charge.abandoned }),
    ...(charge.unpriced.length > 0 && { unpriced: charge.unpriced }),
  };
}

/**
 * Writes the entry as one JSON line on the Worker's log (Workers Logs / `wrangler
 * tail` pick it up). Sinks with more reach (a queue, an analytics store) hang off
 * this one function later.
 */
export function logRequest(entry: RequestLogEntry): void {
  console.log(JSON.stringify({ msg: "request", ...entry }));
}
