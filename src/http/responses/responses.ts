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
import { nativeResponsesRequest, nativeResponsesStream, offeredTools, readNativeResponse } from "../../providers/openai-compatible/responses.ts";
import type { TranslatedBody } from "../../providers/types.ts";
import { decoder, encoder } from "../../streaming/bytes.ts";
import { executePlan } from "../../routing/execute.ts";
import { healthView } from "../../routing/health.ts";
import type { Attempt } from "../../routing/plan.ts";
import { allowedPlan } from "../allowed-plan.ts";
import { readJsonRequest } from "../body.ts";
import { GatewayError, invalidRequest } from "../errors.ts";
import { headerSafe } from "../header-value.ts";
import { admitRequest, captureBodies, chargedAnswer, chargedStream, meteredRun, runOptions } from "../metered.ts";
import { answeredLogEntry } from "../upstream-response.ts";
import { validate } from "../validate.ts";
import { meteringView } from "./metering.ts";
import { responsesToChat } from "./request.ts";
import { droppedTools, withoutBuiltInTools, withToolCallCap } from "./tools.ts";
import { translationCache } from "../chat-target.ts";
import { chatToResponse } from "./response.ts";
import { inputItemsQuerySchema, responsesRequestSchema } from "./schema.ts";
import { deleteResponse, historyOf, inputItems, isStoredId, loadResponse, ownsOpenAIResponse, recordOpenAIResponse, responseNotFound, responseStore, rootResponseId, saveResponse, storedResponseId, type StoredResponse } from "./store.ts";
import { responsesClientStream, responsesEvent, type Sequence } from "./stream.ts";

const isNative = (attempt: Attempt): boolean => attempt.provider.preset.responsesPath !== undefined;

/**
 * The request as the targets get it: a `previous_response_id` the gateway stored is replaced by
 * the conversation it names (its input and output, then this request's input); one it did not
 * store is OpenAI's, and only OpenAI can continue it, and only for the key that made it.
 * `bytes`: the size the meter bounds the input by (the whole conversation's, once resolved).
 */
async function resolvePrevious(c: Context<AppEnv>, body: Json, bytes: number, maxBytes: number): Promise<{ body: Json; bytes: number; openAIs: boolean }> {
  const id = body.previous_response_id;
  if (typeof id !== "string") return { body, bytes, openAIs: false };
  if (!isStoredId(id)) {
    if (!(await ownsOpenAIResponse(c.env, c.var.gatewayKey.id, id))) throw responseNotFound(id);
    return { body, bytes, openAIs: true };
  }
  const prior = await loadSoon(c, id);
  if (prior === null) throw responseNotFound(id);
  const { previous_response_id: _previous, ...rest } = body;
  const resolved = { ...rest, input: [...historyOf(prior), ...inputItems(body.input)] };
  // The stored conversation is input too: it counts against the request size limit, and the worst case bounds all of it.
  const size = encoder.encode(JSON.stringify(resolved)).byteLength;
  if (size > maxBytes) {
    throw new GatewayError(413, `The conversation '${id}' continues is ${size} bytes with this input, over this gateway's limit of ${maxBytes}: start a new one, or send fewer items.`, { code: "request_too_large", param: "previous_response_id" });
  }
  return { body: resolved, bytes: size, openAIs: false };
}

