// POST …/chat/completions: whole answers, SSE streams, and the stream faults.
import { STATUS_DEFAULTS } from './faults.ts';
import type { Ctx } from './response.ts';
import { flushed, send, sendMissing, untilClosed, wait } from './response.ts';
import type { Obj } from './shared.ts';
import { errorJson, isObj, nonNegInt, nonNegNum, randomHex } from './shared.ts';

const DEFAULT_CONTENT = 'Hello from the mock upstream.';

export function contentDeltas(mock: Obj): string[] {
  const n = nonNegInt(mock.streamEvents);
  if (n !== undefined) return Array.from({ length: n }, (_, i) => `tok${i} `);
  const parts = (typeof mock.content === 'string' ? mock.content : DEFAULT_CONTENT).split(' ');
  const last = parts.length - 1;
  // Keep the spaces so the deltas concatenate back to the exact reply.
  return parts.map((p, i) => (i < last ? `${p} ` : p)).filter((p) => p !== '');
}

export function promptTokens(messages: unknown[]): number {
  let chars = 0;
  for (const m of messages) {
    if (!isObj(m)) continue;
    if (typeof m.content === 'string') chars += m.content.length;
    else if (Array.isArray(m.content)) {
      for (const part of m.content) if (isObj(part) && typeof part.text === 'string') chars += part.text.length;
    }
  }
  return Math.ceil(chars / 4) + 3 * messages.length;
}

export async function chat(ctx: Ctx, body: Obj, mock: Obj): Promise<void> {
  if (typeof body.model !== 'string' || body.model === '') return sendMissing(ctx, 'model');
  if (!Array.isArray(body.messages)) return sendMissing(ctx, 'messages');
  let deltas = contentDeltas(mock);
  let finish = 'stop';
  const limit = nonNegNum(body.max_completion_tokens) ?? nonNegNum(body.max_tokens);
  if (limit !== undefined && limit < deltas.length) {
    deltas = deltas.slice(0, Math.floor(limit));
    finish = 'length';
  }
  const prompt = promptTokens(body.messages);
  // `mock.usage`: a provider's own usage object, sent as it is (xAI's, Perplexity's, audio counts, …).
  // `mock.usageJson`: the same as JSON text, so keys such as `__proto__` arrive as sent (a hostile upstream).
  const usage = typeof mock.usageJson === 'string' ? (JSON.parse(mock.usageJson) as Obj) : isObj(mock.usage) ? mock.usage : {
    prompt_tokens: prompt, completion_tokens: deltas.length, total_tokens: prompt + deltas.length,
    prompt_tokens_details: { cached_tokens: 0 }, completion_tokens_details: { reasoning_tokens: 0 },
  };
  // OpenAI names the tier it served at: the one asked for when it has capacity, else "default".
  const tier = typeof mock.serviceTier === 'string' ? mock.serviceTier : body.service_tier === 'priority' || body.service_tier === 'flex' ? body.service_tier : 'default';
  const id = `chatcmpl-${randomHex()}`;
  const created = Math.floor(Date.now() / 1000);
  const call = toolCall(body, mock);
  if (call !== null) return answerWithToolCall(ctx, body, mock, { id, created, prompt, call });
  if (body.stream === true) {
    const so = body.stream_options;
    const includeUsage = isObj(so) && so.include_usage === true && mock.noUsage !== true;
    return stream(ctx, mock, chunkEvents(id, created, body.model, deltas, finish, includeUsage ? usage : undefined, mock, tier));
  }
  send(ctx, 200, JSON.stringify({
    id, object: 'chat.completion', created, model: body.model,
    choices: [{ index: 0, message: { role: 'assistant', content: deltas.join(''), refusal: null }, logprobs: null, finish_reason: finish }],
    ...(mock.noUsage === true ? {} : { usage }),
    service_tier: tier,
    system_fingerprint: 'fp_mock',
  }));
}

interface ToolCall { id: string; name: string; arguments: string }

/**
 * `mock.toolCall` {name, input}: answer with that call when the request offers tools, unless the
 * conversation ends with a tool's result: then the model answers in text, as a real one would.
 */
function toolCall(body: Obj, mock: Obj): ToolCall | null {
  const requested = mock.toolCall;
  if (!isObj(requested) || typeof requested.name !== 'string' || !Array.isArray(body.tools) || body.tools.length === 0) return null;
  const last: unknown = Array.isArray(body.messages) ? body.messages.at(-1) : undefined;
  if (isObj(last) && last.role === 'tool') return null;
  return { id: `call_${randomHex().slice(0, 24)}`, name: requested.name, arguments: JSON.stringify(requested.input ?? {}) };
}

