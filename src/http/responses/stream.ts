/**
 * A provider's stream translator (whose output is Chat Completions chunks)
 * wrapped so that a /v1/responses client receives OpenAI's semantic events,
 * each with its `sequence_number`: `response.created` and `.in_progress`;
 * per output item `response.output_item.added` … `.done`; for text
 * `response.content_part.added`, `response.output_text.delta` and `.done`,
 * `response.content_part.done`; for thinking a reasoning item with
 * `response.reasoning_summary_part.added`, `response.reasoning_summary_text.delta`
 * and `.done`; for each tool call `response.function_call_arguments.delta` and
 * `.done` (for a custom tool `response.custom_tool_call_input.delta` and
 * `.done`, its input whole); then `response.completed` (or `response.incomplete`) with usage. An
 * error inside the stream is an `error` event followed by `response.failed`.
 */
import { encoder } from "../../streaming/bytes.ts";
import { clientStream } from "../../streaming/client-stream.ts";
import { isObject, type Json } from "../../providers/json.ts";
import type { CostOf, StreamTranslator } from "../../providers/types.ts";
import { callItem, clientToolMap, isCustomCall, type ClientTool } from "./tools.ts";
import { incompleteReason, messageItem, newId, reasoningItem, responseObject, responsesUsage, type ResponseIdentity } from "./response.ts";

interface OpenItem {
  readonly kind: "message" | "reasoning";
  readonly index: number;
  readonly id: string;
  text: string;
}

interface ToolItem {
  readonly index: number;
  readonly id: string;
  readonly callId: string;
  readonly name: string;
  /** A custom tool's input is only known whole (it comes wrapped in JSON arguments): sent as one delta at the end. */
  readonly custom: boolean;
  args: string;
}

/** Sequence numbers shared with the relay's error event, so an error after the commit point continues the count. */
export interface Sequence {
  next(): number;
}

export function responsesEvent(type: string, data: Json, sequence: Sequence): Uint8Array {
  return encoder.encode(`event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: sequence.next(), ...data })}\n\n`);
}

/**
 * `identity`: the response's id and whether it is kept; `onFinal` receives the final response
 * object (completed or incomplete, not failed) as the stream ends, to be stored.
 */
export interface ResponsesStreamOptions {
  readonly request: Readonly<Json>;
  readonly requestedModel: string;
  readonly sequence: Sequence;
  readonly identity: ResponseIdentity;
  readonly onFinal: (response: Json) => void;
  /** The gateway's cost of a usage, written into the final usage (`usage.cost`), as chat streams carry it. */
  readonly costOf?: CostOf | undefined;
}

