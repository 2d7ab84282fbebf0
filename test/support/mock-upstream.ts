// Local mock of an OpenAI-compatible provider API, shared by the test suite, the local dev
// runner and the benchmark. It speaks the OpenAI wire format (status codes, headers, SSE
// framing, error bodies) and injects faults requested through a `mock` object in the JSON
// body, which the gateway forwards to providers untouched.
//
// Library: `startMockUpstream({ port, host })`.  CLI: `node test/support/mock-upstream.ts --port 8790`.
// Node built-ins only, and syntax that Node's type stripping accepts (no enums/namespaces).
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

export interface RecordedRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: unknown;
  tag?: string;
  clientClosedEarly: boolean;
  completed: boolean;
  receivedAt: number;
}

export interface MockUpstream {
  url: string;
  port: number;
  requests: RecordedRequest[];
  close(): Promise<void>;
}

export interface MockUpstreamOptions {
  port?: number;
  host?: string;
}

type Obj = Record<string, unknown>;

/** Per-request state shared by the helpers below. */
interface Ctx {
  res: ServerResponse;
  /** Headers sent on every response to this request: x-request-id plus `mock.headers`. */
  headers: Record<string, string>;
  closed: boolean;
  /** The mock broke the socket on purpose, so the close is not the client's doing. */
  brokeOnPurpose: boolean;
  /** `mock.stallBody`: send the headers and half of a JSON answer, then nothing more. */
  stallBody: boolean;
}

const MAX_RECORDED = 10_000; // keeps a long benchmark from growing memory forever
const MAX_BODY_BYTES = 64 * 1024 * 1024;
const DEFAULT_CONTENT = 'Hello from the mock upstream.';
const DEFAULT_DIMENSIONS = 8;
const MODELS = ['mock-model', 'mock-model-mini', 'mock-embedding-model'].map((id) => ({
  id, object: 'model', created: 1700000000, owned_by: 'mock',
}));
const PARSE_ERROR = 'We could not parse the JSON body of your request. (HINT: This likely means you aren\'t using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON. If you have trouble figuring out how to fix this, please contact us through our help center at help.openai.com.)';
const NO_KEY_ERROR = 'You didn\'t provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or as the password field (with blank username) if you\'re accessing the API from your browser and are prompted for a username. You can obtain an API key from https://platform.openai.com/account/api-keys.';

// Default error per status, mirroring what OpenAI sends: [message, type, code].
const STATUS_DEFAULTS: Record<number, [string, string, string | null]> = {
  400: ['Invalid request.', 'invalid_request_error', null],
  401: ['Incorrect API key provided.', 'invalid_request_error', 'invalid_api_key'],
  404: ['The model does not exist or you do not have access to it.', 'invalid_request_error', 'model_not_found'],
  413: ['Request too large.', 'invalid_request_error', null],
  429: ['Rate limit reached for requests. Please try again in 1s.', 'requests', 'rate_limit_exceeded'],
  500: ['The server had an error while processing your request. Sorry about that!', 'server_error', null],
  502: ['Bad gateway.', 'server_error', null],
  503: ['The server is overloaded or not ready yet.', 'server_error', null],
  504: ['Gateway timeout.', 'server_error', null],
};

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const nonNegInt = (v: unknown): number | undefined => (typeof v === 'number' && Number.isInteger(v) && v >= 0 ? v : undefined);
const nonNegNum = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : undefined);
const randomHex = (): string => randomUUID().replaceAll('-', ''); // pooled entropy: cheap at 10k req/s
const noop = (): void => {};

function errorJson(message: string, type: string, param: string | null, code: string | null): string {
  return JSON.stringify({ error: { message, type, param, code } });
}

function send(ctx: Ctx, status: number, body: string, contentType = 'application/json', extra?: Record<string, string>): void {
  if (ctx.closed) return;
  // mock.headers (in ctx.headers) may deliberately override the defaults.
  ctx.res.writeHead(status, { 'content-type': contentType, 'content-length': String(Buffer.byteLength(body)), ...ctx.headers, ...extra });
  if (ctx.stallBody && status === 200) {
    ctx.res.write(body.slice(0, body.length >> 1));
    return;
  }
  ctx.res.end(body);
}

