import type { Context } from "hono";
import { assertModelAllowed } from "../auth/gateway-key.ts";
import type { AppEnv } from "../env.ts";
import { logRequest, type RequestLogEntry } from "../observability/request-log.ts";
import { executePlan } from "../routing/execute.ts";
import { planAttempts } from "../routing/plan.ts";
import { relayStream } from "../streaming/relay.ts";
import { maxRequestBytes, readJsonObject } from "./body.ts";
import { chatRequestSchema } from "./schemas.ts";
import { validate } from "./validate.ts";
import { DEFAULT_STREAM_IDLE_MS, DEFAULT_TTFB_MS, answerHeaders, millis, readAnswer } from "./upstream-response.ts";

const SSE_HEADERS = "text/event-stream; charset=utf-8";

/** POST /v1/chat/completions: OpenAI Chat Completions in, OpenAI out, any provider behind. */
export async function chatCompletions(c: Context<AppEnv>): Promise<Response> {
  const started = Date.now();
  const body = await readJsonObject(c.req.raw, maxRequestBytes(c.env.MAX_REQUEST_BYTES));
  const request = validate(chatRequestSchema, body);
  const key = c.var.gatewayKey;
  assertModelAllowed(key, request.model);
  const plan = await planAttempts(c.env, request.model, "chat");
  const stream = request.stream === true;

  const executed = await executePlan(
    plan,
    (a) => a.adapter.chatRequest(a.provider, { body, upstreamModel: a.model, stream }),
    millis(c.env.UPSTREAM_TIMEOUT_MS, DEFAULT_TTFB_MS),
  );
  const { attempt, response } = executed;
  const idleMs = millis(c.env.STREAM_IDLE_TIMEOUT_MS, DEFAULT_STREAM_IDLE_MS);
  const log: RequestLogEntry = {
    requestId: c.var.requestId,
    keyId: key.id,
    endpoint: "chat",
    requested: request.model,
    provider: attempt.provider.name,
    model: attempt.model,
    stream,
    attempts: executed.attempts,
    status: 200,
    outcome: "completed",
    usage: null,
    durationMs: 0,
  };

  if (!stream || response.body === null) {
    const answer = await readAnswer(executed, attempt.adapter.readChatResponse);
    logRequest({ ...log, usage: answer.usage, durationMs: Date.now() - started });
    return new Response(answer.text, { status: 200, headers: answerHeaders(executed, "application/json") });
  }

  executed.deadline.end(); // from here the relay's idle watchdog bounds the stream
  const translator = attempt.adapter.chatStream({ clientWantsUsage: request.stream_options?.include_usage === true });
  const relayed = relayStream(response.body, translator, {
    idleTimeoutMs: idleMs,
    provider: attempt.provider.name,
    onEnd: (end) => {
      const outcome = end.kind === "completed" && !end.sawEnd ? "ended_without_done" : end.kind;
      logRequest({ ...log, outcome, usage: end.usage, durationMs: Date.now() - started });
    },
  });
  const headers = answerHeaders(executed, SSE_HEADERS);
  headers.set("cache-control", "no-cache");
  return new Response(relayed, { status: 200, headers });
}
