// POST …/model/<id>/converse and …/converse-stream: Amazon Bedrock's Converse API. SigV4 (checked
// with the mock's own verifier) or a Bedrock API key as a bearer token; the request body validated
// as Converse does; answers in Converse's shapes; streams as binary event-stream frames.
import type { IncomingMessage } from 'node:http';
import { contentDeltas, stream } from './chat.ts';
import { eventFrame, exceptionFrame } from './event-stream.ts';
import type { Ctx } from './response.ts';
import { send, untilClosed, wait } from './response.ts';
import type { Obj } from './shared.ts';
import { isObj, nonNegInt, nonNegNum, randomHex } from './shared.ts';
import { verifySigV4 } from './sigv4-verify.ts';

/** Bedrock's status per exception (Converse API reference, "Errors"). */
const STATUS_OF: Record<string, number> = {
  ValidationException: 400, ServiceQuotaExceededException: 400, AccessDeniedException: 403, ResourceNotFoundException: 404,
  ModelTimeoutException: 408, ModelErrorException: 424, ThrottlingException: 429, ModelNotReadyException: 429,
  InternalServerException: 500, ServiceUnavailableException: 503,
};
const EXCEPTION_OF: Record<number, string> = {
  400: 'ValidationException', 403: 'AccessDeniedException', 404: 'ResourceNotFoundException', 408: 'ModelTimeoutException',
  424: 'ModelErrorException', 429: 'ThrottlingException', 500: 'InternalServerException', 503: 'ServiceUnavailableException',
};
const DEFAULT_MESSAGES: Record<string, string> = {
  ThrottlingException: 'Too many requests, please wait before trying again.',
  ServiceUnavailableException: 'Bedrock is unable to process your request.',
  InternalServerException: 'The system encountered an unexpected error during processing. Try your request again.',
  ModelErrorException: 'The system encountered an unexpected error during processing. Try your request again.',
  ModelStreamErrorException: 'The model stream failed.',
  ValidationException: 'Malformed input request, please reformat your input and try again.',
};

const TOP_LEVEL = new Set(['messages', 'system', 'inferenceConfig', 'toolConfig', 'guardrailConfig', 'additionalModelRequestFields',
  'promptVariables', 'additionalModelResponseFieldPaths', 'requestMetadata', 'performanceConfig', 'outputConfig', 'serviceTier']);
const INFERENCE = new Set(['maxTokens', 'temperature', 'topP', 'stopSequences']);
const BLOCKS = new Set(['text', 'image', 'document', 'video', 'toolUse', 'toolResult', 'guardContent', 'cachePoint', 'reasoningContent', 'citationsContent']);

export function sendBedrockError(ctx: Ctx, status: number, exception: string, message: string, extra?: Record<string, string>): void {
  const domain = status === 403 && exception !== 'AccessDeniedException' ? 'com.amazon.coral.service' : 'com.amazon.bedrock';
  send(ctx, status, JSON.stringify({ message }), 'application/json', {
    'x-amzn-errortype': `${exception}:http://internal.amazon.com/coral/${domain}/`, 'x-amzn-requestid': randomHex(), ...extra,
  });
}

/** Bearer API key (`bad-key` is refused) or SigV4; null when the caller is let in. */
function authFailure(req: IncomingMessage, raw: Buffer): [number, string, string] | null {
  const auth = req.headers.authorization;
  if (auth === undefined || auth === '') return [403, 'MissingAuthenticationTokenException', 'Missing Authentication Token'];
  if (auth.startsWith('Bearer ')) return auth.slice(7).trim() === 'bad-key' ? [403, 'UnrecognizedClientException', 'The security token included in the request is invalid.'] : null;
  return verifySigV4(req, raw);
}

