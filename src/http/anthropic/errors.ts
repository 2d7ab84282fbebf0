import { encoder } from "../../streaming/bytes.ts";
import type { GatewayError } from "../errors.ts";

/**
 * Anthropic's error shape, for clients of /v1/messages: the Anthropic SDK and
 * Claude Code read `error.type` to decide what to do (retry an
 * `overloaded_error` or `rate_limit_error`, report an `invalid_request_error`).
 */
export function anthropicErrorType(status: number): string {
  switch (status) {
    case 400:
    case 405:
    case 409:
    case 415:
    case 422:
      return "invalid_request_error";
    case 401:
      return "authentication_error";
    case 402:
      return "billing_error";
    case 403:
      return "permission_error";
    case 404:
      return "not_found_error";
    case 413:
      return "request_too_large";
    case 429:
      return "rate_limit_error";
    case 503:
    case 529:
      return "overloaded_error";
    case 504:
      return "timeout_error";
    default:
      return "api_error";
  }
}

export function anthropicErrorBody(err: GatewayError, requestId: string | undefined): string {
  const body: Record<string, unknown> = { type: "error", error: { type: anthropicErrorType(err.status), message: err.message } };
  if (requestId !== undefined) body.request_id = requestId;
  return JSON.stringify(body);
}

/** The relay's failure after the commit point, as an Anthropic `error` event. */
export function anthropicSseError(message: string): Uint8Array {
  const data = { type: "error", error: { type: "api_error", message } };
  return encoder.encode(`event: error\ndata: ${JSON.stringify(data)}\n\n`);
}
