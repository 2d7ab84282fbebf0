// The HTTP server: reads and records each request, serves the /__mock/ control endpoints,
// checks auth and body, applies the request-level faults, then routes to chat or embeddings.
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { responses } from './responses.ts';
import { anthropicAuthError, countTokens, messages, sendAnthropicError } from './anthropic.ts';
import { bedrockRoute } from './bedrock.ts';
import { chat } from './chat.ts';
import { embeddings } from './embeddings.ts';
import { gemini } from './gemini.ts';
import { mockOptions, sendFault } from './faults.ts';
import { webhookRoute, type Webhooks } from './webhooks.ts';
import type { Ctx } from './response.ts';
import { send, sendError, untilClosed, wait } from './response.ts';
import type { MockUpstream, MockUpstreamOptions, Obj, RecordedRequest } from './shared.ts';
import { errorJson, isObj, nonNegInt, nonNegNum, randomHex } from './shared.ts';

const MAX_RECORDED = 10_000; // keeps a long benchmark from growing memory forever
const MAX_BODY_BYTES = 64 * 1024 * 1024;
const MODELS = ['mock-model', 'mock-model-mini', 'mock-embedding-model'].map((id) => ({
  id, object: 'model', created: 1700000000, owned_by: 'mock',
}));
const PARSE_ERROR = 'We could not parse the JSON body of your request. (HINT: This likely means you aren\'t using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON. If you have trouble figuring out how to fix this, please contact us through our help center at help.openai.com.)';
const NO_KEY_ERROR = 'You didn\'t provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or as the password field (with blank username) if you\'re accessing the API from your browser and are prompted for a username. You can obtain an API key from https://platform.openai.com/account/api-keys.';

const noop = (): void => {};

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

const GEMINI_METHOD = /\/models\/([^/:]+):(?:generateContent|streamGenerateContent|batchEmbedContents)$/;
const BEDROCK_METHOD = /\/model\/([^/]+)\/converse(-stream)?$/;

function routeOf(method: string, path: string): 'chat' | 'responses' | 'embeddings' | 'models' | 'messages' | 'count_tokens' | 'gemini' | 'bedrock' | undefined {
  if (method === 'POST' && GEMINI_METHOD.test(path)) return 'gemini';
  if (method === 'POST' && BEDROCK_METHOD.test(path)) return 'bedrock';
  if (method === 'POST' && path.endsWith('/chat/completions')) return 'chat';
  if (method === 'POST' && path.endsWith('/responses')) return 'responses';
  if (method === 'POST' && path.endsWith('/messages/count_tokens')) return 'count_tokens';
  if (method === 'POST' && path.endsWith('/messages')) return 'messages';
  if (method === 'POST' && path.endsWith('/embeddings')) return 'embeddings';
  if (method === 'GET' && path.endsWith('/models')) return 'models';
  return undefined;
}

/**
 * Faults for providers whose real API rejects unknown fields (Gemini, Bedrock), so a
 * `mock` body field cannot reach the mock: a test registers `{match, mock}` here and
 * any request whose raw body contains `match` (e.g. a unique word in a message) gets
 * those options, tagged with `match`.
 */
type Scripts = Map<string, Obj>;

function scriptedOptions(raw: Buffer | 'too-large', scripts: Scripts): { match: string; mock: Obj } | undefined {
  if (scripts.size === 0 || raw === 'too-large') return undefined;
  for (const [match, mock] of scripts) if (raw.includes(match)) return { match, mock };
  return undefined;
}

async function control(ctx: Ctx, req: IncomingMessage, method: string, path: string, query: string, requests: RecordedRequest[], scripts: Scripts, webhooks: Webhooks): Promise<void> {
  if (await webhookRoute(ctx, req, method, path, query, webhooks)) return;
  if (path === '/__mock/script' && method === 'POST') {
    const raw = await readBody(req);
    const script: unknown = raw instanceof Buffer ? JSON.parse(raw.toString('utf8')) : undefined;
    if (!isObj(script) || typeof script.match !== 'string' || script.match.length < 8 || !isObj(script.mock)) {
      return sendError(ctx, 400, 'expected {"match": "<at least 8 characters>", "mock": {…}}');
    }
    scripts.set(script.match, script.mock);
    return send(ctx, 200, '{"ok":true}');
  }
  req.resume();
  if (path === '/__mock/health' && method === 'GET') return send(ctx, 200, '{"ok":true}');
  if (path === '/__mock/requests' && method === 'GET') {
    const tag = query ? new URLSearchParams(query).get('tag') : null;
    return send(ctx, 200, JSON.stringify(tag === null ? requests : requests.filter((r) => r.tag === tag)));
  }
  if (path === '/__mock/requests' && method === 'DELETE') {
    requests.length = 0; // in place, so holders of `upstream.requests` see the clear
    scripts.clear();
    webhooks.clear();
    return send(ctx, 200, '{"ok":true}');
  }
  sendError(ctx, 404, `Invalid URL (${method} ${path})`);
}

