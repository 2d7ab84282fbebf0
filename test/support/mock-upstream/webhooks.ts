// A webhook receiver for tests of outgoing notifications (budget alerts): POST /__mock/webhook/<tag>
// records the JSON body and answers 200 (`?failFirst=n`: the first n POSTs to that tag answer 503,
// as a receiver that is briefly down); GET /__mock/webhook/<tag> lists what that tag received, in
// order, each with the status it was answered.
import type { IncomingMessage } from 'node:http';
import type { Ctx } from './response.ts';
import { send, sendError } from './response.ts';

export interface WebhookDelivery {
  status: number;
  headers: Record<string, string>;
  body: unknown;
  receivedAt: number;
}

export type Webhooks = Map<string, WebhookDelivery[]>;

const PREFIX = '/__mock/webhook/';

function readText(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** Serves the webhook endpoints; false when `path` is not one of them. */
export async function webhookRoute(ctx: Ctx, req: IncomingMessage, method: string, path: string, query: string, webhooks: Webhooks): Promise<boolean> {
  if (!path.startsWith(PREFIX) || path.length === PREFIX.length) return false;
  const tag = decodeURIComponent(path.slice(PREFIX.length));
  const received = webhooks.get(tag) ?? [];
  if (method === 'GET') {
    req.resume();
    send(ctx, 200, JSON.stringify(received));
    return true;
  }
  if (method !== 'POST') return false;
  const text = await readText(req);
  let body: unknown;
  try { body = JSON.parse(text); } catch { body = text; }
  const failFirst = Number(new URLSearchParams(query).get('failFirst') ?? 0);
  const status = received.length < failFirst ? 503 : 200;
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers[k] = v;
  received.push({ status, headers, body, receivedAt: Date.now() });
  webhooks.set(tag, received);
  if (status === 200) send(ctx, 200, '{"ok":true}');
  else sendError(ctx, status, 'webhook receiver unavailable (failFirst)');
  return true;
}
