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
  /** The charge is the gateway's estimate: the provider reported no (complete) usage. */
  costEstimated: boolean;
  durationMs: number;
}

/**
 * Writes the entry as one JSON line on the Worker's log (Workers Logs / `wrangler
 * tail` pick it up). Sinks with more reach (a queue, an analytics store) hang off
 * this one function later.
 */
export function logRequest(entry: RequestLogEntry): void {
  console.log(JSON.stringify({ msg: "request", ...entry }));
}
