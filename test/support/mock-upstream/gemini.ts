// POST …/models/<model>:generateContent, :streamGenerateContent?alt=sse, :batchEmbedContents — the Gemini API
// (Google AI Studio, v1beta): its key header, its validation (unknown fields, turn order, thought signatures),
// its answer and event shapes (CRLF-separated SSE, no [DONE]) and Google's pretty-printed error bodies.
import type { IncomingMessage } from 'node:http';
import { contentDeltas, stream } from './chat.ts';
import { embed } from './embeddings.ts';
import type { Ctx } from './response.ts';
import { send, untilClosed, wait } from './response.ts';
import type { Obj } from './shared.ts';
import { isObj, nonNegInt, nonNegNum, randomHex } from './shared.ts';

const STATUS_NAMES: Record<number, string> = {
  400: 'INVALID_ARGUMENT', 401: 'UNAUTHENTICATED', 403: 'PERMISSION_DENIED', 404: 'NOT_FOUND', 413: 'INVALID_ARGUMENT',
  429: 'RESOURCE_EXHAUSTED', 500: 'INTERNAL', 503: 'UNAVAILABLE', 504: 'DEADLINE_EXCEEDED',
};
const DEFAULT_MESSAGES: Record<string, string> = {
  INVALID_ARGUMENT: 'Request contains an invalid argument.',
  FAILED_PRECONDITION: 'User location is not supported for the API use.',
  RESOURCE_EXHAUSTED: 'You exceeded your current quota, please check your plan and billing details. For more information on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits.',
  INTERNAL: 'An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting',
  UNAVAILABLE: 'The model is overloaded. Please try again later.',
  DEADLINE_EXCEEDED: 'Deadline expired before operation could complete.',
  PERMISSION_DENIED: 'The caller does not have permission',
};
const UNREGISTERED = 'Method doesn\'t allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.';
const BAD_KEY = 'API key not valid. Please pass a valid API key.';
/** The placeholders Google documents for histories without a real signature. */
const DUMMY_SIGNATURES = new Set(['skip_thought_signature_validator', 'context_engineering_is_the_way_to_go']);
const issuedSignatures = new Set<string>();

const TOP_FIELDS = ['contents', 'tools', 'toolConfig', 'safetySettings', 'systemInstruction', 'generationConfig', 'cachedContent'];
const GENERATION_FIELDS = [
  'stopSequences', 'responseMimeType', 'responseSchema', 'responseJsonSchema', 'responseModalities', 'candidateCount', 'maxOutputTokens',
  'temperature', 'topP', 'topK', 'seed', 'presencePenalty', 'frequencyPenalty', 'responseLogprobs', 'logprobs', 'enableEnhancedCivicAnswers',
  'speechConfig', 'thinkingConfig', 'imageConfig', 'mediaResolution',
];
const PART_FIELDS = ['text', 'thought', 'thoughtSignature', 'inlineData', 'fileData', 'functionCall', 'functionResponse', 'executableCode', 'codeExecutionResult', 'videoMetadata'];
const DECLARATION_FIELDS = ['name', 'description', 'parameters', 'parametersJsonSchema', 'response', 'responseJsonSchema', 'behavior'];

const snake = (s: string): string => s.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
const camel = (s: string): string => s.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());

interface GoogleError { code: number; status: string; message: string; details?: Obj[] }

/** Google sends its errors pretty-printed, two spaces. */
export function sendGoogleError(ctx: Ctx, e: GoogleError, extra?: Record<string, string>): void {
  send(ctx, e.code, JSON.stringify({ error: { code: e.code, message: e.message, status: e.status, ...(e.details ? { details: e.details } : {}) } }, null, 2), 'application/json; charset=UTF-8', extra);
}

const invalid = (message: string, details?: Obj[]): GoogleError => ({ code: 400, status: 'INVALID_ARGUMENT', message, ...(details ? { details } : {}) });

