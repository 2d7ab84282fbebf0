/**
 * POST /v1/responses: OpenAI's Responses API in and out (the OpenAI SDK's
 * `client.responses`, the Agents SDK, Codex CLI), any provider behind, through
 * the same plan, admission, failover, metering and log as /v1/chat/completions.
 * A provider that speaks the Responses API (OpenAI, Azure OpenAI) gets the
 * client's body as is and its answer and events pass back untouched; any other
 * gets the canonical Chat Completions body (request.ts), and its answer is
 * translated to a response object (response.ts) or to the Responses events
 * (stream.ts).
 */
import type { Context } from "hono";
import { settingsFor } from "../../config/settings.ts";
import type { AppEnv } from "../../env.ts";
import { isObject, type Json } from "../../providers/json.ts";
import { nativeResponsesRequest, nativeResponsesStream, readNativeResponse } from "../../providers/openai-compatible/responses.ts";
import type { TranslatedBody } from "../../providers/types.ts";
import { decoder } from "../../streaming/bytes.ts";
import { executePlan } from "../../routing/execute.ts";
import { healthView } from "../../routing/health.ts";
import type { Attempt } from "../../routing/plan.ts";
import { allowedPlan } from "../allowed-plan.ts";
import { readJsonRequest } from "../body.ts";
import { invalidRequest } from "../errors.ts";
import { headerSafe } from "../header-value.ts";
import { admitRequest, captureBodies, chargedAnswer, chargedStream, meteredRun, runOptions } from "../metered.ts";
import { answeredLogEntry } from "../upstream-response.ts";
import { validate } from "../validate.ts";
import { meteringView } from "./metering.ts";
import { droppedTools, responsesToChat, type ChatTarget } from "./request.ts";
import { chatToResponse } from "./response.ts";
import { responsesRequestSchema } from "./schema.ts";
import { responsesClientStream, responsesEvent, type Sequence } from "./stream.ts";

const isNative = (attempt: Attempt): boolean => attempt.provider.preset.responsesPath !== undefined;

export async function responses(c: Context<AppEnv>): Promise<Response> {
  const started = c.var.startedAt;
  const settings = settingsFor(c.env);
  const { body, bytes, text } = await readJsonRequest(c.req.raw, settings);
  captureBodies(c, text);
  const request = validate(responsesRequestSchema, body);
  const stream = request.stream === true;
  c.set("requestFacts", { endpoint: "responses", requested: request.model, stream });
  const planned = await allowedPlan(c.env, c.var.gatewayKey, request.model, "chat", healthView(c.env, c.executionCtx));
  const bodyUser = typeof body.safety_identifier === "string" ? body.safety_identifier : body.user;
  const meter = await admitRequest(c, planned, { body: meteringView(body), bytes, purpose: "chat", started, bodyUser });

  // Translated once per kind of target, and only if a target that needs it is tried.
  const canonical = new Map<string, Json>();
  const canonicalFor = (attempt: Attempt): Json => {
    // A conversation stored by OpenAI is OpenAI's to continue: another provider has none of it.
    if (typeof body.previous_response_id === "string") {
      throw invalidRequest(`'previous_response_id' names a response stored by OpenAI; ${attempt.provider.preset.displayName} cannot continue it. Send the conversation's items in 'input' (as with store: false), or route this model to OpenAI.`, "previous_response_id", "unsupported_parameter");
    }
    const { preset } = attempt.provider;
    const target: ChatTarget = {
      maxTokensField: preset.outputCapField ?? "max_tokens",
      reasoning: preset.adapter !== "openai-compatible" || preset.reasoningModels?.test(attempt.model) === true,
    };
    const key = `${target.maxTokensField}:${target.reasoning}`;
    let translated = canonical.get(key);
    if (translated === undefined) canonical.set(key, (translated = responsesToChat(body, target)));
    return translated;
  };

  const executed = await meteredRun(meter, (plan) =>
    executePlan(
      plan,
      meter.gated((a) =>
        isNative(a)
          ? nativeResponsesRequest(a.provider, body, a.model)
          : a.adapter.chatRequest(a.provider, { body: canonicalFor(a), upstreamModel: a.model, stream, outputCap: meter.outputCapOf(a) }),
      ),
      runOptions(c, meter, plan, stream),
    ),
  );
  const { attempt } = executed;
  const native = isNative(attempt);
  const answer = { meter, log: answeredLogEntry(c, executed, { endpoint: "responses", model: request.model, stream }), started, sink: c };
  const dropped = native ? [] : droppedTools(body);

  let response: Response;
  if (executed.stream === null) {
    const read = native ? (upstream: Response) => readNativeResponse(upstream, attempt.provider) : async (upstream: Response): Promise<TranslatedBody> => {
      const chat = await attempt.adapter.readChatResponse(upstream, attempt.provider);
      const completion: unknown = JSON.parse(typeof chat.body === "string" ? chat.body : decoder.decode(chat.body));
      if (!isObject(completion)) throw new Error("the answer is not a JSON object");
      return { body: JSON.stringify(chatToResponse(completion, chat.usage, body, request.model)), usage: chat.usage };
    };
    response = await chargedAnswer(executed, read, { ...answer, purpose: "chat", costInBody: true });
  } else {
    let n = 0;
    const sequence: Sequence = { next: () => n++ };
    const translator = () => (native ? nativeResponsesStream() : responsesClientStream(attempt.adapter.chatStream(attempt.provider, { clientWantsUsage: true, model: attempt.model }), body, request.model, sequence));
    // A failure after the commit point, as OpenAI's `error` event (its numbering continues the stream's).
    const errorEvent = (message: string, code: string): Uint8Array => responsesEvent("error", { code, message, param: null }, sequence);
    response = chargedStream(c, executed, translator, { ...answer, errorEvent });
  }
  // Built-in tools a translated target cannot run were left out; the rest of the request was served.
  if (dropped.length > 0) response.headers.set("x-switchyard-dropped-tools", headerSafe(dropped.join(", ")));
  return response;
}
