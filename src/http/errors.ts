/**
 * Every error the gateway answers with is a `GatewayError`, turned into the
 * OpenAI error shape in one place (`app.onError`). Clients' SDKs read
 * `error.message`, `error.type` and `error.code`, so all three are always set
 * deliberately.
 */
import { headerSafe } from "./header-value.ts";

export type ErrorStatus = 400 | 401 | 402 | 403 | 404 | 405 | 408 | 409 | 413 | 415 | 422 | 429 | 500 | 502 | 503 | 504;

export type ErrorType =
  | "invalid_request_error"
  | "authentication_error"
  | "permission_error"
  | "not_found_error"
  | "rate_limit_error"
  | "insufficient_quota"
  | "upstream_error"
  | "timeout_error"
  | "server_error";

export interface OpenAIErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

export class GatewayError extends Error {
  readonly status: ErrorStatus;
  readonly type: ErrorType | string;
  readonly code: string | null;
  readonly param: string | null;
  /** Extra response headers (e.g. `retry-after`). */
  readonly headers: Record<string, string>;

  constructor(
    status: ErrorStatus,
    message: string,
    opts: { type?: ErrorType | string; code?: string | null; param?: string | null; headers?: Record<string, string> } = {},
  ) {
    super(message);
    this.status = status;
    this.type = opts.type ?? defaultType(status);
    this.code = opts.code ?? null;
    this.param = opts.param ?? null;
    this.headers = opts.headers ?? {};
  }

  toBody(): OpenAIErrorBody {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

function defaultType(status: ErrorStatus): ErrorType {
  switch (status) {
    case 401:
      return "authentication_error";
    case 402:
      return "insufficient_quota";
    case 403:
      return "permission_error";
    case 404:
      return "not_found_error";
    case 429:
      return "rate_limit_error";
    case 502:
    case 503:
      return "upstream_error";
    case 504:
      return "timeout_error";
    case 500:
      return "server_error";
    default:
      return "invalid_request_error";
  }
}

export function errorResponse(err: GatewayError, headers?: Headers): Response {
  const out = headers ?? new Headers();
  out.set("content-type", "application/json");
  for (const [name, value] of Object.entries(err.headers)) out.set(name, headerSafe(value));
  return new Response(JSON.stringify(err.toBody()), { status: err.status, headers: out });
}

export const invalidRequest = (message: string, param: string | null = null, code: string | null = null): GatewayError =>
  new GatewayError(400, message, { param, code });
