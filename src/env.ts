/**
 * The Worker's bindings, declared once. Provider credentials follow the
 * `<NAME>_API_KEY` / `<NAME>_BASE_URL` convention and are read through
 * `providerSettings` (src/providers/registry.ts), not named here one by one.
 */
export interface Env {
  /** Keys, routes and other configuration, written only through /admin. */
  CONFIG: KVNamespace;
  /**
   * Shared route health (one RouteHealth Durable Object per target). Optional: without
   * it every target reads as healthy and attempt reports are dropped.
   */
  ROUTE_HEALTH?: DurableObjectNamespace<import("./durable/route-health.ts").RouteHealth>;
  /**
   * Spend counters and budget enforcement (one SpendLedger Durable Object per budget scope:
   * `global`, `key:<id>`, `user:<keyId>:<user>`). Optional: without it no budget is enforced
   * and no spend is counted.
   */
  SPEND_LEDGER?: DurableObjectNamespace<import("./durable/spend-ledger.ts").SpendLedger>;
  /**
   * Revoked gateway keys (one KeyRevocations Durable Object): isolates consult it so that a
   * revocation wins over a stale KV read or a racing PATCH within 30 s. Optional: without it
   * KV alone decides (a revoked key may then work for KV's propagation time).
   */
  KEY_REVOCATIONS?: DurableObjectNamespace<import("./durable/key-revocations.ts").KeyRevocations>;
  /** The request log's queue (producer); without it records go to the console only. */
  LOG_QUEUE?: Queue<import("./observability/request-log.ts").RequestLogEntry>;
  /** The request log and its rollups (D1), written by the queue's consumer and read by /admin/requests and /admin/analytics. */
  LOG_DB?: D1Database;
  /** A request costing more than this × its key and model's median, or an hour more than this × its 7-day average, is an anomaly (5). */
  ANOMALY_FACTOR?: string;
  /** Where anomaly alerts go for keys without an alertWebhook of their own. */
  ALERT_WEBHOOK_URL?: string;
  /** Request and response bodies of the keys that log them (`logBodies`), under yyyy/mm/dd/<request id>.json. */
  LOG_BODIES?: R2Bucket;
  /** Responses the gateway made for other providers than OpenAI (`store`, `previous_response_id`, GET/DELETE /v1/responses/{id}). */
  RESPONSE_STORE?: R2Bucket;
  /** Days a stored response is kept (default 30, as OpenAI keeps its own). */
  RESPONSE_RETENTION_DAYS?: string;
  /** OpenTelemetry export of the request log: the OTLP/HTTP endpoint (base, or traces), and its headers (a secret: `key=value,…`). */
  OTEL_EXPORTER_OTLP_ENDPOINT?: string;
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?: string;
  OTEL_EXPORTER_OTLP_HEADERS?: string;
  /** Raw records older than this many days are pruned by the hourly cron (30). */
  LOG_RETENTION_DAYS?: string;
  /** The dashboard's files (Workers Static Assets, dashboard/dist), served by src/http/dashboard.ts. */
  ASSETS?: Fetcher;
  /** Secret guarding /admin; the admin API is disabled when unset. */
  ADMIN_TOKEN?: string;
  /**
   * A gateway key accepted without a KV record (id "dev", every model). Set only
   * by the local dev runner and the benchmark: never in production.
   */
  DEV_GATEWAY_KEY?: string;
  MAX_REQUEST_BYTES?: string;
  /** `max_tool_calls` for a /v1/responses request offering OpenAI's per-call tools without one (config/settings.ts). */
  RESPONSES_MAX_TOOL_CALLS?: string;
  /** How long a budget lease lasts unrenewed, ms (at most 30000: config/settings.ts). */
  LEASE_TTL_MS?: string;
  /** Limits on a JSON body's structure, checked before parsing (src/http/json-shape.ts). */
  MAX_JSON_CONTAINERS?: string;
  MAX_JSON_VALUES?: string;
  MAX_JSON_DEPTH?: string;
  /** Largest non-streamed answer the gateway reads from a provider. */
  MAX_ANSWER_BYTES?: string;
  UPSTREAM_TIMEOUT_MS?: string;
  STREAM_IDLE_TIMEOUT_MS?: string;
  /** Upstash Redis REST credentials (secrets) for rate limits; without them limits are off. */
  UPSTASH_REDIS_REST_URL?: string;
  UPSTASH_REDIS_REST_TOKEN?: string;
  /** Longest wait for Redis on a rate-limit check, in milliseconds (1000). */
  RATE_LIMIT_TIMEOUT_MS?: string;
  /** What a failed or slow Redis means: "open" (serve, default) or "closed" (refuse with 503). */
  RATE_LIMIT_ON_REDIS_FAILURE?: string;
  /** How long a budget reservation may stay unsettled before its ledger charges it as the request of a dead isolate. */
  RESERVATION_TTL_MS?: string;
}

/** Hono's generics: typed bindings and per-request variables. */
export interface GatewayVariables {
  requestId: string;
  /** Epoch ms the request arrived. */
  startedAt: number;
  /** What the endpoint has read of the request, for the record of a failure (observability/request-log.ts). */
  requestFacts?: import("./observability/request-log.ts").RequestFacts;
  /** The end user the request is attributed to, once known (before admission: a refusal's record names it). */
  endUser?: string | null;
  /** The request's meter once it is admitted: its end user, degrade and what it charged, for its record. */
  meter?: import("./budgets/admission.ts").RequestMeter;
  /** The request's bodies, for a key that logs them. */
  bodies?: import("./observability/bodies.ts").BodyCapture;
  gatewayKey: import("./auth/gateway-key.ts").GatewayKey;
  /** Set on Anthropic-format endpoints: their errors take Anthropic's shape. */
  errorFormat?: "anthropic";
}

export interface AppEnv {
  Bindings: Env;
  Variables: GatewayVariables;
}
