import OpenAI from 'openai';
import assert from 'node:assert/strict';
import { startMockUpstream } from './mock-upstream.ts';

const up = await startMockUpstream();
console.log('url', up.url);
const client = new OpenAI({ apiKey: 'k', baseURL: `${up.url}/v1`, maxRetries: 0 });

const r = await client.chat.completions.create({ model: 'mock-model', messages: [{ role: 'user', content: 'hi' }] });
assert.equal(r.choices[0]!.message.content, 'Hello from the mock upstream.');
assert.equal(r.usage!.completion_tokens, 5);
const wr = await client.chat.completions.create({ model: 'mock-model', messages: [{ role: 'user', content: 'hi' }] }).withResponse();
assert.match(wr.response.headers.get('x-request-id')!, /^req_/);

const s = await client.chat.completions.create({ model: 'mock-model', messages: [{ role: 'user', content: 'hi' }], stream: true, stream_options: { include_usage: true }, mock: { streamEvents: 4, tag: 'sdk' } } as never);
let text = ''; let usage: unknown; let finish: string | null = null;
for await (const c of s as unknown as AsyncIterable<OpenAI.ChatCompletionChunk>) {
  text += c.choices[0]?.delta.content ?? ''; if (c.choices[0]?.finish_reason) finish = c.choices[0].finish_reason; if (c.usage) usage = c.usage;
}
assert.equal(text, 'tok0 tok1 tok2 tok3 '); assert.equal(finish, 'stop');
assert.deepEqual(usage, { prompt_tokens: 4, completion_tokens: 4, total_tokens: 8, prompt_tokens_details: { cached_tokens: 0 }, completion_tokens_details: { reasoning_tokens: 0 } });

const e = await client.embeddings.create({ model: 'mock-embedding-model', input: ['hello world', 'x'] });
const ef = await (await fetch(`${up.url}/v1/embeddings`, { method: 'POST', headers: { authorization: 'Bearer k' }, body: JSON.stringify({ model: 'e', input: ['hello world', 'x'] }) })).json() as { data: { embedding: number[] }[] };
assert.deepEqual(e.data[0]!.embedding, ef.data[0]!.embedding);
assert.equal(e.data[0]!.embedding.length, 8);
console.log('sdk base64 decoded', e.data[0]!.embedding);
const lastEmb = up.requests.at(-2)!;
assert.equal((lastEmb.body as { encoding_format: string }).encoding_format, 'base64');

// SDK error mapping
await assert.rejects(client.chat.completions.create({ model: 'm', messages: [], mock: { status: 429 } } as never), (err: unknown) => err instanceof OpenAI.RateLimitError && err.headers?.get('retry-after') === '1');
await assert.rejects(new OpenAI({ apiKey: 'bad-key', baseURL: `${up.url}/v1`, maxRetries: 0 }).models.list(), (err: unknown) => err instanceof OpenAI.AuthenticationError && (err as InstanceType<typeof OpenAI.APIError>).code === 'invalid_api_key');
// break mid-stream surfaces as an error in the SDK
await assert.rejects(async () => { const st = await client.chat.completions.create({ model: 'm', messages: [], stream: true, mock: { breakAfterEvents: 2 } } as never); for await (const _ of st as unknown as AsyncIterable<unknown>) { /* drain */ } });
const models = await client.models.list();
assert.equal(models.data[0]!.id, 'mock-model');

// client aborts a hanging request -> clientClosedEarly
const ac = new AbortController();
const p = fetch(`${up.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: 'Bearer k' }, body: JSON.stringify({ model: 'm', messages: [], mock: { hang: true, tag: 'h' } }), signal: ac.signal });
await new Promise((r) => setTimeout(r, 100)); ac.abort(); await p.catch(() => {});
await new Promise((r) => setTimeout(r, 50));
const h = up.requests.find((x) => x.tag === 'h')!;
assert.equal(h.clientClosedEarly, true); assert.equal(h.completed, false);
assert.equal(up.requests.find((x) => x.tag === 'sdk')!.completed, true);

// big body (30 MB)
const big = 'x'.repeat(30 * 1024 * 1024);
const br = await fetch(`${up.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: 'Bearer k' }, body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: big }] }) });
const bj = await br.json() as { usage: { prompt_tokens: number } };
assert.equal(bj.usage.prompt_tokens, Math.ceil(big.length / 4) + 3);

// cap
up.requests.length = 0;
for (let i = 0; i < 10_050; i++) up.requests.push({ ...h });
await fetch(`${up.url}/v1/models`, { headers: { authorization: 'Bearer k' } });
assert.equal(up.requests.length, 10_000);

// close() with a hanging request and a hanging stream must not block
fetch(`${up.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: 'Bearer k' }, body: JSON.stringify({ model: 'm', messages: [], mock: { hang: true } }) }).catch(() => {});
const hs = await fetch(`${up.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: 'Bearer k' }, body: JSON.stringify({ model: 'm', stream: true, messages: [], mock: { hangAfterEvents: 1 } }) });
const rd = hs.body!.getReader(); await rd.read(); rd.read().catch(() => {});
await new Promise((r) => setTimeout(r, 50));
const t0 = Date.now(); await up.close(); console.log('close took', Date.now() - t0, 'ms');
console.log('ALL OK');