/** Converse's own checks, in its words; null when the request is valid. */
function invalid(body: Obj): string | null {
  for (const key of Object.keys(body)) {
    if (!TOP_LEVEL.has(key)) return `Malformed input request: extraneous key [${key}] is not permitted, please reformat your input and try again.`;
  }
  if (!Array.isArray(body.messages)) return 'Malformed input request: required key [messages] not found, please reformat your input and try again.';
  if (isObj(body.inferenceConfig)) {
    for (const key of Object.keys(body.inferenceConfig)) if (!INFERENCE.has(key)) return `Malformed input request: extraneous key [inferenceConfig.${key}] is not permitted, please reformat your input and try again.`;
  }
  let usesTools = false;
  for (const [i, m] of body.messages.entries()) {
    if (!isObj(m) || (m.role !== 'user' && m.role !== 'assistant')) return `1 validation error detected: Value at 'messages.${i + 1}.member.role' failed to satisfy constraint: Member must satisfy enum value set: [user, assistant]`;
    if (i === 0 && m.role !== 'user') return 'A conversation must start with a user message. Try again with a conversation that starts with a user message.';
    if (i > 0 && (body.messages[i - 1] as Obj).role === m.role) return 'A conversation must alternate between user and assistant roles. Make sure the conversation alternates between user and assistant roles and try again.';
    if (!Array.isArray(m.content)) return `1 validation error detected: Value at 'messages.${i + 1}.member.content' failed to satisfy constraint: Member must not be null`;
    for (const [j, block] of m.content.entries()) {
      const keys = isObj(block) ? Object.keys(block) : [];
      if (keys.length !== 1 || !BLOCKS.has(keys[0]!)) return `The content block at messages.${i}.content.${j} must set exactly one of its members.`;
      const b = block as Obj;
      if (typeof b.text === 'string' && b.text.trim() === '') return `The text field in the ContentBlock object at messages.${i}.content.${j} is blank. Add text to the text field, and try again.`;
      if (b.toolUse !== undefined || b.toolResult !== undefined) usesTools = true;
      if (isObj(b.image) && (!['png', 'jpeg', 'gif', 'webp'].includes(String(b.image.format)) || !isObj(b.image.source) || typeof b.image.source.bytes !== 'string')) {
        return `The image at messages.${i}.content.${j} is not a valid png, jpeg, gif or webp image with its bytes.`;
      }
    }
  }
  if (usesTools && !isObj(body.toolConfig)) return 'The toolConfig field must be defined when using toolUse and toolResult content blocks.';
  return documentsInvalid(body.messages as Obj[]) ?? toolTurnsInvalid(body.messages as Obj[]) ?? toolConfigInvalid(body.toolConfig) ?? outputConfigInvalid(body.outputConfig);
}

const blocksOf = (message: Obj): Obj[] => (message.content as unknown[]).filter(isObj);

/**
 * Document names: letters, digits, single whitespace, hyphens, parentheses and square brackets, 1 to 200
 * of them, none repeated anywhere in the request (compared here without regard to case, the stricter reading).
 */
function documentsInvalid(messages: Obj[]): string | null {
  const seen = new Set<string>();
  for (const [i, m] of messages.entries()) {
    for (const [j, b] of blocksOf(m).entries()) {
      if (!isObj(b.document)) continue;
      const name = b.document.name;
      if (typeof name !== 'string' || name.length < 1 || name.length > 200) {
        return `1 validation error detected: Value at 'messages.${i + 1}.member.content.${j + 1}.member.document.name' failed to satisfy constraint: Member must have length less than or equal to 200 and greater than or equal to 1`;
      }
      if (!/^[A-Za-z0-9 \-()[\]]+$/.test(name) || name.includes('  ')) {
        return "The document file name can only contain alphanumeric characters, whitespace characters, hyphens, parentheses, and square brackets. The name can't contain more than one consecutive whitespace character. Check that the file name conforms to these restrictions and retry your request.";
      }
      if (seen.has(name.toLowerCase())) return "Messages can't contain duplicate document names. Rename the document and retry your request.";
      seen.add(name.toLowerCase());
    }
  }
  return null;
}