/** A stored response, waiting briefly for one whose stream has just ended (it is stored as the stream closes). */
async function loadSoon(c: Context<AppEnv>, id: string): Promise<StoredResponse | null> {
  for (let tries = 0; ; tries++) {
    const found = await loadResponse(c.env, c.var.gatewayKey.id, id);
    if (found !== null || tries >= 5) return found;
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function responses(c: Context<AppEnv>): Promise<Response> {
  const started = c.var.startedAt;
  const settings = settingsFor(c.env);
  const { body: sent, bytes, text } = await readJsonRequest(c.req.raw, settings);
  captureBodies(c, text);
  const request = validate(responsesRequestSchema, sent);
  const stream = request.stream === true;
  c.set("requestFacts", { endpoint: "responses", requested: request.model, stream });
  // Served by OpenAI's own servers after the answer (a background run bills on after the gateway settled), or
  // naming state the gateway cannot tie to this key (another key's conversation): refused on every target.
  for (const field of ["background", "conversation"] as const) {
    if (sent[field] !== undefined && sent[field] !== null && sent[field] !== false) {
      throw invalidRequest(`'${field}' is not served through this gateway: ${field === "background" ? "a background run goes on billing after the answer, past the request's budget" : "send the conversation's items in 'input', or use previous_response_id"}.`, field, "unsupported_parameter");
    }
  }
  const resolved = await resolvePrevious(c, sent, bytes, settings.maxRequestBytes);
  const { bytes: meteredBytes, openAIs } = resolved;
  const body = withToolCallCap(resolved.body, settings.responsesMaxToolCalls);
  let planned = await allowedPlan(c.env, c.var.gatewayKey, request.model, "chat", healthView(c.env, c.executionCtx));
  if (openAIs) {
    // A conversation OpenAI stored can be continued by OpenAI alone: the route's other targets have none of it.
    const attempts = planned.attempts.filter(isNative);
    if (attempts.length === 0) {
      throw invalidRequest(`'previous_response_id' names a response OpenAI stored, and '${request.model}' has no OpenAI target to continue it. Send the conversation's items in 'input' instead (as with store: false), or use an OpenAI model.`, "previous_response_id", "unsupported_parameter");
    }
    planned = { ...planned, attempts };
  }
  const bodyUser = typeof body.safety_identifier === "string" ? body.safety_identifier : body.user;
  const builtInTools = droppedTools(body);
  const meter = await admitRequest(c, planned, {
    body: meteringView(body),
    bytes: meteredBytes,
    purpose: "chat",
    started,
    bodyUser,
    maxToolCalls: typeof body.max_tool_calls === "number" ? body.max_tool_calls : undefined,
    translatedBody: builtInTools.length > 0 ? meteringView(withoutBuiltInTools(body)) : undefined,
  });

  const canonicalFor = translationCache((target) => responsesToChat(body, target));

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
  const dropped = native ? [] : builtInTools;
  const offered = offeredTools(builtInTools);
  // A translated answer is kept (OpenAI keeps its own) unless the client says store: false or the key keeps none.
  const bucket = responseStore(c.env);
  const identity = { id: storedResponseId(started), store: !native && body.store !== false && c.var.gatewayKey.storeResponses !== false && bucket !== null };
  const logFailure = (err: unknown): void => console.error(JSON.stringify({ msg: "response_store_failed", error: String(err) }));
  const keep = (made: Json): Promise<void> =>
    identity.store && bucket !== null ? saveResponse(bucket, c.var.gatewayKey.id, { response: made, input: inputItems(body.input) }).catch(logFailure) : Promise.resolve();
  // A response OpenAI keeps (store is its default) is this key's to continue: remembered, so no other key can.
  const ownOpenAI = (id: string | null): void => {
    if (native && id !== null && body.store !== false) c.executionCtx.waitUntil(recordOpenAIResponse(c.env, c.var.gatewayKey.id, id).catch(logFailure));
  };

  let response: Response;
  if (executed.stream === null) {
    let made: Json | null = null;
    let nativeId: string | null = null;
    const read = native
      ? async (upstream: Response): Promise<TranslatedBody> => {
          const answered = await readNativeResponse(upstream, attempt.provider, offered);
          nativeId = typeof answered.body === "string" ? null : rootResponseId(answered.body);
          return answered;
        }
      : async (upstream: Response): Promise<TranslatedBody> => {
          const chat = await attempt.adapter.readChatResponse(upstream, attempt.provider);
          const completion: unknown = JSON.parse(typeof chat.body === "string" ? chat.body : decoder.decode(chat.body));
          if (!isObject(completion)) throw new Error("the answer is not a JSON object");
          made = chatToResponse(completion, chat.usage, sent, request.model, identity);
          return { body: JSON.stringify(made), usage: chat.usage };
        };
    response = await chargedAnswer(executed, read, { ...answer, purpose: "chat", costInBody: true });
    // Kept before the answer goes out: the client's next turn may name it at once.
    if (made !== null) await keep(made);
    ownOpenAI(nativeId);
  } else {
    let n = 0;
    const sequence: Sequence = { next: () => n++ };
    const onFinal = (made: Json): void => c.executionCtx.waitUntil(keep(made));
    const costOf = meter.costOf(attempt);
    const translator = () => {
      n = 0;
      return native
        ? nativeResponsesStream({ onId: ownOpenAI, costOf, sequence, offered })
        : responsesClientStream(attempt.adapter.chatStream(attempt.provider, { clientWantsUsage: true, model: attempt.model }), { request: sent, requestedModel: request.model, sequence, identity, onFinal, costOf });
    };
    // A failure after the commit point, as OpenAI's `error` event (its numbering continues the stream's).
    const errorEvent = (message: string, code: string): Uint8Array => responsesEvent("error", { code, message, param: null }, sequence);
    response = chargedStream(c, executed, translator, { ...answer, errorEvent });
  }
  // Built-in tools a translated target cannot run were left out; the rest of the request was served.
  if (dropped.length > 0) response.headers.set("x-switchyard-dropped-tools", headerSafe(dropped.join(", ")));
  return response;
}

/** GET /v1/responses/{id}: a response the gateway kept for this key. */
export async function retrieveResponse(c: Context<AppEnv>): Promise<Response> {
  const id = c.req.param("id") ?? "";
  const stored = await loadResponse(c.env, c.var.gatewayKey.id, id);
  if (stored === null) throw responseNotFound(id);
  return c.json(stored.response);
}

/** DELETE /v1/responses/{id}. */
export async function removeResponse(c: Context<AppEnv>): Promise<Response> {
  const id = c.req.param("id") ?? "";
  if (!(await deleteResponse(c.env, c.var.gatewayKey.id, id))) throw responseNotFound(id);
  return c.json({ id, object: "response", deleted: true });
}

/** GET /v1/responses/{id}/input_items: the conversation's input items, newest first by default (`order`, `limit`, `after`, as OpenAI pages them). */
export async function responseInputItems(c: Context<AppEnv>): Promise<Response> {
  const id = c.req.param("id") ?? "";
  const stored = await loadResponse(c.env, c.var.gatewayKey.id, id);
  if (stored === null) throw responseNotFound(id);
  const q = validate(inputItemsQuerySchema, c.req.query());
  const items = stored.input.map((item, i) => ({ id: typeof item.id === "string" ? item.id : `${id}_in_${i}`, ...item }));
  const ordered = q.order === "asc" ? items : [...items].reverse();
  const at = q.after === undefined ? -1 : ordered.findIndex((item) => item.id === q.after);
  if (q.after !== undefined && at === -1) throw invalidRequest(`'after' names no input item of '${id}'.`, "after");
  const from = at + 1;
  const data = ordered.slice(from, from + q.limit);
  return c.json({ object: "list", data, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null, has_more: from + q.limit < ordered.length });
}
