import type { Context } from "hono";
import { settingsFor } from "../../config/settings.ts";
import type { AppEnv } from "../../env.ts";
import { nativeCallOf, nativeMessagesRequest, nativeMessagesStream, readNativeMessage } from "../../providers/anthropic/native.ts";
import { decoder } from "../../streaming/bytes.ts";
import { isObject, type Json } from "../../providers/json.ts";
import type { TranslatedBody } from "../../providers/types.ts";
import { executePlan } from "../../routing/execute.ts";
import type { Attempt } from "../../routing/plan.ts";
import { readJsonRequest } from "../body.ts";
import { admitRequest, captureBodies, chargedAnswer, chargedStream, meteredRun, runOptions } from "../metered.ts";
import { answeredLogEntry } from "../upstream-response.ts";
import { validate } from "../validate.ts";
import { anthropicSseError } from "./errors.ts";
import { anthropicToOpenAI } from "./request.ts";
import { translationCache } from "../chat-target.ts";
import { openAIToAnthropicMessage } from "./response.ts";
import { messagesRequestSchema } from "./schema.ts";
import { anthropicClientStream } from "./stream.ts";
import { allowedPlan } from "../allowed-plan.ts";
import { healthView } from "../../routing/health.ts";

const isNative = (attempt: Attempt): boolean => attempt.provider.preset.adapter === "anthropic";

/**
 * POST /v1/messages: the Anthropic Messages API in and out (the Anthropic SDK,
 * Claude Code with ANTHROPIC_BASE_URL), any provider behind, through the same
 * plan and failover as /v1/chat/completions. An Anthropic target receives the
 * client's body as is and its answer passes back untouched; any other target
 * gets the canonical OpenAI body, and its answer is translated to Anthropic's.
 */
export async function messages(c: Context<AppEnv>): Promise<Response> {
  // When the request arrived: its record's time and its ledgers' day are the same instant.
  const started = c.var.startedAt;
  const settings = settingsFor(c.env);
  const { body, bytes, text } = await readJsonRequest(c.req.raw, settings);
  captureBodies(c, text);
  const request = validate(messagesRequestSchema, body);
  c.set("requestFacts", { endpoint: "messages", requested: request.model, stream: request.stream === true });
  const planned = await allowedPlan(c.env, c.var.gatewayKey, request.model, "chat", healthView(c.env, c.executionCtx));
  const bodyUser = isObject(body.metadata) ? body.metadata.user_id : undefined;
  const meter = await admitRequest(c, planned, { body, bytes, purpose: "chat", started, bodyUser });
  const stream = request.stream === true;
  const call = nativeCallOf(c.req, "/messages");

  const canonicalFor = translationCache((target) => anthropicToOpenAI(body, target));

  const executed = await meteredRun(meter, (plan) =>
    executePlan(
      plan,
      meter.gated((a) =>
        isNative(a)
          ? nativeMessagesRequest(a.provider, body, a.model, call)
          : a.adapter.chatRequest(a.provider, { body: canonicalFor(a), upstreamModel: a.model, stream, outputCap: meter.outputCapOf(a) }),
      ),
      runOptions(c, meter, plan, stream),
    ),
  );
  const { attempt } = executed;
  const native = isNative(attempt);
  const answer = { meter, log: answeredLogEntry(c, executed, { endpoint: "messages", model: request.model, stream }), started, sink: c };

  if (executed.stream === null) {
    const read = native ? readNativeMessage : async (upstream: Response): Promise<TranslatedBody> => {
      const openai = await attempt.adapter.readChatResponse(upstream, attempt.provider);
      const text = typeof openai.body === "string" ? openai.body : decoder.decode(openai.body);
      const completion: unknown = JSON.parse(text);
      if (!isObject(completion)) throw new Error("the answer is not a JSON object");
      return { body: JSON.stringify(openAIToAnthropicMessage(completion, openai.usage, request.model)), usage: openai.usage };
    };
    // Anthropic's message shape has no cost field: the header carries it.
    return chargedAnswer(executed, read, { ...answer, purpose: "chat", costInBody: false });
  }

  const translator = () =>
    native
      ? nativeMessagesStream()
      : anthropicClientStream(attempt.adapter.chatStream(attempt.provider, { clientWantsUsage: true, model: attempt.model }), request.model);
  return chargedStream(c, executed, translator, { ...answer, errorEvent: anthropicSseError });
}
