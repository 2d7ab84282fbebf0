// POST …/messages: the Anthropic Messages API (whole answers, SSE event streams, Anthropic's error shape).
import { contentDeltas, promptTokens, stream } from './chat.ts';
import type { Ctx } from './response.ts';
import { send } from './response.ts';
import type { Obj } from './shared.ts';
import { isObj, nonNegInt, randomHex } from './shared.ts';
import { anthropicRequestProblem, instanceOf, signThinking } from './anthropic-rules.ts';

const THINKING = 'Let me think about that.';

/** Anthropic's error type per status (its API reference, "Errors"). */
const ERROR_TYPES: Record<number, string> = {
  400: 'invalid_request_error', 401: 'authentication_error', 402: 'billing_error', 403: 'permission_error',
  404: 'not_found_error', 413: 'request_too_large', 429: 'rate_limit_error', 500: 'api_error', 529: 'overloaded_error',
};

const errorBody = (type: string, message: string): string => JSON.stringify({ type: 'error', error: { type, message } });

export function sendAnthropicError(ctx: Ctx, status: number, message: string, extra?: Record<string, string>): void {
  send(ctx, status, errorBody(ERROR_TYPES[status] ?? (status >= 500 ? 'api_error' : 'invalid_request_error'), message), 'application/json', extra);
}

/** Anthropic checks its own headers: a key in `x-api-key` and an `anthropic-version`. */
export function anthropicAuthError(headers: Record<string, string | string[] | undefined>): [number, string] | null {
  const key = headers['x-api-key'];
  if (typeof key !== 'string' || key === '') return [401, 'x-api-key header is required'];
  if (key === 'bad-key') return [401, 'invalid x-api-key'];
  if (typeof headers['anthropic-version'] !== 'string') return [400, 'anthropic-version: header is required'];
  return null;
}

const sse = (type: string, data: Obj): string => `event: ${type}\ndata: ${JSON.stringify(data)}\n\n`;

