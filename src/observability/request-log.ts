import type { AbandonedCharge, Charge } from "../budgets/charges.ts";
import type { Env } from "../env.ts";
import type { Usage } from "../providers/types.ts";
import type { BackgroundWork } from "../routing/health.ts";
import { nanosToUsd } from "../metering/types.ts";
import { bodiesKey, MAX_QUEUED_BODY_BYTES, storeBodies, type BodyCapture } from "./bodies.ts";
import { enqueueRecord } from "./log-sender.ts";

/** The inbound endpoints a record names. */
export type Endpoint = "chat" | "embeddings" | "messages" | "responses" | "count_tokens" | "models" | "other";

/**
 * One line per request, whatever its outcome, written when it is over (after
 * the stream for streams): answered ones by their endpoint, refused and failed
 * ones by app.onError (requestFailed), so none leaves no trace.
 */
export interface RequestLogEntry {
  requestId: string;
  /** Epoch ms the request arrived. */
  time: number;
  /** The key's id; null when the request was refused before its key was known (401). */
  keyId: string | null;
  /** The end user it was attributed to, if any. */
  user?: string | null;
  endpoint: Endpoint;
  /** The model as the client named it; null when the request was refused before it was read. */
  requested: string | null;
  /** The provider and model that answered (or, for a failure, null). */
  provider: string | null;
  model: string | null;
  stream: boolean;
  attempts: number;
  status: number;
  outcome: string;
  usage: Usage | null;
  /** USD charged for it (null: the model has no known price, or nothing was charged). */
  costUsd: number | null;
  /** Nano-dollars written to the request's ledgers (exact; costUsd is this in dollars, or null when unpriced). */
  costNanos?: number;
  /** Some of the charge is the gateway's estimate: the provider reported no (complete) usage, or calls were billed without an answer. */
  costEstimated: boolean;
  /** The answer's cost by what was billed (input, cachedInput, cacheWrite, cacheWrite1h, audioInput, output, reasoning, audioOutput, fees), USD. */
  costParts?: Readonly<Record<string, number>>;
  /** Calls a provider may bill though they never answered (a hedge that lost, a call abandoned at its deadline), each charged its estimated input. */
  billedWithoutAnswer?: readonly AbandonedCharge[];
  /** What the answer reported that no price covers (`searches ×2`, `service_tier priority`): not in the cost. */
  unpriced?: readonly string[];
  /** What failed before the answer, or before the failure, and why: `openai/gpt-4o=503, anthropic/claude-sonnet-4-5=timeout`. */
  fallbacks?: string;
  /** The alias a budget or the per-request cap degraded the request to. */
  degradedTo?: string | null;
  /** Time to first byte as the client saw it: from arrival to the answer's headers (a stream's first event). */
  ttfbMs?: number | null;
  /** Why the request was flagged as an anomaly (`over_cap`, `over_median`), if it was. */
  anomaly?: string | null;
  /** Where its bodies are kept in R2 (LOG_BODIES), for a key that logs them. */
  bodies?: string;
  /** Bodies riding with the record for the consumer to keep if it flags the request (logBodies "anomalies"); never stored in D1. */
  capturedBodies?: import("./bodies.ts").CapturedBodies;
  /** The error's code (`budget_exceeded`, `rate_limit_exceeded`, `upstream_timeout`, …) for a refused or failed request. */
  errorCode?: string | null;
  durationMs: number;
}

/** What an endpoint knows of a request once it has read it, for the record of its failure. */
export interface RequestFacts {
  readonly endpoint: Endpoint;
  readonly requested?: string | undefined;
  readonly stream?: boolean | undefined;
}

/** The endpoint a path belongs to, for requests refused before their handler ran. */
export function endpointOf(path: string): Endpoint {
  if (path === "/v1/chat/completions") return "chat";
  if (path === "/v1/messages") return "messages";
  if (path === "/v1/responses" || path.startsWith("/v1/responses/")) return "responses";
  if (path === "/v1/messages/count_tokens") return "count_tokens";
  if (path === "/v1/embeddings") return "embeddings";
  if (path === "/v1/models" || path.startsWith("/v1/models/")) return "models";
  return "other";
}

/** The record of an answered request that calls no model (`GET /v1/models`): who asked, and when. */
/** What the record of a request no provider answered says of the answer it did not get. */
const NO_ANSWER = { provider: null, model: null, usage: null, costUsd: null, costEstimated: false } as const;

export function requestServed(sink: RecordSink, input: { requestId: string; time: number; keyId: string | null; endpoint: Endpoint; status: number }): void {
  logRequest(sink, { ...input, ...NO_ANSWER, requested: null, stream: false, attempts: 0, outcome: "completed", durationMs: Date.now() - input.time });
}