function sendError(ctx: Ctx, status: number, message: string, param: string | null = null, code: string | null = null): void {
  send(ctx, status, errorJson(message, 'invalid_request_error', param, code));
}

const sendMissing = (ctx: Ctx, param: string): void =>
  sendError(ctx, 400, `Missing required parameter: '${param}'.`, param, 'missing_required_parameter');

/** Resolves true after `ms`, or false as soon as the response closes (so no timer outlives a client). */
function wait(ctx: Ctx, ms: number): Promise<boolean> {
  if (ctx.closed) return Promise.resolve(false);
  return new Promise((resolve) => {
    const onClose = (): void => { clearTimeout(timer); resolve(false); };
    const timer = setTimeout(() => { ctx.res.off('close', onClose); resolve(true); }, ms);
    ctx.res.once('close', onClose);
  });
}

/** Resolves once the response closes: client gone or server shutting down. */
function untilClosed(ctx: Ctx): Promise<void> {
  return ctx.closed ? Promise.resolve() : new Promise((resolve) => ctx.res.once('close', () => resolve()));
}

/** Waits until everything written so far has reached the socket (or the response closed). */
function flushed(ctx: Ctx): Promise<void> {
  if (ctx.closed) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => { ctx.res.off('close', done); resolve(); };
    ctx.res.once('close', done);
    ctx.res.write('', done); // an empty write's callback fires after earlier data was flushed
  });
}

type BodyResult = Buffer | 'too-large' | 'aborted';

function readBody(req: IncomingMessage): Promise<BodyResult> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const settle = (r: BodyResult): void => { if (!settled) { settled = true; resolve(r); } };
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk); // past the cap keep draining so we can answer 413
    });
    req.on('end', () => settle(size > MAX_BODY_BYTES ? 'too-large' : chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)));
    req.on('close', () => settle('aborted'));
    req.on('error', () => settle('aborted'));
  });
}

function recordHeaders(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) {
    if (v !== undefined) out[k] = Array.isArray(v) ? v.join(', ') : v; // Node already lowercases names
  }
  return out;
}

/** Sends the error response requested by `mock.status` (plus its optional overrides). */
function sendFault(ctx: Ctx, status: number, mock: Obj): void {
  const extra: Record<string, string> = {};
  if (typeof mock.retryAfter === 'string') extra['retry-after'] = mock.retryAfter;
  else if (status === 429) extra['retry-after'] = '1';
  if (typeof mock.rawErrorBody === 'string') return send(ctx, status, mock.rawErrorBody, 'text/html', extra);
  if (mock.errorBody !== undefined) return send(ctx, status, JSON.stringify(mock.errorBody), 'application/json', extra);
  const [message, type, code] = STATUS_DEFAULTS[status]
    ?? (status >= 500 ? ['Internal server error.', 'server_error', null] : ['Request failed.', 'invalid_request_error', null]);
  send(ctx, status, errorJson(
    typeof mock.errorMessage === 'string' ? mock.errorMessage : message,
    typeof mock.errorType === 'string' ? mock.errorType : type,
    null,
    typeof mock.errorCode === 'string' ? mock.errorCode : code,
  ), 'application/json', extra);
}

// ---------------------------------------------------------------------------------------------
// Chat completions

function contentDeltas(mock: Obj): string[] {
  const n = nonNegInt(mock.streamEvents);
  if (n !== undefined) return Array.from({ length: n }, (_, i) => `tok${i} `);
  const parts = (typeof mock.content === 'string' ? mock.content : DEFAULT_CONTENT).split(' ');
  const last = parts.length - 1;
  // Keep the spaces so the deltas concatenate back to the exact reply.
  return parts.map((p, i) => (i < last ? `${p} ` : p)).filter((p) => p !== '');
}