export async function messages(ctx: Ctx, body: Obj, mock: Obj): Promise<void> {
  if (typeof body.model !== 'string') return sendAnthropicError(ctx, 400, 'model: Field required');
  if (typeof body.max_tokens !== 'number') return sendAnthropicError(ctx, 400, 'max_tokens: Field required');
  if (!Array.isArray(body.messages)) return sendAnthropicError(ctx, 400, 'messages: Field required');
  const problem = anthropicRequestProblem(body);
  if (problem !== null) return sendAnthropicError(ctx, 400, problem);
  // Structured outputs: the answer is one JSON text that fits the schema.
  const format = isObj(body.output_config) && isObj(body.output_config.format) ? body.output_config.format : null;
  let deltas = format !== null && typeof mock.content !== 'string' ? [JSON.stringify(instanceOf(format.schema))] : contentDeltas(mock);
  const thinks = isObj(body.thinking) && body.thinking.type === 'enabled';
  let stopReason = 'end_turn';
  if (body.max_tokens < deltas.length) {
    deltas = deltas.slice(0, body.max_tokens);
    stopReason = 'max_tokens';
  }
  // `mock.toolCall: {name, input}` answers with a tool_use block when the request offers tools,
  // unless the last turn returns a tool's result: then the model answers in text, as a real one would.
  const last: unknown = body.messages.at(-1);
  const answersToolResult = isObj(last) && Array.isArray(last.content) && last.content.some((b) => isObj(b) && b.type === 'tool_result');
  const toolCall = Array.isArray(body.tools) && isObj(mock.toolCall) && !answersToolResult ? mock.toolCall : null;
  if (toolCall !== null) stopReason = 'tool_use';
  const usage = {
    input_tokens: promptTokens(body.messages),
    cache_creation_input_tokens: nonNegInt(mock.cacheWrite) ?? 0,
    cache_read_input_tokens: nonNegInt(mock.cacheRead) ?? 0,
    output_tokens: deltas.length + (toolCall !== null ? 10 : 0) + (thinks ? 6 : 0),
    // `mock.usageJson`: extra usage fields as JSON text, so keys such as `__proto__` arrive as sent (a hostile upstream).
    ...(typeof mock.usageJson === 'string' ? (JSON.parse(mock.usageJson) as Obj) : {}),
  };
  const thinkingBlock = thinks ? { type: 'thinking', thinking: THINKING, signature: signThinking(THINKING) } : null;
  const id = `msg_${randomHex()}`;
  const toolUse = toolCall === null ? null : { type: 'tool_use', id: `toolu_${randomHex().slice(0, 24)}`, name: toolCall.name, input: toolCall.input ?? {} };

  if (body.stream !== true) {
    const content: Obj[] = [...(thinkingBlock === null ? [] : [thinkingBlock]), { type: 'text', text: deltas.join('') }];
    if (toolUse !== null) content.push(toolUse);
    return send(ctx, 200, JSON.stringify({ id, type: 'message', role: 'assistant', model: body.model, content, stop_reason: stopReason, stop_sequence: null, usage }));
  }
  const overloaded = sse('error', { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } });
  if (mock.firstEventError === true) return stream(ctx, mock, [overloaded]);
  const start = sse('message_start', { type: 'message_start', message: { id, type: 'message', role: 'assistant', model: body.model, content: [], stop_reason: null, stop_sequence: null, usage: { ...usage, output_tokens: 1 } } });
  // `errorAfterStart`: Anthropic's overloaded error after message_start and a ping, before any content.
  if (mock.errorAfterStart === true) return stream(ctx, mock, [start, sse('ping', { type: 'ping' }), overloaded]);
  const events = [start];
  // Thinking streams first, its signature last (`signature_delta`), as Anthropic sends it.
  if (thinkingBlock !== null) {
    events.push(
      sse('content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'thinking', thinking: '', signature: '' } }),
      sse('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'thinking_delta', thinking: THINKING } }),
      sse('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'signature_delta', signature: thinkingBlock.signature } }),
      sse('content_block_stop', { type: 'content_block_stop', index: 0 }),
    );
  }
  const text = events.length - 1 > 0 ? 1 : 0;
  events.push(
    sse('content_block_start', { type: 'content_block_start', index: text, content_block: { type: 'text', text: '' } }),
    sse('ping', { type: 'ping' }),
    ...deltas.map((t) => sse('content_block_delta', { type: 'content_block_delta', index: text, delta: { type: 'text_delta', text: t } })),
    sse('content_block_stop', { type: 'content_block_stop', index: text }),
  );
  if (toolUse !== null) {
    const json = JSON.stringify(toolUse.input);
    const half = json.length >> 1;
    const index = text + 1;
    events.push(
      sse('content_block_start', { type: 'content_block_start', index, content_block: { ...toolUse, input: {} } }),
      sse('content_block_delta', { type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json: json.slice(0, half) } }),
      sse('content_block_delta', { type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json: json.slice(half) } }),
      sse('content_block_stop', { type: 'content_block_stop', index }),
    );
  }
  events.push(sse('message_delta', { type: 'message_delta', delta: { stop_reason: stopReason, stop_sequence: null }, usage: { output_tokens: usage.output_tokens } }));
  if (mock.endWithoutDone !== true) events.push(sse('message_stop', { type: 'message_stop' }));
  return stream(ctx, mock, events);
}

/** POST …/messages/count_tokens: `{"input_tokens": n}` for a Messages request (no max_tokens needed). */
export function countTokens(ctx: Ctx, body: Obj): void {
  if (typeof body.model !== 'string') return sendAnthropicError(ctx, 400, 'model: Field required');
  if (!Array.isArray(body.messages)) return sendAnthropicError(ctx, 400, 'messages: Field required');
  const system = typeof body.system === 'string' ? [{ content: body.system }] : [];
  send(ctx, 200, JSON.stringify({ input_tokens: promptTokens([...system, ...body.messages]) }));
}