/** Each toolResult answers a toolUse of the assistant turn just before it, and every toolUse is answered in the next turn. */
function toolTurnsInvalid(messages: Obj[]): string | null {
  for (const [i, m] of messages.entries()) {
    const results = blocksOf(m).filter((b) => isObj(b.toolResult)).map((b) => String((b.toolResult as Obj).toolUseId));
    const previous = i > 0 ? messages[i - 1]! : null;
    const uses = previous === null ? [] : blocksOf(previous).filter((b) => isObj(b.toolUse)).map((b) => String((b.toolUse as Obj).toolUseId));
    if (results.length > uses.length) return `The number of toolResult blocks at messages.${i}.content exceeds the number of toolUse blocks of previous turn.`;
    const unanswered = uses.filter((id) => !results.includes(id));
    if (unanswered.length > 0) return `Expected toolResult blocks at messages.${i}.content for the following Ids: ${unanswered.join(', ')}`;
  }
  return null;
}

/** `toolConfig`: tool specs, and a `toolChoice` union of exactly one of auto {}, any {}, or tool {name} naming a defined tool. */
function toolConfigInvalid(config: unknown): string | null {
  if (config === undefined) return null;
  if (!isObj(config)) return "1 validation error detected: Value at 'toolConfig' failed to satisfy constraint: Member must be a structure";
  const tools = config.tools;
  if (!Array.isArray(tools) || tools.length === 0) return "1 validation error detected: Value at 'toolConfig.tools' failed to satisfy constraint: Member must have length greater than or equal to 1";
  for (const t of tools) if (!isObj(t) || !isObj(t.toolSpec) || typeof t.toolSpec.name !== 'string' || !isObj(t.toolSpec.inputSchema) || !isObj(t.toolSpec.inputSchema.json)) return 'The toolSpec of every tool needs a name and an inputSchema with json.';
  const choice = config.toolChoice;
  if (choice === undefined) return null;
  const members = isObj(choice) ? Object.keys(choice) : [];
  if (members.length !== 1 || !['auto', 'any', 'tool'].includes(members[0]!) || !isObj((choice as Obj)[members[0]!])) {
    return 'Malformed input request: toolConfig.toolChoice must set exactly one of auto, any or tool, please reformat your input and try again.';
  }
  const named = (choice as Obj).tool;
  if (isObj(named)) {
    if (typeof named.name !== 'string' || named.name.length === 0) return "1 validation error detected: Value at 'toolConfig.toolChoice.tool.name' failed to satisfy constraint: Member must not be null";
    if (!tools.some((t) => isObj(t) && isObj(t.toolSpec) && t.toolSpec.name === named.name)) return `The tool ${named.name} named in toolChoice is not defined in toolConfig.tools.`;
  }
  return null;
}

/** `outputConfig.textFormat`: type json_schema and a jsonSchema structure whose schema is a JSON string. */
function outputConfigInvalid(config: unknown): string | null {
  if (config === undefined) return null;
  const where = "1 validation error detected: Value at 'outputConfig";
  if (!isObj(config) || Object.keys(config).some((k) => k !== 'textFormat')) return 'Malformed input request: outputConfig takes textFormat only, please reformat your input and try again.';
  const format = config.textFormat;
  if (format === undefined) return null;
  if (!isObj(format) || format.type !== 'json_schema') return `${where}.textFormat.type' failed to satisfy constraint: Member must satisfy enum value set: [json_schema]`;
  const structure = format.structure;
  if (!isObj(structure) || Object.keys(structure).length !== 1 || !isObj(structure.jsonSchema)) return `${where}.textFormat.structure' failed to satisfy constraint: Member must set exactly one of its members: [jsonSchema]`;
  const { schema, name, description } = structure.jsonSchema;
  if (typeof schema !== 'string') return `${where}.textFormat.structure.jsonSchema.schema' failed to satisfy constraint: Member must be a string`;
  try {
    if (!isObj(JSON.parse(schema))) throw new Error('not an object');
  } catch {
    return 'The JSON schema in outputConfig.textFormat.structure.jsonSchema.schema is not a valid JSON object.';
  }
  if ((name !== undefined && typeof name !== 'string') || (description !== undefined && typeof description !== 'string')) return `${where}.textFormat.structure.jsonSchema' failed to satisfy constraint: name and description must be strings`;
  return null;
}

