/**
 * The client's tools for a translated target, both ways. The Responses API
 * has three kinds a client runs itself: `function` tools, `custom` tools
 * (free-form text input, optionally held to a grammar: Codex's apply_patch)
 * and `namespace` groups of either (Codex's multi-agent tools). Chat
 * Completions, which every adapter speaks, has only functions, so a custom
 * tool becomes a function taking one string `input`, and a namespaced tool a
 * function named `<namespace>__<name>`; the answer's calls are mapped back
 * to the item the client registered (a `custom_tool_call` with its input, or
 * a `function_call` with its namespace), by name lookup rather than by
 * parsing the name. Every other tool type runs on OpenAI's servers (web
 * search, file search, code interpreter, computer use, MCP, image
 * generation): a translated target drops it.
 */
import { isObject, type Json } from "../../providers/json.ts";
import { PER_CALL_TOOL } from "../../providers/openai-compatible/responses.ts";
import { invalidRequest } from "../errors.ts";

/** The tool a chat function name stands for. */
export interface ClientTool {
  readonly kind: "function" | "custom";
  readonly name: string;
  readonly namespace?: string;
}

const CLIENT_KINDS = new Set(["function", "custom", "namespace"]);

/** Tools that run on OpenAI's side (web search, file search, code interpreter, computer use, MCP, image generation, …). */
export const isBuiltInTool = (tool: Json): boolean => !CLIENT_KINDS.has(String(tool.type));

/** Built-in tools a translated target cannot run: dropped from its request, named in `x-switchyard-dropped-tools`. */
export function droppedTools(body: Readonly<Json>): string[] {
  if (!Array.isArray(body.tools)) return [];
  return [...new Set(body.tools.filter((t): t is Json => isObject(t) && isBuiltInTool(t)).map((t) => String(t.type)))];
}

/** The body with `max_tool_calls: cap` when it offers a per-call tool and sets no bound itself (settings.ts responsesMaxToolCalls). */
export function withToolCallCap(body: Json, cap: number): Json {
  if (body.max_tool_calls !== undefined && body.max_tool_calls !== null) return body;
  const billed = Array.isArray(body.tools) && body.tools.some((t) => isObject(t) && typeof t.type === "string" && PER_CALL_TOOL.test(t.type));
  return billed ? { ...body, max_tool_calls: cap } : body;
}

/** The chat function name of a tool (or of a past call to it). */
export const chatName = (name: unknown, namespace: unknown): string =>
  typeof namespace === "string" && namespace.length > 0 ? `${namespace}__${String(name)}` : String(name);

/** A custom tool's input as function arguments, and back. */
export const customArguments = (input: unknown): string => JSON.stringify({ input: typeof input === "string" ? input : "" });

function customInput(args: string): string {
  try {
    const parsed: unknown = JSON.parse(args);
    if (isObject(parsed) && typeof parsed.input === "string") return parsed.input;
  } catch {
    // A model that answered with bare text instead of the wrapper: that text is the input.
  }
  return args;
}

/** A tool the client runs, flattened: each namespace member on its own, with its namespace. */
function* flatten(list: readonly unknown[]): Generator<{ tool: Json; namespace?: string }> {
  for (const t of list) {
    if (!isObject(t)) continue;
    if (t.type === "namespace" && Array.isArray(t.tools)) {
      for (const member of t.tools) if (isObject(member) && (member.type === "function" || member.type === "custom")) yield { tool: member, namespace: String(t.name) };
    } else if (t.type === "function" || t.type === "custom") yield { tool: t };
  }
}

function customDescription(tool: Json): string {
  const format = isObject(tool.format) ? tool.format : null;
  const base = typeof tool.description === "string" ? tool.description : "";
  if (format === null || format.type !== "grammar" || typeof format.definition !== "string") return base;
  return `${base}\n\nThe input must match this ${String(format.syntax ?? "")} grammar:\n${format.definition}`;
}

/** The function a client tool is offered as. */
function chatFunction(tool: Json, name: string): Json {
  if (tool.type === "custom") {
    const description = customDescription(tool);
    return {
      type: "function",
      function: {
        name,
        parameters: { type: "object", properties: { input: { type: "string", description: "The tool's whole input, as free text." } }, required: ["input"] },
        ...(description.length > 0 && { description }),
      },
    };
  }
  return {
    type: "function",
    function: {
      name,
      parameters: tool.parameters ?? { type: "object", properties: {} },
      ...(typeof tool.description === "string" && { description: tool.description }),
      ...(typeof tool.strict === "boolean" && { strict: tool.strict }),
    },
  };
}

/** The names `tool_choice: { type: "allowed_tools" }` lets the model call this turn (null: every tool). */
function allowedNames(choice: unknown): Set<string> | null {
  if (!isObject(choice) || choice.type !== "allowed_tools" || !Array.isArray(choice.tools)) return null;
  return new Set(choice.tools.filter(isObject).map((t) => chatName(t.name, t.namespace)));
}

/** The client's tools as chat functions (narrowed to `allowed_tools` when the choice names them). */
export function chatTools(body: Readonly<Json>): Json[] {
  if (!Array.isArray(body.tools)) return [];
  const allowed = allowedNames(body.tool_choice);
  const out: Json[] = [];
  for (const { tool, namespace } of flatten(body.tools)) {
    const name = chatName(tool.name, namespace);
    if (allowed === null || allowed.has(name)) out.push(chatFunction(tool, name));
  }
  return out;
}

/** `tool_choice` in Chat Completions' words (undefined: leave the provider's default). */
export function chatToolChoice(choice: unknown, dropped: readonly string[]): unknown {
  if (choice === "auto" || choice === "none" || choice === "required") return choice;
  if (!isObject(choice)) return undefined;
  if (choice.type === "function" || choice.type === "custom") return { type: "function", function: { name: chatName(choice.name, choice.namespace) } };
  if (choice.type === "allowed_tools") return choice.mode === "required" ? "required" : "auto";
  if (typeof choice.type === "string" && dropped.includes(choice.type)) {
    throw invalidRequest(`'tool_choice' requires the built-in tool '${choice.type}', which only OpenAI models can run.`, "tool_choice", "unsupported_tool");
  }
  return undefined;
}

/** Chat function name → the client's tool, for the request's tools (built once per answer that calls one). */
export function clientToolMap(body: Readonly<Json>): ReadonlyMap<string, ClientTool> {
  const map = new Map<string, ClientTool>();
  if (!Array.isArray(body.tools)) return map;
  for (const { tool, namespace } of flatten(body.tools)) {
    const name = chatName(tool.name, namespace);
    if (!map.has(name)) map.set(name, { kind: tool.type === "custom" ? "custom" : "function", name: String(tool.name), ...(namespace !== undefined && { namespace }) });
  }
  return map;
}

/** The output item for a model's call of chat function `name` with `args` (a function the request never offered stays a plain call). */
export function callItem(tools: ReadonlyMap<string, ClientTool>, parts: { id: string; callId: string; name: string; args: string; status?: string }): Json {
  const tool = tools.get(parts.name);
  const namespace = tool?.namespace === undefined ? {} : { namespace: tool.namespace };
  if (tool?.kind === "custom") return { type: "custom_tool_call", id: parts.id, call_id: parts.callId, name: tool.name, input: customInput(parts.args), ...namespace };
  return { type: "function_call", id: parts.id, call_id: parts.callId, name: tool?.name ?? parts.name, arguments: parts.args, status: parts.status ?? "completed", ...namespace };
}
