import type { Env } from "../env.ts";
import type { JsonShapeLimits } from "../http/json-shape.ts";

/** The gateway's tunables from `[vars]`, parsed once per isolate rather than once per request. */
export interface Settings {
  /** Largest request body accepted (413 above it). */
  maxRequestBytes: number;
  /** How much structure a JSON body may have (objects and arrays, values, depth), checked before it is parsed. */
  jsonShape: JsonShapeLimits;
  /** Largest non-streamed answer held in memory to be read and charged (a 502 above it). */
  maxAnswerBytes: number;
  /** Deadline for a stream's first byte, or a whole non-streamed answer (504 after it). */
  upstreamTimeoutMs: number;
  /** Longest silence inside a stream before it is closed with an error event. */
  streamIdleTimeoutMs: number;
  /** How long a budget reservation may stay unsettled before its ledger charges it (the isolate holding it is taken for dead). */
  reservationTtlMs: number;
  /** How long a budget lease lasts unrenewed (budgets/lease-holder.ts): at most 30 s, the bound on how long a budget change takes to reach every isolate. */
  leaseTtlMs: number;
  /**
   * `max_tool_calls` given a Responses request that offers OpenAI's per-call tools and sets none:
   * its searches are then bounded by this count, not by its output cap (8 tokens a search), which
   * for an agent that sets no cap (Codex) is a worst case of thousands of searches no budget admits.
   */
  responsesMaxToolCalls: number;
}

const DEFAULTS: Settings = {
  maxRequestBytes: 10 * 1024 * 1024,
  // Generous for real requests (a 2,000-turn conversation of multi-part messages, OpenAI's 300,000-token
  // embeddings batches), and a worst accepted body stays under ~50 MB of heap (README "Security").
  jsonShape: { maxContainers: 100_000, maxValues: 500_000, maxDepth: 128 },
  // Holds a 2,048-input embeddings batch at 3,072 dimensions in base64, the SDKs' default encoding.
  maxAnswerBytes: 48 * 1024 * 1024,
  upstreamTimeoutMs: 120_000,
  streamIdleTimeoutMs: 60_000,
  // Longer than any request should take: a long stream that outlives it is charged its worst case, then corrected when it settles.
  reservationTtlMs: 15 * 60_000,
  leaseTtlMs: 30_000,
  // Each call may cost a search fee and a model pass over the whole context (worst-case.ts): 8 searches on
  // gpt-5-codex bound a turn at $4.42, where an agent's turn runs one or two.
  responsesMaxToolCalls: 8,
};

function positive(value: string | undefined, fallback: number): number {
  const n = Number(value);
  return value !== undefined && Number.isFinite(n) && n > 0 ? n : fallback;
}

const byEnv = new WeakMap<Env, Settings>();

export function settingsFor(env: Env): Settings {
  let settings = byEnv.get(env);
  if (settings === undefined) {
    settings = {
      maxRequestBytes: positive(env.MAX_REQUEST_BYTES, DEFAULTS.maxRequestBytes),
      jsonShape: {
        maxContainers: positive(env.MAX_JSON_CONTAINERS, DEFAULTS.jsonShape.maxContainers),
        maxValues: positive(env.MAX_JSON_VALUES, DEFAULTS.jsonShape.maxValues),
        maxDepth: positive(env.MAX_JSON_DEPTH, DEFAULTS.jsonShape.maxDepth),
      },
      maxAnswerBytes: positive(env.MAX_ANSWER_BYTES, DEFAULTS.maxAnswerBytes),
      upstreamTimeoutMs: positive(env.UPSTREAM_TIMEOUT_MS, DEFAULTS.upstreamTimeoutMs),
      streamIdleTimeoutMs: positive(env.STREAM_IDLE_TIMEOUT_MS, DEFAULTS.streamIdleTimeoutMs),
      reservationTtlMs: positive(env.RESERVATION_TTL_MS, DEFAULTS.reservationTtlMs),
      leaseTtlMs: Math.min(DEFAULTS.leaseTtlMs, positive(env.LEASE_TTL_MS, DEFAULTS.leaseTtlMs)),
      responsesMaxToolCalls: Math.floor(positive(env.RESPONSES_MAX_TOOL_CALLS, DEFAULTS.responsesMaxToolCalls)),
    };
    byEnv.set(env, settings);
  }
  return settings;
}