/**
 * The record of a request that ended in an error response: refused by the
 * gateway (4xx: key, validation, allow-list, budget, rate limit, size) or
 * failed upstream (5xx), with the error's code, and the attempts and trail the
 * executor put on the error.
 */
export function requestFailed(sink: RecordSink, input: {
  requestId: string;
  time: number;
  keyId: string | null;
  user: string | null;
  /** What the request's abandoned calls were charged (the ledgers have it too), if anything. */
  chargedNanos: number | null;
  facts: RequestFacts;
  status: number;
  code: string | null;
  headers: Readonly<Record<string, string>>;
  durationMs: number;
}): void {
  const attempts = Number(input.headers["x-switchyard-attempts"] ?? 0);
  const trail = input.headers["x-switchyard-fallbacks"];
  logRequest(sink, {
    requestId: input.requestId,
    time: input.time,
    keyId: input.keyId,
    user: input.user,
    endpoint: input.facts.endpoint,
    requested: input.facts.requested ?? null,
    ...NO_ANSWER,
    stream: input.facts.stream ?? false,
    attempts: Number.isFinite(attempts) ? attempts : 0,
    status: input.status,
    outcome: input.status < 500 ? "refused" : "failed",
    errorCode: input.code,
    ...(trail !== undefined && { fallbacks: trail }),
    costUsd: input.chargedNanos === null ? null : nanosToUsd(input.chargedNanos),
    ...(input.chargedNanos !== null && { costNanos: input.chargedNanos }),
    costEstimated: input.chargedNanos !== null,
    durationMs: input.durationMs,
  });
}

/** A charge's fields in the request's record (only those that say something). */
export function chargeFields(charge: Charge): Pick<RequestLogEntry, "costUsd" | "costNanos" | "costEstimated" | "costParts" | "billedWithoutAnswer" | "unpriced" | "anomaly"> {
  return {
    ...(charge.overCap && { anomaly: "over_cap" }),
    costUsd: charge.costUsd,
    costNanos: charge.nanos,
    costEstimated: charge.estimated,
    ...(Object.keys(charge.parts).length > 0 && { costParts: charge.parts }),
    ...(charge.abandoned.length > 0 && { billedWithoutAnswer: charge.abandoned }),
    ...(charge.unpriced.length > 0 && { unpriced: charge.unpriced }),
  };
}

/** Where a record goes: the Worker's bindings, the request's background work and its bodies, if kept (a Hono context is one). */
export interface RecordSink {
  readonly env: Env;
  readonly executionCtx: BackgroundWork;
  readonly var: { readonly bodies?: BodyCapture | undefined };
}

/**
 * The record as it leaves: with its bodies stored now (logBodies "all", or an
 * anomaly known here), or carried for the consumer to store if it flags it.
 */
function withBodies(sink: RecordSink, entry: RequestLogEntry): RequestLogEntry {
  const capture = sink.var.bodies;
  const bucket = sink.env.LOG_BODIES;
  if (capture === undefined || bucket === undefined) return entry;
  if (capture.mode === "all" || (entry.anomaly !== undefined && entry.anomaly !== null)) {
    const key = bodiesKey(entry.requestId, entry.time);
    sink.executionCtx.waitUntil(storeBodies(bucket, key, capture.bodies()).catch((err: unknown) => console.error(JSON.stringify({ msg: "bodies_store_failed", requestId: entry.requestId, error: String(err) }))));
    return { ...entry, bodies: key };
  }
  return { ...entry, capturedBodies: capture.queued() };
}

/**
 * Writes the entry as one JSON line on the Worker's log (Workers Logs /
 * `wrangler tail` pick it up) and, with the LOG_QUEUE binding, sends it to the
 * request log's queue in the background, batched with the isolate's other
 * records (log-sender.ts): the request never waits for it, and a failed send
 * is logged, the console line standing in for it.
 */
export function logRequest(sink: RecordSink, entry: RequestLogEntry): void {
  const line = JSON.stringify({ msg: "request", ...entry });
  console.log(line);
  const queue = sink.env.LOG_QUEUE;
  if (queue === undefined) return;
  const message = withBodies(sink, entry);
  // Bytes, bounded from above without encoding again: 3 per UTF-16 unit, and what bodies may take (bodies.ts).
  const bytes = line.length * 3 + (message.capturedBodies === undefined ? 0 : MAX_QUEUED_BODY_BYTES * 2);
  enqueueRecord(queue, sink.executionCtx, message, bytes);
}