/** The error of `mock.status` (with `errorStatus`, `errorMessage`, `retryDelay`), in Google's words. */
function faultError(status: number, mock: Obj): GoogleError {
  const name = typeof mock.errorStatus === 'string' ? mock.errorStatus : STATUS_NAMES[status] ?? (status >= 500 ? 'INTERNAL' : 'INVALID_ARGUMENT');
  const message = typeof mock.errorMessage === 'string' ? mock.errorMessage : DEFAULT_MESSAGES[name] ?? 'Request failed.';
  const details: Obj[] = [];
  if (name === 'RESOURCE_EXHAUSTED') {
    details.push(
      { '@type': 'type.googleapis.com/google.rpc.QuotaFailure', violations: [{ quotaMetric: 'generativelanguage.googleapis.com/generate_content_free_tier_requests', quotaId: 'GenerateRequestsPerMinutePerProjectPerModel-FreeTier', quotaValue: '10' }] },
      { '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: typeof mock.retryDelay === 'string' ? mock.retryDelay : '1s' },
    );
  }
  return { code: status, status: name, message, ...(details.length > 0 ? { details } : {}) };
}

/** `Invalid JSON payload received. Unknown name "x" at 'y': Cannot find field.` for the first unknown key of `obj`. */
function unknownField(obj: Obj, known: string[], at: string): GoogleError | null {
  for (const key of Object.keys(obj)) {
    if (known.includes(camel(key))) continue;
    const description = `Invalid JSON payload received. Unknown name "${key}"${at ? ` at '${at}'` : ''}: Cannot find field.`;
    return invalid(description, [{ '@type': 'type.googleapis.com/google.rpc.BadRequest', fieldViolations: [{ ...(at ? { field: at } : {}), description }] }]);
  }
  return null;
}

const partsOf = (content: Obj): Obj[] => (Array.isArray(content.parts) ? content.parts.filter(isObj) : []);

/** The models Google serves, by method (retired ones, such as gemini-1.0-pro and gemini-1.5-*, are not found). */
function serves(model: string, method: string): boolean {
  if (method === 'batchEmbedContents') return /^(gemini-embedding-\d+|text-embedding-004)$/.test(model);
  return /^gemini-(2\.0|2\.5|[3-9](\.\d+)?)-(flash|pro)/.test(model) || /^gemini-(pro|flash|flash-lite)-latest$/.test(model) || /^gemma-3/.test(model);
}

/** Gemini 3 and later (the `-latest` aliases point at Gemini 3 models): signed calls, each with an id. */
const isGemini3 = (model: string): boolean => /^gemini-(3|pro-latest|flash-latest|flash-lite-latest)/.test(model);

const MISPAIRED = 'Please ensure that the function response parts answer the function call parts of the function call turn.';

/**
 * Each response must answer its call: by the call's id where Gemini issued ids (Gemini 3), by
 * position otherwise. Google documents the pairing but not its wording for a mismatch; the
 * message follows its wording for a count mismatch.
 */
function mispaired(calls: Obj[], responses: Obj[]): GoogleError | null {
  const callIds = calls.map((c) => (isObj(c.functionCall) ? c.functionCall.id : undefined));
  if (callIds.some((id) => typeof id === 'string')) {
    const answered = responses.map((r) => (isObj(r.functionResponse) ? r.functionResponse.id : undefined));
    const matches = [...answered].sort().join('\u0000') === [...callIds].sort().join('\u0000');
    return matches ? null : invalid(`${MISPAIRED} functionResponse ids [${answered.join(', ')}] do not match functionCall ids [${callIds.join(', ')}].`);
  }
  const name = (p: unknown): unknown => (isObj(p) ? p.name : undefined);
  for (const [k, r] of responses.entries()) {
    if (name(r.functionResponse) !== name(calls[k]?.functionCall)) {
      return invalid(`${MISPAIRED} function response ${k + 1} is for \`${String(name(r.functionResponse))}\`, function call ${k + 1} is \`${String(name(calls[k]?.functionCall))}\`.`);
    }
  }
  return null;
}

/** The request checks Gemini makes before generating, in the order it makes them. */
function validate(body: Obj, model: string): GoogleError | null {
  const unknown = unknownField(body, TOP_FIELDS, '');
  if (unknown) return unknown;
  if (isObj(body.generationConfig)) {
    const bad = unknownField(body.generationConfig, GENERATION_FIELDS, 'generation_config');
    if (bad) return bad;
  }
  const tools = Array.isArray(body.tools) ? body.tools : [];
  for (const [i, tool] of tools.entries()) {
    const declarations = isObj(tool) && Array.isArray(tool.functionDeclarations) ? tool.functionDeclarations : [];
    for (const [j, d] of declarations.entries()) {
      const bad = isObj(d) ? unknownField(d, DECLARATION_FIELDS, `tools[${i}].function_declarations[${j}]`) : null;
      if (bad) return bad;
    }
  }
  if (!Array.isArray(body.contents) || body.contents.length === 0) return invalid('* GenerateContentRequest.contents: contents is not specified\n');
  let previous: { role: string; calls: Obj[]; responses: number } | null = null;
  for (const [i, content] of body.contents.entries()) {
    if (!isObj(content)) return invalid(`Invalid value at 'contents[${i}]' (type.googleapis.com/google.ai.generativelanguage.v1beta.Content)`);
    const role = content.role ?? 'user';
    if (role !== 'user' && role !== 'model') return invalid('Please use a valid role: user, model.');
    const parts = partsOf(content);
    if (parts.length === 0) return invalid(`* GenerateContentRequest.contents[${i}].parts: contents.parts must not be empty.\n`);
    for (const [j, p] of parts.entries()) {
      const bad = unknownField(p, PART_FIELDS, `contents[${i}].parts[${j}]`);
      if (bad) return bad;
    }
    const calls = parts.filter((p) => isObj(p.functionCall));
    const responseParts = parts.filter((p) => isObj(p.functionResponse));
    const responses = responseParts.length;
    if (calls.length > 0 && previous !== null && previous.role !== 'user') {
      return invalid('Please ensure that function call turn comes immediately after a user turn or after a function response turn.');
    }
    if (responses > 0 && (previous === null || previous.calls.length === 0)) {
      return invalid('Please ensure that function response turn comes immediately after a function call turn.');
    }
    if (responses > 0 && previous !== null && responses !== previous.calls.length) {
      return invalid('Please ensure that the number of function response parts is equal to the number of function call parts of the function call turn.');
    }
    const pairing = responses > 0 && previous !== null ? mispaired(previous.calls, responseParts) : null;
    if (pairing) return pairing;
    // Gemini 3 needs the first function call of each step signed, with a signature it issued (or Google's documented placeholder).
    const signature = calls[0]?.thoughtSignature;
    if (isGemini3(model) && calls.length > 0) {
      if (typeof signature !== 'string') {
        const name = isObj(calls[0]!.functionCall) ? String(calls[0]!.functionCall.name) : '?';
        return invalid(`Function call is missing a thought_signature in functionCall parts. This is required for tools to work correctly, and missing thought_signature may lead to degraded model performance. Additional data, function call \`default_api:${name}\` , position ${i + 1}. Please refer to https://ai.google.dev/gemini-api/docs/thought-signatures for more details.`);
      }
      if (!DUMMY_SIGNATURES.has(signature) && !issuedSignatures.has(signature)) return invalid('Corrupted thought signature.');
    }
    previous = { role: String(role), calls, responses };
  }
  return null;
}

function promptTokens(body: Obj): number {
  let chars = 0;
  const count = (content: unknown): void => {
    if (isObj(content)) for (const p of partsOf(content)) chars += typeof p.text === 'string' ? p.text.length : JSON.stringify(p).length;
  };
  count(body.systemInstruction);
  if (Array.isArray(body.contents)) body.contents.forEach(count);
  return Math.ceil(chars / 4) + 3;
}

function signature(): string {
  const value = Buffer.from(`mock-signature-${randomHex()}`).toString('base64');
  issuedSignatures.add(value);
  if (issuedSignatures.size > 10_000) issuedSignatures.delete(issuedSignatures.values().next().value!);
  return value;
}

/**
 * `mock.toolCall`: one `{name, args}` or several (parallel calls); only when the request offers tools
 * and does not end with function responses (then the model answers them in text).
 */
function toolCalls(body: Obj, mock: Obj, model: string): Obj[] {
  if (!Array.isArray(body.tools) || body.tools.length === 0) return [];
  const last: unknown = Array.isArray(body.contents) ? body.contents.at(-1) : undefined;
  if (isObj(last) && partsOf(last).some((p) => isObj(p.functionResponse))) return [];
  const requested = Array.isArray(mock.toolCall) ? mock.toolCall.filter(isObj) : isObj(mock.toolCall) ? [mock.toolCall] : [];
  return requested.map((call, i) => {
    const functionCall: Obj = { name: call.name, args: call.args ?? {} };
    // Gemini 3 gives every call an id (`id: null` leaves it out, as Gemini 2.5 does).
    if (typeof call.id === 'string') functionCall.id = call.id;
    else if (call.id !== null && isGemini3(model)) functionCall.id = randomHex().slice(0, 8);
    // Gemini 3 signs the first function call of a step (parallel calls: only the first).
    return i === 0 && isGemini3(model) ? { functionCall, thoughtSignature: signature() } : { functionCall };
  });
}

export async function gemini(ctx: Ctx, headers: IncomingMessage['headers'], path: string, query: string, raw: Buffer | 'too-large', body: unknown, parseFailed: boolean, mock: Obj): Promise<void> {
  if (new URLSearchParams(query.replace(/^\?/, '')).has('key')) {
    return sendGoogleError(ctx, invalid('mock: the API key was sent in the URL (key=…), where it ends up in logs; send it in the x-goog-api-key header.'));
  }
  const key = headers['x-goog-api-key'];
  if (typeof key !== 'string' || key === '') return sendGoogleError(ctx, { code: 403, status: 'PERMISSION_DENIED', message: UNREGISTERED });
  if (key === 'bad-key') {
    return sendGoogleError(ctx, invalid(BAD_KEY, [
      { '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'API_KEY_INVALID', domain: 'googleapis.com', metadata: { service: 'generativelanguage.googleapis.com' } },
      { '@type': 'type.googleapis.com/google.rpc.LocalizedMessage', locale: 'en-US', message: BAD_KEY },
    ]));
  }
  if (raw === 'too-large') return sendGoogleError(ctx, invalid('Request payload size exceeds the limit: 20971520 bytes.'));
  if (parseFailed || !isObj(body)) return sendGoogleError(ctx, invalid('Invalid JSON payload received. Unexpected token.'));
  if (mock.hang === true) return untilClosed(ctx);
  const delay = nonNegNum(mock.delayMs);
  if (delay && !(await wait(ctx, delay))) return;
  const status = nonNegInt(mock.status);
  if (status !== undefined && status >= 400 && status <= 599) return sendGoogleError(ctx, faultError(status, mock));

  const match = /\/models\/([^/:]+):(generateContent|streamGenerateContent|batchEmbedContents)$/.exec(path);
  if (!match) return sendGoogleError(ctx, { code: 404, status: 'NOT_FOUND', message: `Method not found: ${path}` });
  const [, model, method] = match as unknown as [string, string, string];
  if (!serves(model, method)) {
    return sendGoogleError(ctx, { code: 404, status: 'NOT_FOUND', message: `models/${model} is not found for API version v1beta, or is not supported for ${method}. Call ListModels to see the list of available models and their supported methods.` });
  }
  if (method === 'batchEmbedContents') return embedContents(ctx, body, model);
  const problem = validate(body, model);
  if (problem) return sendGoogleError(ctx, problem);
  if (method === 'generateContent') return send(ctx, 200, JSON.stringify(build(body, mock, model).whole, null, 2), 'application/json; charset=UTF-8');
  if (!new URLSearchParams(query.replace(/^\?/, '')).has('alt', 'sse')) {
    return sendGoogleError(ctx, invalid('mock: only streamGenerateContent?alt=sse (server-sent events) is implemented.'));
  }
  return stream(ctx, mock, streamEvents(body, mock, model));
}

/** Finish reasons of a model that failed to answer: the candidate ends with them, no content parts and a `finishMessage`. */
const FAILURE_MESSAGES: Record<string, string> = {
  MALFORMED_FUNCTION_CALL: 'Malformed function call: print(default_api.get_weather(city="Paris"',
  UNEXPECTED_TOOL_CALL: 'Unexpected tool call: the model called a tool while no tools are enabled.',
  TOO_MANY_TOOL_CALLS: 'Too many tool calls in a row.',
  MISSING_THOUGHT_SIGNATURE: 'A function call of the request is missing its thought signature.',
  MALFORMED_RESPONSE: 'The model produced a response that could not be parsed.',
};

/** The whole answer and its stream events (options: content, thoughts, thinkingTokens, toolCall, cacheRead, finishReason, blockReason). */
function build(body: Obj, mock: Obj, model: string): { whole: Obj; events: Obj[] } {
  const config = isObj(body.generationConfig) ? body.generationConfig : {};
  let finishReason = typeof mock.finishReason === 'string' ? mock.finishReason : 'STOP';
  const failure = FAILURE_MESSAGES[finishReason];
  const calls = failure === undefined ? toolCalls(body, mock, model) : [];
  // A step that calls tools says nothing else, unless `content` asks for text too; a failed one says nothing.
  let deltas = failure !== undefined || (calls.length > 0 && typeof mock.content !== 'string') ? [] : contentDeltas(mock);
  const cap = nonNegInt(config.maxOutputTokens);
  if (cap !== undefined && cap < deltas.length) {
    deltas = deltas.slice(0, cap);
    finishReason = 'MAX_TOKENS';
  }
  const cached = nonNegInt(mock.cacheRead) ?? 0;
  const prompt = promptTokens(body) + cached;
  const includeThoughts = isObj(config.thinkingConfig) && config.thinkingConfig.includeThoughts === true;
  const thoughts = typeof mock.thoughts === 'string' && includeThoughts ? mock.thoughts : null;
  const thinking = nonNegInt(mock.thinkingTokens) ?? (typeof mock.thoughts === 'string' ? 2 * mock.thoughts.split(' ').length : 0);
  const n = nonNegInt(config.candidateCount) ?? 1;
  const output = n * (deltas.length + 5 * calls.length);
  const usage = (candidates: number): Obj => ({
    promptTokenCount: prompt,
    candidatesTokenCount: candidates,
    totalTokenCount: prompt + candidates + thinking,
    ...(cached > 0 ? { cachedContentTokenCount: cached } : {}),
    promptTokensDetails: [{ modality: 'TEXT', tokenCount: prompt }],
    ...(thinking > 0 ? { thoughtsTokenCount: thinking } : {}),
  });
  const responseId = randomHex().slice(0, 22);
  const envelope = (candidates: Obj[] | undefined, usageMetadata: Obj, extra: Obj = {}): Obj =>
    ({ ...(candidates ? { candidates } : {}), ...extra, usageMetadata, modelVersion: model, responseId });

  // `blockReason`: the prompt is blocked; no candidate at all.
  if (typeof mock.blockReason === 'string') {
    const blocked = envelope(undefined, { promptTokenCount: prompt, totalTokenCount: prompt }, { promptFeedback: { blockReason: mock.blockReason } });
    return { whole: blocked, events: [blocked] };
  }
  const candidate = (index: number, parts: Obj[], finish?: string): Obj => ({
    content: parts.length === 0 && failure !== undefined ? {} : { parts, role: 'model' },
    ...(finish ? { finishReason: finish } : {}),
    ...(finish && failure !== undefined ? { finishMessage: failure } : {}),
    ...(index > 0 ? { index } : {}), // proto JSON leaves 0 out
  });
  const indexes = Array.from({ length: n }, (_, i) => i);
  const wholeParts: Obj[] = [];
  if (thoughts !== null) wholeParts.push({ text: thoughts, thought: true });
  if (deltas.length > 0) wholeParts.push({ text: deltas.join('') });
  wholeParts.push(...calls);
  const whole = envelope(indexes.map((i) => candidate(i, wholeParts, finishReason)), usage(output));

  // Streamed: thoughts first, one event per word, the calls, the finish reason on the last event; usage on each, cumulative.
  const steps: Obj[][] = [];
  if (thoughts !== null) steps.push([{ text: thoughts, thought: true }]);
  for (const d of deltas) steps.push([{ text: d }]);
  if (calls.length > 0) steps.push(calls);
  if (failure !== undefined) steps.push([]);
  else if (steps.length === 0) steps.push([{ text: '' }]);
  let produced = 0;
  const events = steps.map((parts, k) => {
    const last = k === steps.length - 1;
    produced = last ? output : Math.min(output, produced + n);
    const finish = last && mock.endWithoutFinish !== true ? finishReason : undefined;
    return envelope(indexes.map((i) => candidate(i, parts, finish)), usage(produced));
  });
  return { whole, events };
}

function streamEvents(body: Obj, mock: Obj, model: string): string[] {
  const frame = (data: unknown): string => `data: ${JSON.stringify(data)}\r\n\r\n`;
  const error = (status: number): string => frame({ error: faultError(status, mock) }); // as an HTTP error would say it (a 429 with its RetryInfo)
  if (mock.firstEventError === true) return [error(typeof mock.errorCode === 'number' ? mock.errorCode : 503)];
  const events = build(body, mock, model).events.map(frame);
  const after = nonNegInt(mock.errorAfterEvents);
  return after === undefined ? events : [...events.slice(0, after), error(500)];
}

/** gemini-embedding-001's full size: only vectors of this size come normalised. */
const NATIVE_DIMENSIONS = 3072;
const MAX_BATCH = 100;

/**
 * batchEmbedContents: one `{values}` per request, deterministic; Google reports no token counts here.
 * `outputDimensionality` cuts the full vector short (Matryoshka), leaving it shorter than unit length.
 */
function embedContents(ctx: Ctx, body: Obj, model: string): void {
  const unknown = unknownField(body, ['requests'], '');
  if (unknown) return sendGoogleError(ctx, unknown);
  if (!Array.isArray(body.requests) || body.requests.length === 0) return sendGoogleError(ctx, invalid('* BatchEmbedContentsRequest.requests: requests is not specified\n'));
  if (body.requests.length > MAX_BATCH) return sendGoogleError(ctx, invalid(`* BatchEmbedContentsRequest.requests: at most ${MAX_BATCH} requests can be in one batch\n`));
  const embeddings: Obj[] = [];
  for (const [i, r] of body.requests.entries()) {
    const text = isObj(r) && isObj(r.content) ? partsOf(r.content).map((p) => (typeof p.text === 'string' ? p.text : '')).join('') : undefined;
    if (!isObj(r) || text === undefined) return sendGoogleError(ctx, invalid(`* BatchEmbedContentsRequest.requests[${i}].content: content is not specified\n`));
    if (r.model !== `models/${model}`) {
      return sendGoogleError(ctx, invalid(`Model names should be the same in all requests and match the model in the URL: ${String(r.model)} vs models/${model}.`));
    }
    embeddings.push({ values: embed(text, NATIVE_DIMENSIONS).slice(0, nonNegInt(r.outputDimensionality) ?? NATIVE_DIMENSIONS) });
  }
  send(ctx, 200, JSON.stringify({ embeddings }, null, 2), 'application/json; charset=UTF-8');
}
