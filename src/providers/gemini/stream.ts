import { chunkEvent, endEvents, errorEvent } from "../../streaming/openai-events.ts";
import { sseJsonReader } from "../../streaming/sse.ts";
import { isObject, type Json } from "../json.ts";
import type { CostOf, StreamTranslator, Usage } from "../types.ts";
import { geminiErrorDetail } from "./errors.ts";
import { readParts } from "./parts.ts";
import { failureWithoutAnswer, finishReason, normaliseGeminiUsage } from "./usage.ts";

interface CandidateState {
  toolCalls: number;
  /** Text or a tool call was sent (reasoning alone is no answer). */
  answered: boolean;
  finished: boolean;
}

/**
 * Gemini `streamGenerateContent?alt=sse` events → OpenAI `chat.completion.chunk`
 * events. Every Gemini event is a whole `GenerateContentResponse` holding the
 * next parts of each candidate; function calls arrive whole, so each is sent
 * as one tool-call delta with its own index. `usageMetadata` is cumulative:
 * the last one seen is the answer's usage. Gemini sends no end marker: the
 * answer is complete once every candidate has a `finishReason`, and the
 * `[DONE]` (after the usage chunk, if the client asked for it) is sent when
 * the upstream closes.
 */
export function geminiStream(options: { clientWantsUsage: boolean; created: number; costOf?: CostOf | undefined }): StreamTranslator {
  const events = sseJsonReader();
  let id = "";
  let model: unknown = null;
  let rawUsage: unknown = undefined;
  const candidates = new Map<number, CandidateState>();
  let failed: string | null = null; // the error relayed in-band, which ends the stream

  const chunk = (index: number, delta: Json, finish: string | null = null): Uint8Array => chunkEvent({ id, created: options.created, model }, delta, finish, index);

  const finished = (): boolean => {
    if (candidates.size === 0) return false;
    for (const c of candidates.values()) if (!c.finished) return false;
    return true;
  };

  function stateOf(index: number, emit: (bytes: Uint8Array) => void): CandidateState {
    let state = candidates.get(index);
    if (state === undefined) {
      state = { toolCalls: 0, answered: false, finished: false };
      candidates.set(index, state);
      emit(chunk(index, { role: "assistant", content: "" }));
    }
    return state;
  }

  function handle(event: Json, emit: (bytes: Uint8Array) => void): void {
    if (failed !== null) return; // nothing follows an error event
    if (isObject(event.error)) {
      const detail = geminiErrorDetail(event.error);
      emit(errorEvent(detail.message, detail.type ?? "upstream_error", detail.code));
      failed = detail.message; // reported in-band already: the relay just closes
      return;
    }
    if (id === "") id = typeof event.responseId === "string" ? event.responseId : `gemini-${options.created}`;
    if (model === null && typeof event.modelVersion === "string") model = event.modelVersion;
    if (event.usageMetadata !== undefined) rawUsage = event.usageMetadata;
    const list = Array.isArray(event.candidates) ? event.candidates : [];
    if (list.length === 0 && isObject(event.promptFeedback) && typeof event.promptFeedback.blockReason === "string") {
      // The prompt itself was blocked: no candidate will come.
      stateOf(0, emit).finished = true;
      emit(chunk(0, {}, "content_filter"));
      return;
    }
    for (const [position, candidate] of list.entries()) {
      if (!isObject(candidate)) continue;
      const index = typeof candidate.index === "number" ? candidate.index : position;
      const state = stateOf(index, emit);
      const { text, reasoning, toolCalls } = readParts(candidate.content, { responseId: id, candidate: index, firstCall: state.toolCalls });
      if (reasoning.length > 0) emit(chunk(index, { reasoning_content: reasoning }));
      if (text.length > 0) emit(chunk(index, { content: text }));
      for (const call of toolCalls) emit(chunk(index, { tool_calls: [{ index: state.toolCalls++, ...call }] }));
      state.answered ||= text.length > 0 || toolCalls.length > 0;
      // A failure in the first event fails the attempt (the adapter's streamError); later, only an error event can say it.
      const failure = failureWithoutAnswer(candidate, state.answered);
      if (failure !== null) {
        emit(errorEvent(failure, "upstream_error", "upstream_bad_response"));
        failed = failure;
        return;
      }
      const finish = finishReason(candidate.finishReason, state.toolCalls > 0);
      if (finish !== null && !state.finished) {
        state.finished = true;
        emit(chunk(index, {}, finish));
      }
    }
  }

  const usage = (): Usage | null => normaliseGeminiUsage(rawUsage);

  return {
    push(bytes, emit) {
      events.push(bytes, (event) => handle(event, emit));
    },
    end(emit) {
      events.end((event) => handle(event, emit));
      if (failed !== null || !finished()) return;
      endEvents({ id, created: options.created, model }, usage(), options.clientWantsUsage, emit, options.costOf);
    },
    discardPartial() {
      events.discard();
    },
    usage,
    completed: () => failed !== null || finished(),
    inBandError: () => failed,
  };
}