async function handle(req: IncomingMessage, res: ServerResponse, requests: RecordedRequest[], scripts: Scripts, counts: Map<string, number>, webhooks: Webhooks): Promise<void> {
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
    return control(ctx, req, method, path, q === -1 ? '' : url.slice(q + 1), requests, scripts, webhooks);
  }

  const raw = await readBody(req);
  if (raw === 'aborted') return;
  let body: unknown;
  let parseFailed = false;
  if (raw !== 'too-large' && raw.length > 0) {
    const text = raw.toString('utf8');
    try { body = JSON.parse(text); } catch { body = text; parseFailed = true; }
  }
  const script = scriptedOptions(raw, scripts);
  // Gemini and Bedrock name the model in the URL, not the body (for `onlyModel`).
  const bedrockModel = BEDROCK_METHOD.exec(path)?.[1];
  const pathModel = GEMINI_METHOD.exec(path)?.[1] ?? (bedrockModel === undefined ? undefined : decodeURIComponent(bedrockModel));
  let mock = mockOptions(body, script?.mock, pathModel);
  // The tag: a script's match, `mock.tag`, else the end user (`user`, or Anthropic's `metadata.user_id`).
  const anthropicUser = isObj(body) && isObj(body.metadata) && typeof body.metadata.user_id === 'string' ? body.metadata.user_id : undefined;
  const tag = script?.match ?? (typeof mock.tag === 'string' ? mock.tag : isObj(body) && typeof body.user === 'string' ? body.user : anthropicUser);
  // `failFirst: n`: the faults hit only the first n requests with this tag; later ones are answered normally.
  const failFirst = nonNegInt(mock.failFirst);
  if (failFirst !== undefined && tag !== undefined) {
    const seen = (counts.get(tag) ?? 0) + 1;
    counts.set(tag, seen);
    if (seen > failFirst) mock = typeof mock.tag === 'string' ? { tag: mock.tag } : {};
  }
  rec = { method, path, query: q === -1 ? '' : url.slice(q), headers: recordHeaders(req), body, clientClosedEarly: false, completed: false, receivedAt: Date.now() };
  if (tag !== undefined) rec.tag = tag;
  requests.push(rec);
  while (requests.length > MAX_RECORDED) requests.shift();
  if (ctx.closed) { rec.clientClosedEarly = true; return; }
  ctx.stallBody = mock.stallBody === true;
  ctx.answerEncoding = mock.answerEncoding === 'gzip' || mock.answerEncoding === 'chunked' ? mock.answerEncoding : undefined;
  if (isObj(mock.headers)) {
    for (const [k, v] of Object.entries(mock.headers)) ctx.headers[k.toLowerCase()] = String(v);
  }

  const route = routeOf(method, path);
  if (!route) return sendError(ctx, 404, `Invalid URL (${method} ${path})`);
  if (route === 'messages' || route === 'count_tokens') return anthropicRoute(ctx, req.headers, raw, body, parseFailed, mock, route);
  if (route === 'gemini') return gemini(ctx, req.headers, path, rec.query, raw, body, parseFailed, mock);
  if (route === 'bedrock') return bedrockRoute(ctx, req, path, raw, body, parseFailed, mock);
  const auth = req.headers.authorization ?? '';
  // Azure OpenAI sends its key as `api-key` instead of a bearer token.
  const azureKey = req.headers['api-key'];
  const key = auth.startsWith('Bearer ') ? auth.slice(7).trim() : typeof azureKey === 'string' ? azureKey.trim() : '';
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
  if (route === 'responses') return responses(ctx, body, mock);
  return route === 'chat' ? chat(ctx, body, mock) : embeddings(ctx, body);
}

/** The Anthropic API: its own auth headers and error shape, the same fault options. */
async function anthropicRoute(ctx: Ctx, headers: IncomingMessage['headers'], raw: Buffer | 'too-large', body: unknown, parseFailed: boolean, mock: Obj, route: 'messages' | 'count_tokens'): Promise<void> {
  const authError = anthropicAuthError(headers);
  if (authError !== null) return sendAnthropicError(ctx, authError[0], authError[1]);
  if (raw === 'too-large') return sendAnthropicError(ctx, 413, 'Request exceeds the maximum allowed number of bytes.');
  if (parseFailed || !isObj(body)) return sendAnthropicError(ctx, 400, 'There was an issue with the format of your JSON.');
  if (mock.hang === true) return untilClosed(ctx);
  const delay = nonNegNum(mock.delayMs);
  if (delay && !(await wait(ctx, delay))) return;
  const status = nonNegInt(mock.status);
  if (status !== undefined && status >= 400 && status <= 599) {
    const extra = typeof mock.retryAfter === 'string' ? { 'retry-after': mock.retryAfter } : undefined;
    return sendAnthropicError(ctx, status, typeof mock.errorMessage === 'string' ? mock.errorMessage : status === 529 ? 'Overloaded' : 'Request failed.', extra);
  }
  return route === 'messages' ? messages(ctx, body, mock) : countTokens(ctx, body);
}

export async function startMockUpstream(opts: MockUpstreamOptions = {}): Promise<MockUpstream> {
  const requests: RecordedRequest[] = [];
  const scripts: Scripts = new Map();
  const counts = new Map<string, number>(); // requests seen per tag, for `failFirst`
  const webhooks: Webhooks = new Map(); // POST /__mock/webhook/<tag>, by tag
  const server = createServer((req, res) => {
    handle(req, res, requests, scripts, counts, webhooks).catch((err: unknown) => {
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
