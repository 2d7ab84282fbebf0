// Fault injection shared by the routes: which `mock` options apply, and the error answers of `mock.status`.
import type { Ctx } from './response.ts';
import { send } from './response.ts';
import type { Obj } from './shared.ts';
import { errorJson, isObj } from './shared.ts';

// Default error per status, mirroring what OpenAI sends: [message, type, code].
export const STATUS_DEFAULTS: Record<number, [string, string, string | null]> = {
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

/**
 * The `mock` options that apply to this request (`{}` when there are none): a script's, else the
 * body's `mock`. `model` is the body's, or the one in the path (Gemini names it in the URL).
 */
export function mockOptions(body: unknown, scripted: Obj | undefined, pathModel: string | undefined): Obj {
  const requested: Obj = scripted ?? (isObj(body) && isObj(body.mock) ? body.mock : {});
  const model = isObj(body) && typeof body.model === 'string' ? body.model : pathModel;
  // `onlyModel`: faults apply only to that model, so one alias target can fail while the next answers.
  return typeof requested.onlyModel === 'string' && model !== requested.onlyModel ? { tag: requested.tag } : requested;
}

/** Sends the error response requested by `mock.status` (plus its optional overrides). */
export function sendFault(ctx: Ctx, status: number, mock: Obj): void {
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
