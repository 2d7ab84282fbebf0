/**
 * ConverseStream's binary event stream → OpenAI `chat.completion.chunk` SSE
 * events, frame by frame as they arrive. Converse numbers content blocks
 * across text, reasoning and tools; OpenAI numbers tool calls alone, so each
 * toolUse block gets the next tool index. `messageStop` carries the stop
 * reason and `metadata` (after it) the usage: the usage chunk and `[DONE]`
 * wait for it.
 */
import { decoder } from "../../streaming/bytes.ts";
import { isObject, type Json } from "../json.ts";
import type { CostOf, StreamTranslator, Usage } from "../types.ts";
import { exceptionDetail } from "./errors.ts";
import { EventStreamDecoder, type EventMessage } from "./event-stream.ts";
import { finishReason, normaliseConverseUsage } from "./usage.ts";
import { chunkEvent, endEvents, errorEvent } from "../../streaming/openai-events.ts";

const header = (message: EventMessage, name: string): string | null => {
  const value = message.headers.get(name);
  return typeof value === "string" ? value : null;
};

function payloadJson(message: EventMessage): Json {
  try {
    const parsed: unknown = JSON.parse(decoder.decode(message.payload));
    return isObject(parsed) ? parsed : {};
  } catch {
    return {};
  }
}

/** The error a frame reports (`:message-type` exception or error), or null for an event. */
export function frameError(message: EventMessage): ReturnType<typeof exceptionDetail> | null {
  const kind = header(message, ":message-type");
  if (kind === "exception") return exceptionDetail(header(message, ":exception-type"), payloadJson(message), true);
  if (kind === "error") {
    return exceptionDetail(header(message, ":error-code"), { message: header(message, ":error-message") }, true);
  }
  return null;
}

export function converseStream(options: { clientWantsUsage: boolean; created: number; model: string; id: string; costOf?: CostOf | undefined }): StreamTranslator {
  const frames = new EventStreamDecoder();
  const { id, model, created } = options;
  const toolIndex = new Map<number, number>();
  const toolsWithArguments = new Set<number>();
  let usage: Usage | null = null;
  let stopped = false;
  let done = false;
  let inBand: string | null = null;

  const chunk = (delta: Json, finish: string | null = null): Uint8Array => chunkEvent({ id, created, model }, delta, finish);

  const finish = (emit: (bytes: Uint8Array) => void): void => {
    done = true;
    endEvents({ id, created, model }, usage, options.clientWantsUsage, emit, options.costOf);
  };

  function handle(message: EventMessage, emit: (bytes: Uint8Array) => void): void {
    // After [DONE] (or an error event) the client's stream is over: nothing more may follow it.
    if (done) return;
    const error = frameError(message);
    if (error !== null) {
      emit(errorEvent(error.message, error.type ?? "upstream_error", error.code));
      done = true; // reported in-band already: the relay just closes
      inBand = error.message;
      return;
    }
    const event = payloadJson(message);
    switch (header(message, ":event-type")) {
      case "messageStart":
        emit(chunk({ role: "assistant", content: "" }));
        return;
      case "contentBlockStart": {
        const start = isObject(event.start) ? event.start : {};
        if (isObject(start.toolUse) && typeof event.contentBlockIndex === "number") {
          const index = toolIndex.size;
          toolIndex.set(event.contentBlockIndex, index);
          emit(chunk({ tool_calls: [{ index, id: start.toolUse.toolUseId, type: "function", function: { name: start.toolUse.name, arguments: "" } }] }));
        }
        return;
      }
      case "contentBlockDelta": {
        const delta = isObject(event.delta) ? event.delta : {};
        if (typeof delta.text === "string") emit(chunk({ content: delta.text }));
        else if (isObject(delta.reasoningContent) && typeof delta.reasoningContent.text === "string") {
          emit(chunk({ reasoning_content: delta.reasoningContent.text }));
        } else if (isObject(delta.toolUse) && typeof event.contentBlockIndex === "number") {
          const index = toolIndex.get(event.contentBlockIndex);
          const input = delta.toolUse.input;
          if (index !== undefined && typeof input === "string" && input.length > 0) {
            toolsWithArguments.add(index);
            emit(chunk({ tool_calls: [{ index, function: { arguments: input } }] }));
          }
        }
        return;
      }
      case "contentBlockStop": {
        // A tool called without arguments streams none: send "{}", as the non-streamed answer has.
        const index = typeof event.contentBlockIndex === "number" ? toolIndex.get(event.contentBlockIndex) : undefined;
        if (index !== undefined && !toolsWithArguments.has(index)) emit(chunk({ tool_calls: [{ index, function: { arguments: "{}" } }] }));
        return;
      }
      case "messageStop":
        stopped = true;
        emit(chunk({}, finishReason(event.stopReason) ?? "stop"));
        return;
      case "metadata":
        usage = normaliseConverseUsage(event.usage, event);
        if (stopped) finish(emit);
        return;
      default:
        return; // event types added later
    }
  }

  return {
    // A frame whose checksum fails throws (after the frames before it are handled): the relay ends the stream with an error event.
    push(bytes, emit) {
      frames.push(bytes, (message) => handle(message, emit));
    },
    end(emit) {
      // The answer was whole (messageStop) but the usage frame never came: close it anyway.
      if (stopped && !done) finish(emit);
    },
    discardPartial() {
      frames.reset();
    },
    usage: () => usage,
    completed: () => stopped || done,
    inBandError: () => inBand,
  };
}