function inputTokens(body: Obj): number {
  let chars = 0;
  const count = (blocks: unknown): void => {
    if (Array.isArray(blocks)) for (const b of blocks) if (isObj(b) && typeof b.text === 'string') chars += b.text.length;
  };
  count(body.system);
  for (const m of body.messages as Obj[]) count(m.content);
  return Math.ceil(chars / 4) + 3 * (body.messages as unknown[]).length;
}

export async function bedrockRoute(ctx: Ctx, req: IncomingMessage, path: string, raw: Buffer | 'too-large', body: unknown, parseFailed: boolean, mock: Obj): Promise<void> {
  if (raw === 'too-large') return sendBedrockError(ctx, 413, 'ValidationException', 'Input is too long for requested model.');
  const denied = authFailure(req, raw);
  if (denied !== null) return sendBedrockError(ctx, ...denied);
  if (parseFailed || !isObj(body)) return sendBedrockError(ctx, 400, 'SerializationException', 'Unexpected token in the request body.');
  const problem = invalid(body);
  if (problem !== null) return sendBedrockError(ctx, 400, 'ValidationException', problem);
  if (mock.hang === true) return untilClosed(ctx);
  const delay = nonNegNum(mock.delayMs);
  if (delay && !(await wait(ctx, delay))) return;
  const status = nonNegInt(mock.status);
  if (status !== undefined && status >= 400 && status <= 599) {
    const exception = typeof mock.errorType === 'string' ? mock.errorType : EXCEPTION_OF[status] ?? 'InternalServerException';
    const extra = typeof mock.retryAfter === 'string' ? { 'retry-after': mock.retryAfter } : undefined;
    return sendBedrockError(ctx, STATUS_OF[exception] ?? status, exception, typeof mock.errorMessage === 'string' ? mock.errorMessage : DEFAULT_MESSAGES[exception] ?? 'Request failed.', extra);
  }
  return converse(ctx, path.endsWith('/converse-stream'), body, mock);
}

