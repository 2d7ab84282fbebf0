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

/** The body without the built-in tools (what a translated target is sent: for its worst case). */
export const withoutBuiltInTools = (body: Readonly<Json>): Json =>
  ({ ...body, tools: Array.isArray(body.tools) ? body.tools.filter((t) => !isObject(t) || !isBuiltInTool(t)) : body.tools });

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

/** A tool the client runs, flattened: each namespace member on its own, with its namespace (and what the namespace says of itself). */
interface Flat {
  readonly tool: Json;
  readonly namespace?: string;
  readonly about?: string;
}

function* flatten(list: readonly unknown[]): Generator<Flat> {
  for (const t of list) {
    if (!isObject(t)) continue;
    if (t.type === "namespace" && Array.isArray(t.tools)) {
      const about = typeof t.description === "string" && t.description.length > 0 ? t.description : undefined;
      for (const member of t.tools) {
        if (isObject(member) && (member.type === "function" || member.type === "custom")) yield { tool: member, namespace: String(t.name), ...(about !== undefined && { about }) };
      }
    } else if (t.type === "function" || t.type === "custom") yield { tool: t };
  }
}

/** A member's description with its namespace's in front: the model sees no namespace otherwise. */
function described(flat: Flat, own: string): string {
  return flat.about === undefined ? own : own.length > 0 ? `${flat.about}\n\n${own}` : flat.about;
}

function customDescription(tool: Json): string {
  const format = isObject(tool.format) ? tool.format : null;
  const base = typeof tool.description === "string" ? tool.description : "";
  if (format === null || format.type !== "grammar" || typeof format.definition !== "string") return base;
  return `${base}\n\nThe input must match this ${String(format.syntax ?? "")} grammar:\n${format.definition}`;
}

/** The function a client tool is offered as. */
function chatFunction(flat: Flat, name: string): Json {
  const { tool } = flat;
  if (tool.type === "custom") {
    const description = described(flat, customDescription(tool));
    return {
      type: "function",
      function: {
        name,
        parameters: { type: "object", properties: { input: { type: "string", description: "The tool's whole input, as free text." } }, required: ["input"] },
        ...(description.length > 0 && { description }),
      },
    };
  }
  const description = described(flat, typeof tool.description === "string" ? tool.description : "");
  return {
    type: "function",
    function: {
      name,
      parameters: tool.parameters ?? { type: "object", properties: {} },
      ...(description.length > 0 && { description }),
      ...(typeof tool.strict === "boolean" && { strict: tool.strict }),
    },
  };
}

/**
 * Whether `tool_choice: { type: "allowed_tools" }` lets the model call `flat` this turn (no such
 * choice: every tool). An entry names a tool, a namespaced one by its namespace, or a whole namespace.
 */
function allowedFilter(choice: unknown): ((flat: Flat) => boolean) | null {
  if (!isObject(choice) || choice.type !== "allowed_tools" || !Array.isArray(choice.tools)) return null;
  const entries = choice.tools.filter(isObject);
  const names = new Set(entries.filter((t) => t.type !== "namespace").map((t) => chatName(t.name, t.namespace)));
  const spaces = new Set(entries.filter((t) => t.type === "namespace").map((t) => String(t.name)));
  return (flat) => (flat.namespace !== undefined && spaces.has(flat.namespace)) || names.has(chatName(flat.tool.name, flat.namespace));
}

/**
 * The client's tools as chat functions (narrowed to `allowed_tools` when the choice names them). Two
 * tools that would share a function name (a function `a__b` and member `b` of namespace `a`) are a
 * 400: the answer's call could not be told apart.
 */
export function chatTools(body: Readonly<Json>): Json[] {
  if (!Array.isArray(body.tools)) return [];
  const allowed = allowedFilter(body.tool_choice);
  const out: Json[] = [];
  const seen = new Set<string>();
  for (const flat of flatten(body.tools)) {
    const name = chatName(flat.tool.name, flat.namespace);
    if (seen.has(name)) {
      throw invalidRequest(`Two tools are named '${name}' (a namespace's tool is offered to this model's provider as '<namespace>__<name>'): rename one.`, "tools", "invalid_value");
    }
    seen.add(name);
    if (allowed === null || allowed(flat)) out.push(chatFunction(flat, name));
  }
  return out;
}

/** The chat name a forced choice names: a namespaced tool may be named bare when only one namespace has it. */
function chosenName(body: Readonly<Json>, choice: Json): string {
  const direct = chatName(choice.name, choice.namespace);
  const tools = clientToolMap(body);
  if (tools.has(direct) || typeof choice.namespace === "string") return direct;
  const members = [...tools].filter(([, t]) => t.name === choice.name && t.namespace !== undefined);
  return members.length === 1 && members[0] !== undefined ? members[0][0] : direct;
}

/** `tool_choice` in Chat Completions' words (undefined: leave the provider's default). */
export function chatToolChoice(body: Readonly<Json>, dropped: readonly string[]): unknown {
  const choice = body.tool_choice;
  if (choice === "auto" || choice === "none" || choice === "required") return choice;
  if (!isObject(choice)) return undefined;
  if (choice.type === "function" || choice.type === "custom") return { type: "function", function: { name: chosenName(body, choice) } };
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

/** Whether chat function `name` stands for a custom tool (its call is then a `custom_tool_call`, id `ctc_…`). */
export const isCustomCall = (tools: ReadonlyMap<string, ClientTool>, name: string): boolean => tools.get(name)?.kind === "custom";

/** The output item for a model's call of chat function `name` with `args` (a function the request never offered stays a plain call). */
export function callItem(tools: ReadonlyMap<string, ClientTool>, parts: { id: string; callId: string; name: string; args: string; status?: string }): Json {
  const tool = tools.get(parts.name);
  const namespace = tool?.namespace === undefined ? {} : { namespace: tool.namespace };
  if (tool?.kind === "custom") return { type: "custom_tool_call", id: parts.id, call_id: parts.callId, name: tool.name, input: customInput(parts.args), status: parts.status ?? "completed", ...namespace };
  return { type: "function_call", id: parts.id, call_id: parts.callId, name: tool?.name ?? parts.name, arguments: parts.args, status: parts.status ?? "completed", ...namespace };
}
