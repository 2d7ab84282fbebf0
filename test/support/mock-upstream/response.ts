// Per-request response state and the primitives that write to it (whole answers, errors, waits).
import type { ServerResponse } from 'node:http';
import { gzipSync } from 'node:zlib';
import { errorJson } from './shared.ts';

/** Per-request state shared by the route handlers and fault helpers. */
export interface Ctx {
  res: ServerResponse;
  /** Headers sent on every response to this request: x-request-id plus `mock.headers`. */
  headers: Record<string, string>;
  closed: boolean;
  /** The mock broke the socket on purpose, so the close is not the client's doing. */
  brokeOnPurpose: boolean;
  /** `mock.stallBody`: send the headers and half of a JSON answer, then nothing more. */
  stallBody: boolean;
  /** `mock.answerEncoding`: a 200 answer sent gzip-compressed (with the compressed length, as providers do) or chunked (no length). */
  answerEncoding?: 'gzip' | 'chunked' | undefined;
}

export function send(ctx: Ctx, status: number, body: string, contentType = 'application/json', extra?: Record<string, string>): void {
  if (ctx.closed) return;
  if (status === 200 && ctx.answerEncoding === 'gzip') {
    const zipped = gzipSync(body);
    ctx.res.writeHead(status, { 'content-type': contentType, 'content-encoding': 'gzip', 'content-length': String(zipped.byteLength), ...ctx.headers, ...extra });
    ctx.res.end(zipped);
    return;
  }
  if (status === 200 && ctx.answerEncoding === 'chunked') {
    ctx.res.writeHead(status, { 'content-type': contentType, ...ctx.headers, ...extra });
    ctx.res.end(body);
    return;
  }
  // mock.headers (in ctx.headers) may deliberately override the defaults.
  ctx.res.writeHead(status, { 'content-type': contentType, 'content-length': String(Buffer.byteLength(body)), ...ctx.headers, ...extra });
  if (ctx.stallBody && status === 200) {
    ctx.res.write(body.slice(0, body.length >> 1));
    return;
  }
  ctx.res.end(body);
}

export function sendError(ctx: Ctx, status: number, message: string, param: string | null = null, code: string | null = null): void {
  send(ctx, status, errorJson(message, 'invalid_request_error', param, code));
}

export const sendMissing = (ctx: Ctx, param: string): void =>
  sendError(ctx, 400, `Missing required parameter: '${param}'.`, param, 'missing_required_parameter');

/** Resolves true after `ms`, or false as soon as the response closes (so no timer outlives a client). */
export function wait(ctx: Ctx, ms: number): Promise<boolean> {
  if (ctx.closed) return Promise.resolve(false);
  return new Promise((resolve) => {
    const onClose = (): void => { clearTimeout(timer); resolve(false); };
    const timer = setTimeout(() => { ctx.res.off('close', onClose); resolve(true); }, ms);
    ctx.res.once('close', onClose);
  });
}

/** Resolves once the response closes: client gone or server shutting down. */
export function untilClosed(ctx: Ctx): Promise<void> {
  return ctx.closed ? Promise.resolve() : new Promise((resolve) => ctx.res.once('close', () => resolve()));
}

/** Waits until everything written so far has reached the socket (or the response closed). */
export function flushed(ctx: Ctx): Promise<void> {
  if (ctx.closed) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => { ctx.res.off('close', done); resolve(); };
    ctx.res.once('close', done);
    ctx.res.write('', done); // an empty write's callback fires after earlier data was flushed
  });
}