export function responsesClientStream(inner: StreamTranslator, options: ResponsesStreamOptions): StreamTranslator {
  const { request, requestedModel, sequence, identity, onFinal, costOf } = options;
  const { id, store } = identity;
  const createdAt = Math.floor(Date.now() / 1000);
  const output: Json[] = [];
  let started = false;
  let failed: string | null = null;
  let open: OpenItem | null = null;
  const tools = new Map<number, ToolItem>();
  let clientTools: ReadonlyMap<string, ClientTool> | null = null;
  const item = (tool: ToolItem, status?: string): Json => {
    clientTools ??= clientToolMap(request);
    return callItem(clientTools, { id: tool.id, callId: tool.callId, name: tool.name, args: tool.args, ...(status !== undefined && { status }) });
  };
  let finish: unknown = null;
  const ev = (type: string, data: Json): Uint8Array => responsesEvent(type, data, sequence);
  const snapshot = (status: string, extra: Partial<{ usage: Json | null; incomplete: string | null }> = {}): Json =>
    responseObject(request, requestedModel, { id, store, createdAt, status, output: status === "in_progress" ? [] : output, usage: extra.usage ?? null, incomplete: extra.incomplete ?? null });

  function start(emit: (b: Uint8Array) => void): void {
    if (started) return;
    started = true;
    // The same response object in both events: written once.
    const response = JSON.stringify(snapshot("in_progress"));
    for (const type of ["response.created", "response.in_progress"]) {
      emit(encoder.encode(`event: ${type}\ndata: {"type":"${type}","sequence_number":${sequence.next()},"response":${response}}\n\n`));
    }
  }

  function close(emit: (b: Uint8Array) => void): void {
    if (open === null) return;
    const { kind, index, id: itemId, text } = open;
    open = null;
    if (kind === "message") {
      const part = { type: "output_text", text, annotations: [] };
      emit(ev("response.output_text.done", { item_id: itemId, output_index: index, content_index: 0, text }));
      emit(ev("response.content_part.done", { item_id: itemId, output_index: index, content_index: 0, part }));
      output[index] = messageItem(itemId, text);
    } else {
      emit(ev("response.reasoning_summary_text.done", { item_id: itemId, output_index: index, summary_index: 0, text }));
      emit(ev("response.reasoning_summary_part.done", { item_id: itemId, output_index: index, summary_index: 0, part: { type: "summary_text", text } }));
      output[index] = reasoningItem(itemId, text);
    }
    emit(ev("response.output_item.done", { output_index: index, item: output[index] }));
  }

  function textual(kind: OpenItem["kind"], delta: string, emit: (b: Uint8Array) => void): void {
    if (open?.kind !== kind) {
      close(emit);
      const index = output.length;
      const itemId = newId(kind === "message" ? "msg" : "rs");
      open = { kind, index, id: itemId, text: "" };
      output.push(kind === "message" ? { ...messageItem(itemId, "", "in_progress"), content: [] } : { type: "reasoning", id: itemId, summary: [] });
      emit(ev("response.output_item.added", { output_index: index, item: output[index] }));
      if (kind === "message") emit(ev("response.content_part.added", { item_id: itemId, output_index: index, content_index: 0, part: { type: "output_text", text: "", annotations: [] } }));
      else emit(ev("response.reasoning_summary_part.added", { item_id: itemId, output_index: index, summary_index: 0, part: { type: "summary_text", text: "" } }));
    }
    const item = open as OpenItem;
    item.text += delta;
    emit(deltaEvent(kind === "message" ? "response.output_text.delta" : "response.reasoning_summary_text.delta", item, delta));
  }

  /**
   * A text delta, the event a stream sends most: written from a template (the object OpenAI
   * sends, its fields in its order) rather than built and stringified, which costs a stream of
   * many small deltas measurably more CPU (npm run bench).
   */
  function deltaEvent(type: string, item: OpenItem, delta: string): Uint8Array {
    const where = type === "response.output_text.delta" ? `"content_index":0` : `"summary_index":0`;
    return encoder.encode(`event: ${type}\ndata: {"type":"${type}","sequence_number":${sequence.next()},"item_id":"${item.id}","output_index":${item.index},${where},"delta":${JSON.stringify(delta)}}\n\n`);
  }

  function toolDelta(call: Json, emit: (b: Uint8Array) => void): void {
    const toolIndex = typeof call.index === "number" ? call.index : 0;
    const fn = isObject(call.function) ? call.function : {};
    let tool = tools.get(toolIndex);
    if (tool === undefined) {
      close(emit);
      // A call id the provider gave twice would make two output items one to the SDK: the second gets its own.
      const given = typeof call.id === "string" && ![...tools.values()].some((t) => t.callId === call.id) ? call.id : newId("call");
      const name = typeof fn.name === "string" ? fn.name : "";
      clientTools ??= clientToolMap(request);
      const custom = isCustomCall(clientTools, name);
      tool = { index: output.length, id: newId(custom ? "ctc" : "fc"), callId: given, name, custom, args: "" };
      tools.set(toolIndex, tool);
      output.push(item(tool, "in_progress"));
      emit(ev("response.output_item.added", { output_index: tool.index, item: output[tool.index] }));
    }
    if (typeof fn.arguments === "string" && fn.arguments.length > 0) {
      tool.args += fn.arguments;
      if (!tool.custom) emit(ev("response.function_call_arguments.delta", { item_id: tool.id, output_index: tool.index, delta: fn.arguments }));
    }
  }

  function handle(chunk: Json, emit: (b: Uint8Array) => void): void {
    if (failed !== null) return;
    if (isObject(chunk.error)) {
      start(emit);
      const error = chunk.error;
      const message = typeof error.message === "string" ? error.message : "The provider reported an error.";
      const code = typeof error.code === "string" ? error.code : "upstream_error";
      emit(ev("error", { code, message, param: null }));
      emit(ev("response.failed", { response: { ...snapshot("failed"), error: { code, message } } }));
      failed = message;
      return;
    }
    start(emit);
    const choice = Array.isArray(chunk.choices) && isObject(chunk.choices[0]) ? chunk.choices[0] : null;
    if (choice === null) return; // the usage chunk: read from the inner translator at the end
    const delta = isObject(choice.delta) ? choice.delta : {};
    const reasoning = delta.reasoning_content ?? delta.reasoning;
    if (typeof reasoning === "string" && reasoning.length > 0) textual("reasoning", reasoning, emit);
    if (typeof delta.content === "string" && delta.content.length > 0) textual("message", delta.content, emit);
    if (Array.isArray(delta.tool_calls)) for (const call of delta.tool_calls) if (isObject(call)) toolDelta(call, emit);
    if (typeof choice.finish_reason === "string") finish = choice.finish_reason;
  }

  return clientStream(inner, {
    handle,
    failed: () => failed,
    finish(emit) {
      start(emit);
      close(emit);
      for (const tool of tools.values()) {
        const done = item(tool);
        output[tool.index] = done;
        const where = { item_id: tool.id, output_index: tool.index };
        if (tool.custom) {
          emit(ev("response.custom_tool_call_input.delta", { ...where, delta: done.input as string }));
          emit(ev("response.custom_tool_call_input.done", { ...where, input: done.input as string }));
        } else emit(ev("response.function_call_arguments.done", { ...where, arguments: tool.args }));
        emit(ev("response.output_item.done", { output_index: tool.index, item: done }));
      }
      const incomplete = incompleteReason(finish);
      const used = inner.usage();
      const cost = used === null ? null : (costOf?.(used) ?? null);
      const usage = responsesUsage(used === null || cost === null ? used : { ...used, cost });
      const status = incomplete === null ? "completed" : "incomplete";
      const final = snapshot(status, { usage, incomplete });
      emit(ev(`response.${status}`, { response: final }));
      onFinal(final);
    },
  });
}
