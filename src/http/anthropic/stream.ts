import { encoder } from "../../streaming/bytes.ts";
import { clientStream } from "../../streaming/client-stream.ts";
import { isObject, type Json } from "../../providers/json.ts";
import type { StreamTranslator } from "../../providers/types.ts";
import { ANTHROPIC_ERROR_TYPES, anthropicErrorType } from "./errors.ts";
import { anthropicUsage, messageId, stopReason } from "./response.ts";

const event = (type: string, data: Json): Uint8Array => encoder.encode(`event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`);

type OpenBlock = { kind: "text" | "thinking"; index: number };

/**
 * Wraps a provider's stream translator (whose output is OpenAI chunks) so that
 * a /v1/messages client receives Anthropic's event sequence: `message_start`,
 * `content_block_start/delta/stop` for text, thinking and each tool call (its
 * arguments as `input_json_delta`), then `message_delta` with the stop reason
 * and usage, and `message_stop`. The inner translator is always asked for the
 * usage chunk: Anthropic clients expect usage in `message_delta`.
 */
export function anthropicClientStream(inner: StreamTranslator, requestedModel: string): StreamTranslator {
  let started = false;
  let failed: string | null = null; // the error relayed in-band, which ends the stream
  let nextIndex = 0;
  let open: OpenBlock | null = null; // the text or thinking block being written
  // OpenAI tool index → Anthropic block index. Tool blocks stay open to the end: a provider may
  // interleave the argument pieces of parallel calls, and a closed block takes no more deltas.
  const toolBlocks = new Map<number, number>();
  let stop = "end_turn";

  function start(chunk: Json, emit: (b: Uint8Array) => void): void {
    if (started) return;
    started = true;
    const message = {
      id: messageId(chunk.id),
      type: "message",
      role: "assistant",
      model: typeof chunk.model === "string" ? chunk.model : requestedModel,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: { input_tokens: 0, output_tokens: 0 },
    };
    emit(event("message_start", { message }));
  }

  function close(emit: (b: Uint8Array) => void): void {
    if (open !== null) emit(event("content_block_stop", { index: open.index }));
    open = null;
  }

  function textual(kind: "text" | "thinking", text: string, emit: (b: Uint8Array) => void): void {
    if (open?.kind !== kind) {
      close(emit);
      open = { kind, index: nextIndex++ };
      const block = kind === "text" ? { type: "text", text: "" } : { type: "thinking", thinking: "", signature: "" };
      emit(event("content_block_start", { index: open.index, content_block: block }));
    }
    const delta = kind === "text" ? { type: "text_delta", text } : { type: "thinking_delta", thinking: text };
    emit(event("content_block_delta", { index: open.index, delta }));
  }

  function toolDelta(call: Json, emit: (b: Uint8Array) => void): void {
    const toolIndex = typeof call.index === "number" ? call.index : 0;
    const fn = isObject(call.function) ? call.function : {};
    let index = toolBlocks.get(toolIndex);
    if (index === undefined) {
      close(emit);
      index = nextIndex++;
      toolBlocks.set(toolIndex, index);
      emit(event("content_block_start", { index, content_block: { type: "tool_use", id: call.id, name: fn.name, input: {} } }));
    }
    // Providers that send a call whole send its arguments at once; either way they arrive as partial JSON.
    if (typeof fn.arguments === "string" && fn.arguments.length > 0) {
      emit(event("content_block_delta", { index, delta: { type: "input_json_delta", partial_json: fn.arguments } }));
    }
  }

  function handle(chunk: Json, emit: (b: Uint8Array) => void): void {
    if (failed !== null) return; // nothing follows an error event
    if (isObject(chunk.error)) {
      const error = chunk.error;
      const type = typeof error.type === "string" && ANTHROPIC_ERROR_TYPES.has(error.type) ? error.type : anthropicErrorType(502);
      const message = typeof error.message === "string" ? error.message : "The provider reported an error.";
      emit(event("error", { error: { type, message } }));
      failed = message;
      return;
    }
    start(chunk, emit);
    const choice = Array.isArray(chunk.choices) && isObject(chunk.choices[0]) ? chunk.choices[0] : null;
    if (choice === null) return; // the usage chunk: its numbers are read from the inner translator at the end
    const delta = isObject(choice.delta) ? choice.delta : {};
    const reasoning = delta.reasoning_content ?? delta.reasoning;
    if (typeof reasoning === "string" && reasoning.length > 0) textual("thinking", reasoning, emit);
    if (typeof delta.content === "string" && delta.content.length > 0) textual("text", delta.content, emit);
    if (Array.isArray(delta.tool_calls)) for (const call of delta.tool_calls) if (isObject(call)) toolDelta(call, emit);
    if (typeof choice.finish_reason === "string") stop = stopReason(choice.finish_reason);
  }

  return clientStream(inner, {
    handle,
    failed: () => failed,
    finish(emit) {
      start({}, emit);
      close(emit);
      for (const index of toolBlocks.values()) emit(event("content_block_stop", { index }));
      // Some providers end a turn with tool calls as "stop": the client's tool loop keys on tool_use.
      const reason = toolBlocks.size > 0 && stop !== "max_tokens" ? "tool_use" : stop;
      emit(event("message_delta", { delta: { stop_reason: reason, stop_sequence: null }, usage: anthropicUsage(inner.usage()) }));
      emit(event("message_stop", {}));
    },
  });
}
