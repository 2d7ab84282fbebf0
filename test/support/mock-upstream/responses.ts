// POST …/responses: OpenAI's Responses API, whole answers and semantic event streams (issue 15).
import { contentDeltas, stream } from './chat.ts';
import type { Ctx } from './response.ts';
import { send, sendMissing } from './response.ts';
import type { Obj } from './shared.ts';
import { isObj, nonNegNum, randomHex } from './shared.ts';

function inputTokens(body: Obj): number {
  const text = JSON.stringify(body.input ?? '') + (typeof body.instructions === 'string' ? body.instructions : '');
  return Math.ceil(text.length / 4);
}

/**
 * `mock.toolCall` {name, input}: answer with that function call when the request offers function tools, unless the
 * input ends with a call's output (then the model answers in text). `mock.reasoningTokens`: reported in the usage.
 * `mock.webSearches`: that many web_search_call items before the answer, when the request offers a web search tool.
 */
function functionCall(body: Obj, mock: Obj): Obj | null {
  const requested = mock.toolCall;
  if (!isObj(requested) || typeof requested.name !== 'string' || !Array.isArray(body.tools) || !body.tools.some((t) => isObj(t) && t.type === 'function')) return null;
  const last: unknown = Array.isArray(body.input) ? body.input.at(-1) : undefined;
  if (isObj(last) && last.type === 'function_call_output') return null;
  return { type: 'function_call', id: `fc_${randomHex()}`, call_id: `call_${randomHex().slice(0, 24)}`, name: requested.name, arguments: JSON.stringify(requested.input ?? {}), status: 'completed' };
}

export function responses(ctx: Ctx, body: Obj, mock: Obj): Promise<void> | void {
  if (typeof body.model !== 'string' || body.model === '') return sendMissing(ctx, 'model');
  if (body.input === undefined && typeof body.previous_response_id !== 'string') return sendMissing(ctx, 'input');
  let deltas = contentDeltas(mock);
  let incomplete: string | null = null;
  const cap = nonNegNum(body.max_output_tokens);
  if (cap !== undefined && cap < deltas.length) {
    deltas = deltas.slice(0, Math.floor(cap));
    incomplete = 'max_output_tokens';
  }
  const call = functionCall(body, mock);
  const reasoning = nonNegNum(mock.reasoningTokens) ?? 0;
  const input = inputTokens(body);
  const output = (call === null ? deltas.length : Math.ceil(String(call.arguments).length / 4) + 5) + reasoning;
  const usage = { input_tokens: input, input_tokens_details: { cached_tokens: nonNegNum(mock.cacheRead) ?? 0 }, output_tokens: output, output_tokens_details: { reasoning_tokens: reasoning }, total_tokens: input + output };
  const id = `resp_${randomHex()}`;
  const msgId = `msg_${randomHex()}`;
  const text = deltas.join('');
  const message = { type: 'message', id: msgId, status: 'completed', role: 'assistant', content: [{ type: 'output_text', text, annotations: [] }] };
  const base = { id, object: 'response', created_at: Math.floor(Date.now() / 1000), model: body.model, error: null, instructions: body.instructions ?? null, metadata: body.metadata ?? {}, tools: body.tools ?? [], store: body.store ?? true, service_tier: 'default' };
  const offersSearch = Array.isArray(body.tools) && body.tools.some((t) => isObj(t) && typeof t.type === 'string' && t.type.startsWith('web_search'));
  const searches = Array.from({ length: offersSearch ? (nonNegNum(mock.webSearches) ?? 0) : 0 }, () => ({ type: 'web_search_call', id: `ws_${randomHex()}`, status: 'completed', action: { type: 'search', query: 'mock' } }));
  const done = { ...base, status: incomplete === null ? 'completed' : 'incomplete', incomplete_details: incomplete === null ? null : { reason: incomplete }, output: [...searches, call ?? message], usage };
  if (body.stream !== true) return send(ctx, 200, JSON.stringify(done));
  let seq = 0;
  const ev = (type: string, data: Obj): string => `event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: seq++, ...data })}\n\n`;
  const events = [
    ev('response.created', { response: { ...base, status: 'in_progress', output: [], usage: null } }),
    ev('response.in_progress', { response: { ...base, status: 'in_progress', output: [], usage: null } }),
  ];
  searches.forEach((item, i) => {
    events.push(ev('response.output_item.added', { output_index: i, item: { ...item, status: 'in_progress' } }));
    events.push(ev('response.output_item.done', { output_index: i, item }));
  });
  const at = searches.length;
  if (call !== null) {
    events.push(ev('response.output_item.added', { output_index: at, item: { ...call, arguments: '', status: 'in_progress' } }));
    events.push(ev('response.function_call_arguments.delta', { item_id: call.id, output_index: at, delta: call.arguments }));
    events.push(ev('response.function_call_arguments.done', { item_id: call.id, output_index: at, arguments: call.arguments }));
    events.push(ev('response.output_item.done', { output_index: at, item: call }));
  } else {
    events.push(ev('response.output_item.added', { output_index: at, item: { ...message, status: 'in_progress', content: [] } }));
    events.push(ev('response.content_part.added', { item_id: msgId, output_index: at, content_index: 0, part: { type: 'output_text', text: '', annotations: [] } }));
    for (const delta of deltas) events.push(ev('response.output_text.delta', { item_id: msgId, output_index: at, content_index: 0, delta }));
    events.push(ev('response.output_text.done', { item_id: msgId, output_index: at, content_index: 0, text }));
    events.push(ev('response.content_part.done', { item_id: msgId, output_index: at, content_index: 0, part: message.content[0] }));
    events.push(ev('response.output_item.done', { output_index: at, item: message }));
  }
  events.push(ev(`response.${done.status}`, { response: done }));
  return stream(ctx, mock, events);
}
