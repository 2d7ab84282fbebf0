/**
 * OpenTelemetry export of the request log (issue 13): with
 * OTEL_EXPORTER_OTLP_ENDPOINT (or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) set, the
 * log's consumer sends each batch of records as spans over OTLP/HTTP in its
 * JSON encoding, with the GenAI semantic conventions' attributes, so Langfuse,
 * Grafana, Honeycomb or Datadog show the gateway's calls beside the apps'.
 *
 * Written here rather than with the OpenTelemetry JS SDK: the spans already
 * happened (they are records, with their own times and ids), so there is no
 * tracer, context or sampler to run, and the SDK's exporters reach for Node's
 * http or the browser's XHR; what remains is the OTLP JSON shape, a few lines.
 */
import type { Env } from "../env.ts";
import type { RequestLogEntry } from "./request-log.ts";

type Attribute = { key: string; value: { stringValue: string } | { intValue: string } | { doubleValue: number } | { boolValue: boolean } };

const OPERATIONS: Readonly<Record<string, string>> = { chat: "chat", messages: "chat", responses: "chat", embeddings: "embeddings", count_tokens: "count_tokens" };
const SPAN_KIND_CLIENT = 3;
const STATUS_ERROR = 2;
const STATUS_UNSET = 0;

/** The traces URL: the signal-specific variable as it is, else the base endpoint with /v1/traces (as the OTLP exporter spec says). */
export function tracesUrl(env: Env): string | null {
  const traces = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
  if (traces !== undefined && traces !== "") return traces;
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT;
  return base === undefined || base === "" ? null : `${base.replace(/\/+$/, "")}/v1/traces`;
}

/** OTEL_EXPORTER_OTLP_HEADERS: `key=value,key2=value2`, values URL-encoded. */
export function otlpHeaders(raw: string | undefined): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const pair of (raw ?? "").split(",")) {
    const at = pair.indexOf("=");
    if (at <= 0) continue;
    try {
      headers[pair.slice(0, at).trim()] = decodeURIComponent(pair.slice(at + 1).trim());
    } catch {
      headers[pair.slice(0, at).trim()] = pair.slice(at + 1).trim();
    }
  }
  return headers;
}

const text = (key: string, value: string | null | undefined): Attribute[] => (typeof value === "string" && value !== "" ? [{ key, value: { stringValue: value } }] : []);
const int = (key: string, value: number | undefined): Attribute[] => (typeof value === "number" && Number.isFinite(value) ? [{ key, value: { intValue: String(Math.round(value)) } }] : []);

/** 32 hex digits from a request id (`req_` + a UUID's 32), the trace id; its last 16, the span id. */
function ids(requestId: string): { traceId: string; spanId: string } {
  let hex = requestId.replace(/^req_/, "").toLowerCase();
  if (!/^[0-9a-f]{32}$/.test(hex)) hex = Array.from(requestId, (c) => c.charCodeAt(0).toString(16).padStart(2, "0")).join("").padEnd(32, "0").slice(0, 32);
  return { traceId: hex, spanId: hex.slice(16) };
}

const nanos = (ms: number): string => `${BigInt(Math.round(ms)) * 1_000_000n}`;

/** One record as an OTLP span. */
export function spanOf(entry: RequestLogEntry): Record<string, unknown> {
  const operation = OPERATIONS[entry.endpoint] ?? entry.endpoint;
  const usage = entry.usage;
  const failed = entry.status >= 500 || (entry.status < 400 && entry.outcome !== "completed");
  const attributes: Attribute[] = [
    ...text("gen_ai.operation.name", operation),
    ...text("gen_ai.provider.name", entry.provider),
    ...text("gen_ai.request.model", entry.requested),
    ...text("gen_ai.response.model", entry.model),
    ...int("gen_ai.usage.input_tokens", usage?.prompt_tokens),
    ...int("gen_ai.usage.output_tokens", usage?.completion_tokens),
    ...int("gen_ai.usage.cache_read.input_tokens", usage?.prompt_tokens_details?.cached_tokens),
    ...int("gen_ai.usage.cache_creation.input_tokens", usage?.prompt_tokens_details?.cache_write_tokens),
    ...int("http.response.status_code", entry.status),
    ...text("error.type", entry.errorCode ?? (failed ? entry.outcome : undefined)),
    ...text("user.id", entry.user),
    ...text("switchyard.key_id", entry.keyId),
    ...text("switchyard.outcome", entry.outcome),
    ...int("switchyard.attempts", entry.attempts),
    ...text("switchyard.fallbacks", entry.fallbacks),
    ...(entry.costUsd !== null ? [{ key: "switchyard.cost_usd", value: { doubleValue: entry.costUsd } }] : []),
    { key: "switchyard.cost_estimated", value: { boolValue: entry.costEstimated } },
    ...int("switchyard.ttfb_ms", entry.ttfbMs ?? undefined),
    ...text("switchyard.anomaly", entry.anomaly),
  ];
  return {
    ...ids(entry.requestId),
    name: entry.requested === null ? operation : `${operation} ${entry.requested}`,
    kind: SPAN_KIND_CLIENT,
    startTimeUnixNano: nanos(entry.time),
    endTimeUnixNano: nanos(entry.time + entry.durationMs),
    attributes,
    status: failed ? { code: STATUS_ERROR, message: entry.errorCode ?? entry.outcome } : { code: STATUS_UNSET },
  };
}

/** An OTLP/HTTP JSON export request for `entries`. */
export function exportRequest(entries: readonly RequestLogEntry[]): Record<string, unknown> {
  return {
    resourceSpans: [
      {
        resource: { attributes: [{ key: "service.name", value: { stringValue: "switchyard" } }] },
        scopeSpans: [{ scope: { name: "switchyard.request-log" }, spans: entries.map(spanOf) }],
      },
    ],
  };
}

/** Sends `entries` as spans when an OTLP endpoint is configured; a failure is logged (the records are in D1 either way). */
export async function exportSpans(env: Env, entries: readonly RequestLogEntry[]): Promise<void> {
  const url = tracesUrl(env);
  if (url === null || entries.length === 0) return;
  try {
    const res = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", ...otlpHeaders(env.OTEL_EXPORTER_OTLP_HEADERS) },
      body: JSON.stringify(exportRequest(entries)),
      signal: AbortSignal.timeout(10_000),
    });
    await res.body?.cancel();
    if (!res.ok) throw new Error(`the OTLP endpoint answered ${res.status}`);
  } catch (err) {
    console.error(JSON.stringify({ msg: "otlp_export_failed", spans: entries.length, error: String(err) }));
  }
}
