/**
 * A Chat Completions answer (the canonical format every adapter yields) → a
 * Responses API `response` object: reasoning (as a summary), the message's
 * text and each tool call as output items (as the kind of tool the client
 * registered: tools.ts), the status (`incomplete` with its
 * reason when the answer was cut at the output cap or by a content filter),
 * and usage in the Responses API's names. The request's settings are echoed
 * as OpenAI echoes them.
 */
import { isObject, type Json } from "../../providers/json.ts";
import type { Usage } from "../../providers/types.ts";
import { callItem, clientToolMap, isCustomCall } from "./tools.ts";

const hex = (): string => crypto.randomUUID().replaceAll("-", "");
export const newId = (prefix: string): string => `${prefix}_${hex()}`;

/** Usage in the Responses API's names (with the gateway's cost, when known). */
export function responsesUsage(usage: Usage | null): Json | null {
  if (usage === null) return null;
  return {
    input_tokens: usage.prompt_tokens,
    input_tokens_details: { cached_tokens: usage.prompt_tokens_details?.cached_tokens ?? 0 },
    output_tokens: usage.completion_tokens,
    output_tokens_details: { reasoning_tokens: usage.completion_tokens_details?.reasoning_tokens ?? 0 },
    total_tokens: usage.prompt_tokens + usage.completion_tokens,
    ...(usage.cost !== undefined && { cost: usage.cost }),
  };
}

/** Why an answer is incomplete, from its finish reason (null: it is complete). */
export function incompleteReason(finish: unknown): string | null {
  if (finish === "length") return "max_output_tokens";
  if (finish === "content_filter") return "content_filter";
  return null;
}

/** The response object around `output`: the request's settings echoed, as OpenAI does. */
export function responseObject(request: Readonly<Json>, requestedModel: string, parts: { id: string; createdAt: number; status: string; output: Json[]; usage: Json | null; incomplete: string | null; store: boolean }): Json {
  const text = isObject(request.text) ? request.text : { format: { type: "text" } };
  return {
    id: parts.id,
    object: "response",
    created_at: parts.createdAt,
    status: parts.status,
    error: null,
    incomplete_details: parts.incomplete === null ? null : { reason: parts.incomplete },
    instructions: request.instructions ?? null,
    max_output_tokens: request.max_output_tokens ?? null,
    model: requestedModel,
    output: parts.output,
    parallel_tool_calls: request.parallel_tool_calls ?? true,
    previous_response_id: request.previous_response_id ?? null,
    reasoning: { effort: isObject(request.reasoning) ? (request.reasoning.effort ?? null) : null, summary: null },
    store: parts.store,
    temperature: request.temperature ?? 1,
    text,
    tool_choice: request.tool_choice ?? "auto",
    tools: Array.isArray(request.tools) ? request.tools : [],
    top_p: request.top_p ?? 1,
    truncation: "disabled",
    usage: parts.usage,
    user: request.user ?? null,
    metadata: isObject(request.metadata) ? request.metadata : {},
  };
}

export const messageItem = (id: string, text: string, status = "completed"): Json => ({
  type: "message",
  id,
  status,
  role: "assistant",
  content: [{ type: "output_text", text, annotations: [] }],
});

export const reasoningItem = (id: string, summary: string): Json => ({ type: "reasoning", id, summary: [{ type: "summary_text", text: summary }] });

/** Who the response is: its id, and whether the gateway keeps it (store.ts). */
export interface ResponseIdentity {
  readonly id: string;
  readonly store: boolean;
}

/** A whole Chat Completions answer as a response object. */
export function chatToResponse(completion: Readonly<Json>, usage: Usage | null, request: Readonly<Json>, requestedModel: string, identity: ResponseIdentity): Json {
  const choice = Array.isArray(completion.choices) && isObject(completion.choices[0]) ? completion.choices[0] : {};
  const message = isObject(choice.message) ? choice.message : {};
  const output: Json[] = [];
  const reasoning = message.reasoning_content ?? message.reasoning;
  if (typeof reasoning === "string" && reasoning.length > 0) output.push(reasoningItem(newId("rs"), reasoning));
  const text = typeof message.content === "string" ? message.content : "";
  if (text.length > 0 || !Array.isArray(message.tool_calls)) output.push(messageItem(newId("msg"), text));
  const calls = Array.isArray(message.tool_calls) ? message.tool_calls : [];
  const tools = calls.length > 0 ? clientToolMap(request) : new Map<string, never>();
  for (const call of calls) {
    if (!isObject(call)) continue;
    const fn = isObject(call.function) ? call.function : {};
    const name = String(fn.name ?? "");
    output.push(callItem(tools, { id: newId(isCustomCall(tools, name) ? "ctc" : "fc"), callId: String(call.id ?? newId("call")), name, args: typeof fn.arguments === "string" ? fn.arguments : "{}" }));
  }
  const incomplete = incompleteReason(choice.finish_reason);
  return responseObject(request, requestedModel, {
    id: identity.id,
    store: identity.store,
    createdAt: typeof completion.created === "number" ? completion.created : Math.floor(Date.now() / 1000),
    status: incomplete === null ? "completed" : "incomplete",
    output,
    usage: responsesUsage(usage),
    incomplete,
  });
}
