/**
 * OpenAI Chat Completions request → Gemini `generateContent` request.
 *
 * Gemini rejects unknown fields with a 400, so the body is built from the
 * OpenAI fields the gateway knows, never copied. OpenAI features with no
 * Gemini equivalent are refused with a 400 naming the parameter; hints that
 * change nothing in the answer (`user`, `store`, `metadata`, …) are dropped.
 * Gemini-only settings travel in a `google` object, as on Google's own
 * OpenAI-compatible endpoint (`safety_settings`, `cached_content`, `thinking_config`).
 */
import { invalidRequest } from "../../http/errors.ts";
import { isObject, type Json } from "../json.ts";
import { toGeminiContents } from "./contents.ts";
import { thinkingConfig } from "./thinking.ts";

function refuseUntranslatable(body: Readonly<Json>): void {
  const refuse = (param: string, why: string): never => {
    throw invalidRequest(`'${param}' cannot be translated for Gemini models: ${why}`, param, "unsupported_parameter");
  };
  if (body.logprobs === true || typeof body.top_logprobs === "number") refuse("logprobs", "log probabilities are not translated yet.");
  if (isObject(body.logit_bias) && Object.keys(body.logit_bias).length > 0) refuse("logit_bias", "Gemini has no token biases.");
  if (body.audio !== undefined && body.audio !== null) refuse("audio", "audio output is not translated.");
  if (Array.isArray(body.modalities) && body.modalities.some((m) => m !== "text")) refuse("modalities", "only text output is translated.");
  if (body.prediction !== undefined && body.prediction !== null) refuse("prediction", "Gemini has no predicted outputs.");
  if (body.web_search_options !== undefined && body.web_search_options !== null) refuse("web_search_options", "use Gemini's Google Search tool natively.");
  if (body.functions !== undefined || body.function_call !== undefined) refuse("functions", "use 'tools' and 'tool_choice' instead of the deprecated functions.");
}

function functionDeclarations(tools: unknown): Json[] | undefined {
  if (!Array.isArray(tools) || tools.length === 0) return undefined;
  return tools.map((tool, i) => {
    if (!isObject(tool) || tool.type !== "function" || !isObject(tool.function) || typeof tool.function.name !== "string") {
      throw invalidRequest("Only tools of type 'function' with a 'function.name' can be sent to Gemini.", `tools[${i}]`, "unsupported_value");
    }
    const declaration: Json = { name: tool.function.name };
    if (typeof tool.function.description === "string") declaration.description = tool.function.description;
    // parametersJsonSchema takes JSON Schema as it is; `parameters` would need an OpenAPI subset.
    if (isObject(tool.function.parameters)) declaration.parametersJsonSchema = tool.function.parameters;
    return declaration;
  });
}

function toolConfig(choice: unknown): Json | undefined {
  if (choice === "auto") return { functionCallingConfig: { mode: "AUTO" } };
  if (choice === "none") return { functionCallingConfig: { mode: "NONE" } };
  if (choice === "required") return { functionCallingConfig: { mode: "ANY" } };
  if (isObject(choice) && isObject(choice.function) && typeof choice.function.name === "string") {
    return { functionCallingConfig: { mode: "ANY", allowedFunctionNames: [choice.function.name] } };
  }
  if (choice === undefined || choice === null) return undefined;
  throw invalidRequest("'tool_choice' must be 'auto', 'none', 'required' or a named function.", "tool_choice", "invalid_value");
}

function responseFormat(format: unknown, config: Json): void {
  if (!isObject(format) || format.type === "text") return;
  if (format.type === "json_object") {
    config.responseMimeType = "application/json";
  } else if (format.type === "json_schema" && isObject(format.json_schema) && isObject(format.json_schema.schema)) {
    config.responseMimeType = "application/json";
    config.responseJsonSchema = format.json_schema.schema; // JSON Schema as it is
  } else {
    throw invalidRequest("'response_format' must be text, json_object, or json_schema with a 'schema'.", "response_format", "invalid_value");
  }
}

/** Gemini-only settings: `google`, or `extra_body.google` as Google's OpenAI-compatible endpoint documents it. */
function googleExtras(body: Readonly<Json>): Json {
  if (isObject(body.google)) return body.google;
  return isObject(body.extra_body) && isObject(body.extra_body.google) ? body.extra_body.google : {};
}

function generationConfig(body: Readonly<Json>, model: string, google: Json): Json {
  const config: Json = {};
  const number = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);
  if (number(body.temperature)) config.temperature = body.temperature;
  if (number(body.top_p)) config.topP = body.top_p;
  const cap = body.max_completion_tokens ?? body.max_tokens;
  if (number(cap)) config.maxOutputTokens = cap;
  const stops = typeof body.stop === "string" ? [body.stop] : Array.isArray(body.stop) ? body.stop.filter((s) => typeof s === "string") : [];
  if (stops.length > 0) config.stopSequences = stops;
  if (number(body.n) && body.n > 1) config.candidateCount = body.n;
  if (number(body.seed)) config.seed = body.seed;
  if (number(body.presence_penalty)) config.presencePenalty = body.presence_penalty;
  if (number(body.frequency_penalty)) config.frequencyPenalty = body.frequency_penalty;
  responseFormat(body.response_format, config);
  const thinking = isObject(google.thinking_config) ? google.thinking_config : thinkingConfig(model, body.reasoning_effort);
  if (thinking !== undefined) config.thinkingConfig = thinking;
  return config;
}

export function toGeminiRequest(body: Readonly<Json>, model: string): Json {
  refuseUntranslatable(body);
  const { system, contents } = toGeminiContents(Array.isArray(body.messages) ? body.messages : [], model);
  // OpenAI accepts a conversation of system messages alone; Gemini needs contents.
  if (contents.length === 0 && system.length > 0) contents.push({ role: "user", parts: system.splice(0) });
  const out: Json = { contents };
  if (system.length > 0) out.systemInstruction = { parts: system };
  const declarations = functionDeclarations(body.tools);
  if (declarations !== undefined) {
    out.tools = [{ functionDeclarations: declarations }];
    const config = toolConfig(body.tool_choice);
    if (config !== undefined) out.toolConfig = config;
  }
  const google = googleExtras(body);
  const config = generationConfig(body, model, google);
  if (Object.keys(config).length > 0) out.generationConfig = config;
  if (Array.isArray(google.safety_settings)) out.safetySettings = google.safety_settings;
  if (typeof google.cached_content === "string") out.cachedContent = google.cached_content;
  return out;
}