async function converse(ctx: Ctx, streamed: boolean, body: Obj, mock: Obj): Promise<void> {
  let deltas = contentDeltas(mock);
  let stopReason = typeof mock.stopReason === 'string' ? mock.stopReason : 'end_turn';
  const inference = isObj(body.inferenceConfig) ? body.inferenceConfig : {};
  if (typeof inference.maxTokens === 'number' && inference.maxTokens < deltas.length) {
    deltas = deltas.slice(0, inference.maxTokens);
    stopReason = 'max_tokens';
  }
  // A turn that returns tool results is answered in text, as a real model would.
  const last: unknown = Array.isArray(body.messages) ? body.messages.at(-1) : undefined;
  const answersToolResult = isObj(last) && Array.isArray(last.content) && last.content.some((b) => isObj(b) && isObj(b.toolResult));
  const toolCall = isObj(body.toolConfig) && isObj(mock.toolCall) && !answersToolResult ? mock.toolCall : null;
  if (toolCall !== null) stopReason = 'tool_use';
  const reasoning = typeof mock.reasoning === 'string' ? mock.reasoning : null;
  const cacheRead = nonNegInt(mock.cacheRead) ?? 0;
  const cacheWrite = nonNegInt(mock.cacheWrite) ?? 0;
  const input = inputTokens(body);
  const output = deltas.length + (toolCall !== null ? 10 : 0) + (reasoning !== null ? reasoning.split(' ').length : 0);
  const usage: Obj = { inputTokens: input, outputTokens: output, totalTokens: input + output + cacheRead + cacheWrite };
  if (cacheRead > 0 || cacheWrite > 0) Object.assign(usage, { cacheReadInputTokens: cacheRead, cacheWriteInputTokens: cacheWrite });
  const toolUse = toolCall === null ? null : { toolUseId: `tooluse_${randomHex().slice(0, 22)}`, name: toolCall.name, input: toolCall.input ?? {} };
  const signature = `sig${randomHex()}`;
  ctx.headers['x-amzn-requestid'] = randomHex();

  if (!streamed) {
    const content: Obj[] = [];
    if (reasoning !== null) content.push({ reasoningContent: { reasoningText: { text: reasoning, signature } } });
    if (deltas.length > 0) content.push({ text: deltas.join('') });
    if (toolUse !== null) content.push({ toolUse });
    return send(ctx, 200, JSON.stringify({ output: { message: { role: 'assistant', content } }, stopReason, usage, metrics: { latencyMs: 120 } }));
  }
  const exception = (name: unknown): Buffer => {
    const type = String(name);
    const upper = type[0]!.toUpperCase() + type.slice(1);
    return exceptionFrame(type, typeof mock.errorMessage === 'string' ? mock.errorMessage : DEFAULT_MESSAGES[upper] ?? 'Request failed.');
  };
  const start = eventFrame('messageStart', { role: 'assistant' });
  // `firstEventException`: the exception is the stream's only frame; `exceptionAfterStart`: after messageStart.
  if (typeof mock.firstEventException === 'string') return stream(ctx, mock, [exception(mock.firstEventException)], EVENTSTREAM);
  if (typeof mock.exceptionAfterStart === 'string') return stream(ctx, mock, [start, exception(mock.exceptionAfterStart)], EVENTSTREAM);
  const frames: Buffer[] = [start];
  let block = 0;
  if (reasoning !== null) {
    for (const word of reasoning.split(/(?<= )/)) frames.push(eventFrame('contentBlockDelta', { contentBlockIndex: block, delta: { reasoningContent: { text: word } } }));
    frames.push(eventFrame('contentBlockDelta', { contentBlockIndex: block, delta: { reasoningContent: { signature } } }));
    frames.push(eventFrame('contentBlockStop', { contentBlockIndex: block++ }));
  }
  for (const text of deltas) frames.push(eventFrame('contentBlockDelta', { contentBlockIndex: block, delta: { text } }));
  if (deltas.length > 0) frames.push(eventFrame('contentBlockStop', { contentBlockIndex: block++ }));
  if (toolUse !== null) {
    const json = JSON.stringify(toolUse.input);
    const half = json.length >> 1;
    frames.push(
      eventFrame('contentBlockStart', { contentBlockIndex: block, start: { toolUse: { toolUseId: toolUse.toolUseId, name: toolUse.name } } }),
      eventFrame('contentBlockDelta', { contentBlockIndex: block, delta: { toolUse: { input: json.slice(0, half) } } }),
      eventFrame('contentBlockDelta', { contentBlockIndex: block, delta: { toolUse: { input: json.slice(half) } } }),
      eventFrame('contentBlockStop', { contentBlockIndex: block++ }),
    );
  }
  frames.push(eventFrame('messageStop', { stopReason }));
  if (mock.noMetadata !== true) frames.push(eventFrame('metadata', { usage, metrics: { latencyMs: 120 } }));
  // `exceptionAfterEnd: name`: an exception frame after the answer is whole (messageStop and metadata).
  if (typeof mock.exceptionAfterEnd === 'string') frames.push(exception(mock.exceptionAfterEnd));
  // `exceptionMidStream: name`: the exception replaces the frame after the first two content frames.
  if (typeof mock.exceptionMidStream === 'string') frames.splice(3, frames.length, exception(mock.exceptionMidStream));
  // `corruptFrameAt: n`: frame n (0-based) goes out with a wrong message CRC.
  const corrupt = nonNegInt(mock.corruptFrameAt);
  if (corrupt !== undefined && frames[corrupt] !== undefined) {
    const bad = Buffer.from(frames[corrupt]);
    bad.writeUInt32BE((bad.readUInt32BE(bad.length - 4) ^ 0xffff) >>> 0, bad.length - 4);
    frames[corrupt] = bad;
  }
  // `joinFramesFrom: n`: frames n onward go out in one write, arriving together as a network may deliver them.
  const join = nonNegInt(mock.joinFramesFrom);
  if (join !== undefined && join < frames.length) frames.splice(join, frames.length - join, Buffer.concat(frames.slice(join)));
  return stream(ctx, mock, frames, EVENTSTREAM);
}

const EVENTSTREAM = 'application/vnd.amazon.eventstream';
