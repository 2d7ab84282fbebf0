/** Issue 13, item 6: the request log exported as OTLP/HTTP JSON spans with the GenAI semantic conventions, to a local receiver. */
import { createExecutionContext, createMessageBatch, env, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { Env } from "../../src/env.ts";
import { consumeLog } from "../../src/observability/log-consumer.ts";
import { otlpHeaders, tracesUrl } from "../../src/observability/otlp.ts";
import type { RequestLogEntry } from "../../src/observability/request-log.ts";
import { MOCK, uniqueTag } from "./helpers.ts";

interface Span {
  traceId: string;
  spanId: string;
  name: string;
  kind: number;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes: Array<{ key: string; value: Record<string, unknown> }>;
  status: { code: number; message?: string };
}

const attrs = (span: Span): Record<string, unknown> => Object.fromEntries(span.attributes.map((a) => [a.key, Object.values(a.value)[0]]));

describe("OpenTelemetry export", () => {
  it("sends each record as a span with gen_ai.* attributes, the cost, and the configured headers", async () => {
    const tag = uniqueTag("otlp");
    const bindings = { ...env, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${MOCK}/__mock/webhook/${tag}`, OTEL_EXPORTER_OTLP_HEADERS: "authorization=Bearer%20secret-token,x-team=ml" } as Env;
    const id = `req_${crypto.randomUUID().replaceAll("-", "")}`;
    const answered: RequestLogEntry = {
      requestId: id, time: Date.parse("2026-11-20T10:00:00.000Z"), keyId: "key_otlp", user: "alice", endpoint: "chat", requested: "fast", provider: "openai", model: "gpt-4o-mini",
      stream: true, attempts: 2, fallbacks: "anthropic/claude-haiku-4-5=503", status: 200, outcome: "completed",
      usage: { prompt_tokens: 120, completion_tokens: 30, total_tokens: 150, prompt_tokens_details: { cached_tokens: 100 } }, costUsd: 0.000036, costNanos: 36_000, costEstimated: false, ttfbMs: 210, durationMs: 1_250,
    };
    const failed: RequestLogEntry = { ...answered, requestId: `req_${crypto.randomUUID().replaceAll("-", "")}`, provider: null, model: null, status: 502, outcome: "failed", errorCode: "upstream_error", usage: null, costUsd: null, costNanos: 0 };
    const batch = createMessageBatch<RequestLogEntry>("switchyard-request-log", [answered, failed].map((body, i) => ({ id: `m${i}`, timestamp: new Date(), attempts: 1, body })));
    const ctx = createExecutionContext();
    await consumeLog(batch, bindings, ctx);
    await waitOnExecutionContext(ctx);

    const deliveries = await (await fetch(`${MOCK}/__mock/webhook/${tag}`)).json<Array<{ headers: Record<string, string>; body: { resourceSpans: Array<{ resource: unknown; scopeSpans: Array<{ spans: Span[] }> }> } }>>();
    expect(deliveries).toHaveLength(1);
    const delivery = deliveries[0]!;
    expect(delivery.headers.authorization).toBe("Bearer secret-token");
    expect(delivery.headers["x-team"]).toBe("ml");
    expect(delivery.body.resourceSpans[0]?.resource).toEqual({ attributes: [{ key: "service.name", value: { stringValue: "switchyard" } }] });
    const [span, failure] = delivery.body.resourceSpans[0]?.scopeSpans[0]?.spans ?? [];
    // The receiver's checks: ids of the right length in hex, times in nanoseconds as strings, a client span.
    expect(span?.traceId).toBe(id.slice(4));
    expect(span?.spanId).toMatch(/^[0-9a-f]{16}$/);
    expect(span?.startTimeUnixNano).toBe("1795168800000000000");
    expect(span?.endTimeUnixNano).toBe("1795168801250000000");
    expect(span).toMatchObject({ name: "chat fast", kind: 3, status: { code: 0 } });
    expect(attrs(span as Span)).toMatchObject({
      "gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai", "gen_ai.request.model": "fast", "gen_ai.response.model": "gpt-4o-mini",
      "gen_ai.usage.input_tokens": "120", "gen_ai.usage.output_tokens": "30", "gen_ai.usage.cache_read.input_tokens": "100",
      "http.response.status_code": "200", "user.id": "alice", "switchyard.cost_usd": 0.000036, "switchyard.cost_estimated": false, "switchyard.attempts": "2",
    });
    expect(failure?.status).toEqual({ code: 2, message: "upstream_error" });
    expect(attrs(failure as Span)["error.type"]).toBe("upstream_error");
  });

  it("reads the endpoint and headers as the OTLP exporter spec names them", () => {
    expect(tracesUrl({ OTEL_EXPORTER_OTLP_ENDPOINT: "https://otel.example.com/" } as Env)).toBe("https://otel.example.com/v1/traces");
    expect(tracesUrl({ OTEL_EXPORTER_OTLP_ENDPOINT: "https://a", OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "https://b/traces" } as Env)).toBe("https://b/traces");
    expect(tracesUrl({} as Env)).toBeNull();
    expect(otlpHeaders("a=1, b = x%3Dy ,broken,=z")).toEqual({ a: "1", b: "x=y" });
  });
});
