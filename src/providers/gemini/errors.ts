/**
 * Google's error shape, `{"error":{"code","message","status","details":[…]}}`,
 * read into the gateway's terms. `status` is a google.rpc code name; `details`
 * may hold an ErrorInfo (`reason`, e.g. API_KEY_INVALID), a BadRequest
 * (`fieldViolations`) and a RetryInfo (`retryDelay`, e.g. "37s").
 */
import { readErrorText } from "../answer-body.ts";
import { openAICompatibleAdapter } from "../openai-compatible/adapter.ts";
import { isObject, type Json } from "../json.ts";
import type { UpstreamErrorDetail } from "../types.ts";

/** google.rpc status → the OpenAI error type clients know. */
const TYPES: Record<string, string> = {
  INVALID_ARGUMENT: "invalid_request_error",
  FAILED_PRECONDITION: "invalid_request_error",
  OUT_OF_RANGE: "invalid_request_error",
  NOT_FOUND: "not_found_error",
  PERMISSION_DENIED: "permission_error",
  UNAUTHENTICATED: "authentication_error",
  RESOURCE_EXHAUSTED: "rate_limit_error",
  DEADLINE_EXCEEDED: "timeout_error",
  INTERNAL: "server_error",
  UNAVAILABLE: "server_error",
};

/** "User location is not supported for the API use.", "… free tier is not available in your country. Please enable billing …". */
const ACCOUNT_BARRED = /location is not supported|not available in your country|billing/i;

/** "models/gemini-x is not found for API version v1beta, or is not supported for generateContent. …" */
const MODEL_NOT_FOUND = /^models\/\S+ is not found/;

const detailsOf = (error: Json, type: string): Json[] =>
  (Array.isArray(error.details) ? error.details : []).filter((d): d is Json => isObject(d) && d["@type"] === `type.googleapis.com/google.rpc.${type}`);

/** One Google error object (the value of `error`) → the gateway's error detail, with its real class where the status misleads. */
export function geminiErrorDetail(error: Json): UpstreamErrorDetail {
  const status = typeof error.status === "string" ? error.status : null;
  const reason = detailsOf(error, "ErrorInfo").map((d) => d.reason).find((r) => typeof r === "string") as string | undefined;
  const violation = detailsOf(error, "BadRequest").flatMap((d) => (Array.isArray(d.fieldViolations) ? d.fieldViolations : []))[0];
  const field = isObject(violation) && typeof violation.field === "string" ? violation.field : null;
  const delay = detailsOf(error, "RetryInfo").map((d) => d.retryDelay).find((r) => typeof r === "string") as string | undefined;
  const seconds = delay === undefined ? undefined : /^(\d+(?:\.\d+)?)s$/.exec(delay)?.[1];
  const message = typeof error.message === "string" && error.message.length > 0 ? error.message : `Gemini reported ${status ?? "an error"}`;
  // Both come as 400 but concern the gateway's own key or account (a bad key; a region or free
  // tier Google does not serve, "enable billing"): another target may well answer. Other
  // FAILED_PRECONDITIONs are the request's (a file still processing): the client's 400.
  const barred = status === "FAILED_PRECONDITION" && ACCOUNT_BARRED.test(message);
  const reclassified = reason === "API_KEY_INVALID" ? 401 : barred ? 403 : undefined;
  // A model Google does not serve is the deployment's configuration, not the request: the next
  // target may serve its own. Still a 404 when it is the last (a client's typo stays the client's).
  const modelMissing = status === "NOT_FOUND" && MODEL_NOT_FOUND.test(message);
  return {
    message,
    type: status === null ? null : (TYPES[status] ?? "upstream_error"),
    code: reason ?? (status === null ? null : status.toLowerCase()),
    param: field,
    ...(reclassified === undefined ? {} : { status: reclassified }),
    ...(modelMissing ? { retryable: true } : {}),
    // retry-after takes whole seconds: a fraction is rounded up.
    ...(seconds === undefined ? {} : { retryAfter: String(Math.ceil(Number(seconds))) }),
  };
}

/** Google sends the error object alone, or (some streaming endpoints) inside a one-element array. */
function errorObject(parsed: unknown): Json | null {
  const outer = Array.isArray(parsed) ? parsed[0] : parsed;
  return isObject(outer) && isObject(outer.error) && (typeof outer.error.status === "string" || typeof outer.error.code === "number") ? outer.error : null;
}

export async function readGeminiError(upstream: Response): Promise<UpstreamErrorDetail> {
  const text = await readErrorText(upstream);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  const error = errorObject(parsed);
  if (error !== null) return geminiErrorDetail(error);
  // Not Google's shape (a proxy's page, a plain-text error): read it the generic way.
  return openAICompatibleAdapter.readError(new Response(text, { status: upstream.status }));
}
