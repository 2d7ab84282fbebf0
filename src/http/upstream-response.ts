import type { Context } from "hono";
import { settingsFor } from "../config/settings.ts";
import type { AppEnv } from "../env.ts";
import type { RequestLogEntry } from "../observability/request-log.ts";
import { chargeFields, logRequest } from "../observability/request-log.ts";
import type { StreamTranslator, TranslatedBody } from "../providers/types.ts";
import type { Charge } from "../budgets/admission.ts";
import type { Executed } from "../routing/execute.ts";
import { relayStream, type StreamEnd } from "../streaming/relay.ts";
import { GatewayError } from "./errors.ts";
import { headerSafe, safeHeaders } from "./header-value.ts";
import { declaredLength } from "../providers/answer-body.ts";

/** The gateway's own response headers for an answered request (DESIGN.md "Contract with clients"). */
export function answerHeaders(executed: Executed, contentType: string, extra: Readonly<Record<string, string>> = {}): Headers {
  // Safe by construction: the model and the trail are a client's or a route's text (src/http/header-value.ts).
  const headers = safeHeaders({
    ...extra,
    "content-type": contentType,
    "x-switchyard-provider": executed.attempt.provider.name,
    "x-switchyard-model": executed.attempt.model,
    "x-switchyard-attempts": String(executed.attempts),
  });
  // What failed before this answer, and why: `openai/gpt-4o=503, anthropic/claude-sonnet-4-5=timeout`.
  if (executed.trail.length > 0) headers.set("x-switchyard-fallbacks", headerSafe(executed.trail.join(", ")));
  return headers;
}

/** The request-log line of an answered request, before its outcome and usage are known. */
export function answeredLogEntry(
  c: Context<AppEnv>,
  executed: Executed,
  request: { endpoint: RequestLogEntry["endpoint"]; model: string; stream: boolean },
): RequestLogEntry {
  const meter = c.var.meter;
  return {
    requestId: c.var.requestId,
    time: c.var.startedAt,
    keyId: c.var.gatewayKey.id,
    user: meter?.user ?? null,
    endpoint: request.endpoint,
    requested: request.model,
    provider: executed.attempt.provider.name,
    model: executed.attempt.model,
    stream: request.stream,
    attempts: executed.attempts,
    ...(executed.trail.length > 0 && { fallbacks: executed.trail.join(", ") }),
    degradedTo: meter?.degradedTo ?? null,
    status: 200,
    outcome: "completed",
    usage: null,
    costUsd: null,
    costEstimated: false,
    // Built as the answer's headers (a stream's first event) are in hand: the time to first byte the client sees.
    ttfbMs: Date.now() - c.var.startedAt,
    durationMs: 0,
  };
}

/**
 * The answer with its body bounded to `limit` bytes: a declared length over it
 * is refused before anything is read, an undeclared one (or one of a
 * compressed body, which the runtime inflates) is counted as it arrives and
 * fails the read once past it, so a hostile or broken provider
 * cannot fill the isolate's memory.
 */
function boundedAnswer(upstream: Response, limit: number): Response {
  const declared = declaredLength(upstream);
  if (declared !== null && declared > limit) throw new Error(`the answer is larger than the gateway's limit of ${limit} bytes (MAX_ANSWER_BYTES)`);
  if (declared !== null || upstream.body === null) return upstream;
  let seen = 0;
  const counted = upstream.body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        seen += chunk.byteLength;
        if (seen > limit) controller.error(new Error(`the answer is larger than the gateway's limit of ${limit} bytes (MAX_ANSWER_BYTES)`));
        else controller.enqueue(chunk);
      },
    }),
  );
  return new Response(counted, { status: upstream.status, headers: upstream.headers });
}

/**
 * Reads a non-streamed answer's body within the attempt's deadline (a body that
 * stalls after its headers is a 504); a body that breaks or is not what the
 * adapter expects is the provider's failure (502).
 */
export async function readAnswer(executed: Executed, read: (upstream: Response) => Promise<TranslatedBody>): Promise<TranslatedBody> {
  const provider = executed.attempt.provider.name;
  try {
    return await read(boundedAnswer(executed.response, executed.attempt.provider.maxAnswerBytes));
  } catch (err) {
    if (executed.deadline.expired()) {
      throw new GatewayError(504, `The provider '${provider}' did not finish its answer within ${executed.deadline.ms} ms.`, {
        code: "upstream_timeout",
      });
    }
    const why = err instanceof Error ? err.message : String(err);
    throw new GatewayError(502, `The provider '${provider}' sent an answer that could not be read: ${why}`, {
      code: "upstream_bad_response",
    });
  } finally {
    executed.deadline.end();
  }
}

const SSE_CONTENT_TYPE = "text/event-stream; charset=utf-8";

export interface StreamedAnswerOptions {
  readonly log: RequestLogEntry & { started: number };
  /** Charges the stream once it has ended (its spend, or what was streamed before a cut or a disconnect). */
  readonly settle: (end: StreamEnd) => Charge;
  /** Headers of the admit step (budget warnings, a degrade). */
  readonly headers: Readonly<Record<string, string>>;
  readonly errorEvent?: ((message: string, code: string) => Uint8Array) | undefined;
  /** The stream could not be relayed at all (no translator for it): the provider has answered, so it is charged an estimate. */
  readonly onFailure: () => void;
}

/**
 * Answers with a committed upstream stream, relayed through `translator`. The
 * relay runs under `waitUntil`, so its end (the charge, and the log line with
 * the stream's usage) is recorded even after the client leaves.
 */
export function streamedAnswer(c: Context<AppEnv>, executed: Executed, makeTranslator: () => StreamTranslator, options: StreamedAnswerOptions): Response {
  if (executed.stream === null) throw new Error("streamedAnswer needs a stream");
  executed.deadline.end(); // from here the relay's idle watchdog bounds the stream
  let translator: StreamTranslator;
  try {
    translator = makeTranslator();
  } catch (err) {
    executed.stream.reader.cancel().catch(() => {}); // nothing will read it: close the upstream connection
    options.onFailure();
    throw err;
  }
  const { started, ...entry } = options.log;
  const relay = relayStream(executed.stream, translator, {
    idleTimeoutMs: settingsFor(c.env).streamIdleTimeoutMs,
    provider: executed.attempt.provider.name,
    errorEvent: options.errorEvent,
    onChunk: c.var.bodies === undefined ? undefined : (bytes) => c.var.bodies?.add(bytes),
    onEnd: (end) => {
      const charge = options.settle(end);
      logRequest(c, { ...entry, ...chargeFields(charge), outcome: end.kind, usage: end.usage, durationMs: Date.now() - started });
    },
  });
  const headers = answerHeaders(executed, SSE_CONTENT_TYPE, options.headers);
  headers.set("cache-control", "no-cache");
  c.executionCtx.waitUntil(relay.done);
  return new Response(relay.readable, { status: 200, headers });
}
