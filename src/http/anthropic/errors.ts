import { encoder } from "../../streaming/bytes.ts";
import type { GatewayError } from "../errors.ts";
import { headerSafe } from "../header-value.ts";

/**
 * Anthropic's error shape, for clients of /v1/messages: the Anthropic SDK and
 * Claude Code read `error.type` to decide what to do (retry an
 * `overloaded_error` or `rate_limit_error`, report an `invalid_request_error`).
 */
/** The error types Anthropic's SDKs know; anything else from a provider is reported as `api_error`. */
export const ANTHROPIC_ERROR_TYPES: ReadonlySet<string> = new Set([
  "invalid_request_error", "authentication_error", "billing_error", "permission_error", "not_found_error",
  "request_too_large", "rate_limit_error", "api_error", "overloaded_error", "timeout_error",
]);

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
    case 529:
      return "overloaded_error";
    case 504:
      return "timeout_error";
    default:
      return "api_error";
  }
}

/** The error answer of an Anthropic-format endpoint: an overloaded provider is a 529 there, as Anthropic sends it. */
export function anthropicErrorResponse(err: GatewayError, requestId: string | undefined, headers: Headers): Response {
  const status = err.code === "upstream_overloaded" ? 529 : err.status;
  const body: Record<string, unknown> = { type: "error", error: { type: anthropicErrorType(status), message: err.message } };
  if (requestId !== undefined) body.request_id = requestId;
  headers.set("content-type", "application/json");
  for (const [name, value] of Object.entries(err.headers)) headers.set(name, headerSafe(value));
  return new Response(JSON.stringify(body), { status, headers });
}

/** The relay's failure after the commit point, as an Anthropic `error` event. */
export function anthropicSseError(message: string): Uint8Array {
  const data = { type: "error", error: { type: "api_error", message } };
  return encoder.encode(`event: error\ndata: ${JSON.stringify(data)}\n\n`);
}