function promptTokens(messages: unknown[]): number {
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

async function chat(ctx: Ctx, body: Obj, mock: Obj): Promise<void> {
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
  const usage = {
    prompt_tokens: prompt, completion_tokens: deltas.length, total_tokens: prompt + deltas.length,
    prompt_tokens_details: { cached_tokens: 0 }, completion_tokens_details: { reasoning_tokens: 0 },
  };
  const id = `chatcmpl-${randomHex()}`;
  const created = Math.floor(Date.now() / 1000);
  if (body.stream === true) {
    const so = body.stream_options;
    const includeUsage = isObj(so) && so.include_usage === true && mock.noUsage !== true;
    return stream(ctx, mock, chunkEvents(id, created, body.model, deltas, finish, includeUsage ? usage : undefined, mock));
  }
  send(ctx, 200, JSON.stringify({
    id, object: 'chat.completion', created, model: body.model,
    choices: [{ index: 0, message: { role: 'assistant', content: deltas.join(''), refusal: null }, logprobs: null, finish_reason: finish }],
    ...(mock.noUsage === true ? {} : { usage }),
    system_fingerprint: 'fp_mock',
  }));
}

/** Builds the SSE events of one streamed completion; chunks are assembled from string templates for speed. */
function chunkEvents(id: string, created: number, model: string, deltas: string[], finish: string, usage: object | undefined, mock: Obj): string[] {
  if (mock.firstEventError === true) {
    const message = typeof mock.errorMessage === 'string' ? mock.errorMessage : STATUS_DEFAULTS[500]![0];
    return [`data: ${errorJson(message, 'server_error', null, null)}\n\n`];
  }
  const head = `data: {"id":${JSON.stringify(id)},"object":"chat.completion.chunk","created":${created},"model":${JSON.stringify(model)},"system_fingerprint":"fp_mock","choices":`;
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

/** Writes SSE events one `res.write` each, honouring eventDelayMs / breakAfterEvents / hangAfterEvents. */
async function stream(ctx: Ctx, mock: Obj, events: string[]): Promise<void> {
  const res = ctx.res;
  if (ctx.closed) return;
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive',
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

// ---------------------------------------------------------------------------------------------
// Embeddings

/** Deterministic unit vector derived from the input (FNV-1a seed, mulberry32 stream), float32-exact. */
function embed(input: string | number[], dims: number): number[] {
  let h = 0x811c9dc5;
  if (typeof input === 'string') for (let i = 0; i < input.length; i++) h = Math.imul(h ^ input.charCodeAt(i), 0x01000193);
  else for (const n of input) h = Math.imul(h ^ (n | 0), 0x01000193);
  const v: number[] = [];
  let norm = 0;
  for (let i = 0; i < dims; i++) {
    h = (h + 0x6d2b79f5) | 0;
    let t = Math.imul(h ^ (h >>> 15), 1 | h);
    t ^= t + Math.imul(t ^ (t >>> 7), 61 | t);
    const x = (((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1;
    v.push(x);
    norm += x * x;
  }
  norm = Math.sqrt(norm) || 1;
  // fround so the float and base64 encodings decode to identical numbers.
  return v.map((x) => Math.fround(x / norm));
}

function embeddings(ctx: Ctx, body: Obj): void {
  if (typeof body.model !== 'string' || body.model === '') return sendMissing(ctx, 'model');
  const input = body.input;
  let items: (string | number[])[] | undefined;
  if (typeof input === 'string') items = [input];
  else if (Array.isArray(input) && input.length > 0) {
    if (input.every((s) => typeof s === 'string')) items = input as string[];
    else if (input.every((n) => typeof n === 'number')) items = [input as number[]];
    else if (input.every((a) => Array.isArray(a) && a.every((n) => typeof n === 'number'))) items = input as number[][];
  }
  if (!items) {
    return input === undefined ? sendMissing(ctx, 'input') : sendError(ctx, 400, '\'$.input\' is invalid. Please check the API reference: https://platform.openai.com/docs/api-reference.', 'input', 'invalid_type');
  }
  let dims = DEFAULT_DIMENSIONS;
  if (body.dimensions !== undefined && body.dimensions !== null) {
    const d = nonNegInt(body.dimensions);
    if (d === undefined || d < 1 || d > 8192) return sendError(ctx, 400, 'Invalid value for \'dimensions\'.', 'dimensions', 'invalid_value');
    dims = d;
  }
  const format = body.encoding_format ?? 'float';
  if (format !== 'float' && format !== 'base64') {
    return sendError(ctx, 400, 'Invalid value for \'encoding_format\': expected \'float\' or \'base64\'.', 'encoding_format', 'invalid_value');
  }
  let chars = 0;
  let numberTokens = 0;
  for (const it of items) if (typeof it === 'string') chars += it.length; else numberTokens += it.length;
  const tokens = Math.ceil(chars / 4) + numberTokens;
  const data = items.map((it, index) => {
    const vec = embed(it, dims);
    if (format === 'float') return { object: 'embedding', index, embedding: vec };
    const buf = Buffer.allocUnsafe(dims * 4);
    vec.forEach((x, i) => buf.writeFloatLE(x, i * 4)); // the SDK decodes little-endian Float32 bytes
    return { object: 'embedding', index, embedding: buf.toString('base64') };
  });
  send(ctx, 200, JSON.stringify({ object: 'list', data, model: body.model, usage: { prompt_tokens: tokens, total_tokens: tokens } }));
}

// ---------------------------------------------------------------------------------------------
// Server

function routeOf(method: string, path: string): 'chat' | 'embeddings' | 'models' | undefined {
  if (method === 'POST' && path.endsWith('/chat/completions')) return 'chat';
  if (method === 'POST' && path.endsWith('/embeddings')) return 'embeddings';
  if (method === 'GET' && path.endsWith('/models')) return 'models';
  return undefined;
}

function control(ctx: Ctx, method: string, path: string, query: string, requests: RecordedRequest[]): void {
  if (path === '/__mock/health' && method === 'GET') return send(ctx, 200, '{"ok":true}');
  if (path === '/__mock/requests' && method === 'GET') {
    const tag = query ? new URLSearchParams(query).get('tag') : null;
    return send(ctx, 200, JSON.stringify(tag === null ? requests : requests.filter((r) => r.tag === tag)));
  }
  if (path === '/__mock/requests' && method === 'DELETE') {
    requests.length = 0; // in place, so holders of `upstream.requests` see the clear
    return send(ctx, 200, '{"ok":true}');
  }
  sendError(ctx, 404, `Invalid URL (${method} ${path})`);
}

async function handle(req: IncomingMessage, res: ServerResponse, requests: RecordedRequest[]): Promise<void> {
  const ctx: Ctx = { res, headers: { 'x-request-id': `req_${randomHex()}` }, closed: false, brokeOnPurpose: false, stallBody: false };
  let rec: RecordedRequest | undefined;
  res.on('error', noop); // writes racing a client disconnect must not crash the process
  res.on('finish', () => { if (rec) rec.completed = true; });
  res.on('close', () => {
    ctx.closed = true;
    if (rec && !res.writableFinished && !ctx.brokeOnPurpose) rec.clientClosedEarly = true;
  });
  const method = req.method ?? 'GET';
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  let path = q === -1 ? url : url.slice(0, q);
  if (path.length > 1 && path.endsWith('/')) path = path.slice(0, -1);
  if (path.startsWith('/__mock/')) {
    req.resume();
    return control(ctx, method, path, q === -1 ? '' : url.slice(q + 1), requests);
  }

  const raw = await readBody(req);
  if (raw === 'aborted') return;
  let body: unknown;
  let parseFailed = false;
  if (raw !== 'too-large' && raw.length > 0) {
    const text = raw.toString('utf8');
    try { body = JSON.parse(text); } catch { body = text; parseFailed = true; }
  }
  const requested: Obj = isObj(body) && isObj(body.mock) ? body.mock : {};
  // `onlyModel`: faults apply only to that model, so one alias target can fail while the next answers.
  const mock: Obj =
    typeof requested.onlyModel === 'string' && isObj(body) && body.model !== requested.onlyModel ? { tag: requested.tag } : requested;
  const tag = typeof mock.tag === 'string' ? mock.tag : isObj(body) && typeof body.user === 'string' ? body.user : undefined;
  rec = { method, path, headers: recordHeaders(req), body, clientClosedEarly: false, completed: false, receivedAt: Date.now() };
  if (tag !== undefined) rec.tag = tag;
  requests.push(rec);
  while (requests.length > MAX_RECORDED) requests.shift();
  if (ctx.closed) { rec.clientClosedEarly = true; return; }
  ctx.stallBody = mock.stallBody === true;
  if (isObj(mock.headers)) {
    for (const [k, v] of Object.entries(mock.headers)) ctx.headers[k.toLowerCase()] = String(v);
  }

  const route = routeOf(method, path);
  if (!route) return sendError(ctx, 404, `Invalid URL (${method} ${path})`);
  const auth = req.headers.authorization ?? '';
  const key = auth.startsWith('Bearer ') ? auth.slice(7).trim() : '';
  if (key === '') return sendError(ctx, 401, NO_KEY_ERROR);
  if (key === 'bad-key') return sendError(ctx, 401, `Incorrect API key provided: ${key}.`, null, 'invalid_api_key');
  if (route === 'models') return send(ctx, 200, JSON.stringify({ object: 'list', data: MODELS }));
  if (raw === 'too-large') return sendError(ctx, 413, `Request body too large (max ${MAX_BODY_BYTES} bytes).`);
  if (parseFailed || !isObj(body)) return sendError(ctx, 400, PARSE_ERROR);

  // Faults, in the order a real upstream would exhibit them.
  if (mock.hang === true) return untilClosed(ctx);
  const delay = nonNegNum(mock.delayMs);
  if (delay && !(await wait(ctx, delay))) return;
  const status = nonNegInt(mock.status);
  if (status !== undefined && status >= 200 && status <= 599) return sendFault(ctx, status, mock);
  return route === 'chat' ? chat(ctx, body, mock) : embeddings(ctx, body);
}

export async function startMockUpstream(opts: MockUpstreamOptions = {}): Promise<MockUpstream> {
  const requests: RecordedRequest[] = [];
  const server = createServer((req, res) => {
    handle(req, res, requests).catch((err: unknown) => {
      // A bug or a bad mock option (e.g. an invalid header name): answer 500 rather than crash.
      if (res.headersSent) return res.destroy();
      for (const name of res.getHeaderNames()) res.removeHeader(name); // drop what a failed writeHead left behind
      const body = errorJson(`Mock upstream internal error: ${String(err)}`, 'server_error', null, null);
      res.writeHead(500, 'Internal Server Error', {
        'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'x-request-id': `req_${randomHex()}`,
      });
      res.end(body);
    });
  });
  server.keepAliveTimeout = 5_000;
  server.headersTimeout = 10_000;
  server.requestTimeout = 0; // hung/slow responses are deliberate; only header arrival is bounded
  const host = opts.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => { server.off('error', reject); resolve(); });
  });
  const { port } = server.address() as AddressInfo;
  const urlHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${urlHost}:${port}`,
    port,
    requests,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections(); // also ends hanging responses so tests never wait on them
      });
      return closing;
    },
  };
}

function isMain(): boolean {
  const entry = process.argv[1];
  if (!entry) return false;
  try { return import.meta.url === pathToFileURL(realpathSync(entry)).href; } catch { return false; }
}

if (isMain()) {
  const { values } = parseArgs({ options: { port: { type: 'string', default: '8790' }, host: { type: 'string', default: '127.0.0.1' } } });
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`invalid --port: ${values.port}`);
    process.exit(2);
  }
  const upstream = await startMockUpstream({ port, host: values.host });
  console.log(`mock upstream listening on ${upstream.url}`);
  const stop = (): void => { void upstream.close().then(() => process.exit(0)); };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