function answerWithToolCall(ctx: Ctx, body: Obj, mock: Obj, a: { id: string; created: number; prompt: number; call: ToolCall }): Promise<void> | void {
  const completion = Math.ceil(a.call.arguments.length / 4) + 5;
  const usage = { prompt_tokens: a.prompt, completion_tokens: completion, total_tokens: a.prompt + completion, prompt_tokens_details: { cached_tokens: 0 }, completion_tokens_details: { reasoning_tokens: 0 } };
  const model = String(body.model);
  if (body.stream === true) {
    const so = body.stream_options;
    const includeUsage = isObj(so) && so.include_usage === true;
    const chunk = (delta: object, finish: string | null): string =>
      `data: ${JSON.stringify({ id: a.id, object: 'chat.completion.chunk', created: a.created, model, choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] })}\n\n`;
    // OpenAI sends the call's id and name first, then its arguments in pieces.
    const half = a.call.arguments.length >> 1;
    const events = [
      chunk({ role: 'assistant', content: null, refusal: null }, null),
      chunk({ tool_calls: [{ index: 0, id: a.call.id, type: 'function', function: { name: a.call.name, arguments: '' } }] }, null),
      chunk({ tool_calls: [{ index: 0, function: { arguments: a.call.arguments.slice(0, half) } }] }, null),
      chunk({ tool_calls: [{ index: 0, function: { arguments: a.call.arguments.slice(half) } }] }, null),
      chunk({}, 'tool_calls'),
    ];
    if (includeUsage) events.push(`data: ${JSON.stringify({ id: a.id, object: 'chat.completion.chunk', created: a.created, model, choices: [], usage })}\n\n`);
    events.push('data: [DONE]\n\n');
    return stream(ctx, mock, events);
  }
  const message = { role: 'assistant', content: null, refusal: null, tool_calls: [{ id: a.call.id, type: 'function', function: { name: a.call.name, arguments: a.call.arguments } }] };
  send(ctx, 200, JSON.stringify({ id: a.id, object: 'chat.completion', created: a.created, model, choices: [{ index: 0, message, logprobs: null, finish_reason: 'tool_calls' }], usage, system_fingerprint: 'fp_mock' }));
}

/** Builds the SSE events of one streamed completion; chunks are assembled from string templates for speed. */
function chunkEvents(id: string, created: number, model: string, deltas: string[], finish: string, usage: object | undefined, mock: Obj, tier: string): string[] {
  if (mock.firstEventError === true) {
    const message = typeof mock.errorMessage === 'string' ? mock.errorMessage : STATUS_DEFAULTS[500]![0];
    return [`data: ${errorJson(message, 'server_error', null, null)}\n\n`];
  }
  const head = `data: {"id":${JSON.stringify(id)},"object":"chat.completion.chunk","created":${created},"model":${JSON.stringify(model)},"service_tier":${JSON.stringify(tier)},"system_fingerprint":"fp_mock","choices":`;
  const tail = usage ? ',"usage":null}\n\n' : '}\n\n'; // with include_usage OpenAI sends usage:null on every chunk
  const chunk = (delta: string, finishReason: string | null): string =>
    `${head}[{"index":0,"delta":${delta},"logprobs":null,"finish_reason":${JSON.stringify(finishReason)}}]${tail}`;
  const events = [chunk('{"role":"assistant","content":"","refusal":null}', null)];
  for (const d of deltas) events.push(chunk(`{"content":${JSON.stringify(d)}}`, null));
  events.push(chunk('{}', finish));
  if (mock.endWithoutDone !== true) {
    if (usage) events.push(`${head}[],"usage":${JSON.stringify(usage)}}\n\n`);
    events.push('data: [DONE]\n\n');
  }
  return events;
}

/**
 * Writes stream events one `res.write` each (SSE text, or Bedrock's binary frames with their
 * content type), honouring eventDelayMs / breakAfterEvents / breakMidEvent / hangAfterEvents.
 */
export async function stream(ctx: Ctx, mock: Obj, events: Array<string | Buffer>, contentType = 'text/event-stream; charset=utf-8'): Promise<void> {
  const res = ctx.res;
  if (ctx.closed) return;
  res.writeHead(200, {
    'content-type': contentType, 'cache-control': 'no-cache', connection: 'keep-alive',
    ...ctx.headers,
  });
  const breakAt = nonNegInt(mock.breakAfterEvents);
  const hangAt = nonNegInt(mock.hangAfterEvents);
  const delay = nonNegNum(mock.eventDelayMs) ?? 0;
  // i === events.length is checked too: a fault there cuts the stream after [DONE] but before the chunked terminator.
  for (let i = 0; i <= events.length; i++) {
    if (i === breakAt || i === hangAt) {
      await flushed(ctx); // the client must actually receive the events written so far
      if (ctx.closed) return;
      if (i === breakAt) {
        // `breakMidEvent`: send half of the next event first, so the cut falls inside an event.
        const next = events[i];
        if (mock.breakMidEvent === true && next !== undefined) {
          res.write(next.slice(0, next.length >> 1));
          await flushed(ctx);
        }
        ctx.brokeOnPurpose = true;
        res.socket?.destroy(); // connection reset mid-stream
      } else {
        await untilClosed(ctx);
      }
      return;
    }
    if (i === events.length) break;
    if (i > 0 && delay > 0 && !(await wait(ctx, delay))) return;
    if (ctx.closed) return;
    if (!res.write(events[i]!)) {
      await new Promise<void>((resolve) => { // respect backpressure on very long streams
        const done = (): void => { res.off('drain', done); res.off('close', done); resolve(); };
        res.once('drain', done);
        res.once('close', done);
      });
    }
  }
  if (!ctx.closed) res.end();
}
