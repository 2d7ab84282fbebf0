import { sseJsonReader } from "../../streaming/sse.ts";
import { isObject, type Json } from "../json.ts";
import type { CostOf, StreamTranslator, Usage } from "../types.ts";
import { mergeCounts } from "../usage.ts";
import { finishReason, normaliseAnthropicUsage } from "./usage.ts";
import { chunkEvent, endEvents, errorEvent } from "../../streaming/openai-events.ts";


/**
 * Anthropic Messages stream events → OpenAI `chat.completion.chunk` events.
 * Anthropic numbers content blocks across text, thinking and tools; OpenAI
 * numbers tool calls alone, so each tool_use block gets the next tool index.
 * Usage: input counts arrive in `message_start`, cumulative output counts in
 * `message_delta`; the usage chunk is sent only if the client asked for it.
 */
export function anthropicStream(options: { clientWantsUsage: boolean; created: number; costOf?: CostOf | undefined }): StreamTranslator {
  const events = sseJsonReader();
  let id = "chatcmpl-anthropic";
  let model: unknown = null;
  const rawUsage: Json = {};
  const toolIndex = new Map<number, number>();
  const toolsWithArguments = new Set<number>();
  // Thinking blocks by Anthropic index: their text and signature, sent whole as `thinking_blocks` when each ends.
  const thinking = new Map<number, { thinking: string; signature: string }>();
  let done = false;
  let inBand: string | null = null;
  // Real streams send `"input_tokens": null` in message_delta: only numbers may update the counts.
  const mergeUsage = (usage: unknown): void => mergeCounts(rawUsage, usage);

  const chunk = (delta: Json, finish: string | null = null): Uint8Array => chunkEvent({ id, created: options.created, model }, delta, finish);

  function handle(event: Json, emit: (bytes: Uint8Array) => void): void {
    switch (event.type) {
      case "message_start": {
        const message = isObject(event.message) ? event.message : {};
        if (typeof message.id === "string") id = message.id;
        model = message.model ?? null;
        mergeUsage(message.usage);
        emit(chunk({ role: "assistant", content: "" }));
        return;
      }
      case "content_block_start": {
        const block = isObject(event.content_block) ? event.content_block : {};
        if (block.type === "tool_use" && typeof event.index === "number") {
          const index = toolIndex.size;
          toolIndex.set(event.index, index);
          emit(chunk({ tool_calls: [{ index, id: block.id, type: "function", function: { name: block.name, arguments: "" } }] }));
        } else if (block.type === "text" && typeof block.text === "string" && block.text.length > 0) {
          emit(chunk({ content: block.text }));
        } else if (block.type === "thinking" && typeof event.index === "number") {
          thinking.set(event.index, { thinking: "", signature: "" });
        } else if (block.type === "redacted_thinking") {
          emit(chunk({ thinking_blocks: [{ type: "redacted_thinking", data: block.data }] }));
        }
        return;
      }
      case "content_block_delta": {
        const delta = isObject(event.delta) ? event.delta : {};
        if (delta.type === "text_delta") emit(chunk({ content: delta.text }));
        else if (delta.type === "thinking_delta") {
          const block = typeof event.index === "number" ? thinking.get(event.index) : undefined;
          if (block !== undefined && typeof delta.thinking === "string") block.thinking += delta.thinking;
          emit(chunk({ reasoning_content: delta.thinking }));
        } else if (delta.type === "signature_delta") {
          const block = typeof event.index === "number" ? thinking.get(event.index) : undefined;
          if (block !== undefined && typeof delta.signature === "string") block.signature += delta.signature;
        }
        else if (delta.type === "input_json_delta" && typeof event.index === "number") {
          const index = toolIndex.get(event.index);
          if (index !== undefined && typeof delta.partial_json === "string" && delta.partial_json.length > 0) {
            toolsWithArguments.add(index);
            emit(chunk({ tool_calls: [{ index, function: { arguments: delta.partial_json } }] }));
          }
        }
        return;
      }
      case "content_block_stop": {
        const signed = typeof event.index === "number" ? thinking.get(event.index) : undefined;
        if (signed !== undefined) emit(chunk({ thinking_blocks: [{ type: "thinking", ...signed }] }));
        // A tool called without arguments streams none: send "{}", as the non-streamed answer has.
        const index = typeof event.index === "number" ? toolIndex.get(event.index) : undefined;
        if (index !== undefined && !toolsWithArguments.has(index)) emit(chunk({ tool_calls: [{ index, function: { arguments: "{}" } }] }));
        return;
      }
      case "message_delta": {
        mergeUsage(event.usage);
        const delta = isObject(event.delta) ? event.delta : {};
        const finish = finishReason(delta.stop_reason);
        if (finish !== null) emit(chunk({}, finish));
        return;
      }
      case "message_stop": {
        done = true;
        endEvents({ id, created: options.created, model }, normaliseAnthropicUsage(rawUsage), options.clientWantsUsage, emit, options.costOf);
        return;
      }
      case "error": {
        const error = isObject(event.error) ? event.error : {};
        const message = typeof error.message === "string" ? error.message : "Anthropic reported an error mid-stream.";
        const type = typeof error.type === "string" ? error.type : null;
        emit(errorEvent(message, type ?? "upstream_error", type));
        done = true; // reported in-band already: the relay just closes
        inBand = message;
        return;
      }
      default:
        return; // ping, and event types added later
    }
  }

  return {
    push(bytes, emit) {
      events.push(bytes, (event) => handle(event, emit));
    },
    end(emit) {
      events.end((event) => handle(event, emit));
    },
    discardPartial() {
      events.discard();
    },
    usage: (): Usage | null => normaliseAnthropicUsage(rawUsage),
    completed: () => done,
    inBandError: () => inBand,
  };
}
