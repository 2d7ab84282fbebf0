/**
 * Bedrock's errors in the gateway's terms. A whole-answer error is JSON
 * `{"message": …}` with the exception's name in `x-amzn-errortype`
 * (`ThrottlingException:http://internal.amazon.com/coral/…`); in a stream it
 * is a frame whose `:exception-type` header names it (`throttlingException`).
 * Either way the name decides the class.
 */
import { readTextUpTo } from "../../streaming/bytes.ts";
import { isObject } from "../json.ts";
import type { UpstreamErrorDetail } from "../types.ts";

interface ExceptionClass {
  /** The HTTP status Bedrock answers this exception with (what an in-stream one stands for). */
  readonly status: number;
  readonly type: string;
  /** The status to classify it by, where Bedrock's own misleads (over HTTP and in a stream alike). */
  readonly classifyAs?: number;
}

/** Bedrock Runtime's exceptions (its API reference, "Errors" of Converse and ConverseStream). */
const EXCEPTIONS: Readonly<Record<string, ExceptionClass>> = {
  ValidationException: { status: 400, type: "invalid_request_error" },
  AccessDeniedException: { status: 403, type: "permission_error" },
  UnrecognizedClientException: { status: 403, type: "authentication_error" },
  InvalidSignatureException: { status: 403, type: "authentication_error" },
  MissingAuthenticationTokenException: { status: 403, type: "authentication_error" },
  ResourceNotFoundException: { status: 404, type: "not_found_error" },
  ModelTimeoutException: { status: 408, type: "timeout_error" },
  ModelErrorException: { status: 424, type: "upstream_error" },
  ModelStreamErrorException: { status: 424, type: "upstream_error" },
  ThrottlingException: { status: 429, type: "rate_limit_error" },
  // A quota of the gateway's AWS account, answered with 400: a rate limit the client can wait out, and another provider does not share.
  ServiceQuotaExceededException: { status: 400, type: "rate_limit_error", classifyAs: 429 },
  // Documented as 429: the model is still being readied, which the AWS SDKs retry.
  ModelNotReadyException: { status: 429, type: "rate_limit_error" },
  InternalServerException: { status: 500, type: "server_error" },
  ServiceUnavailableException: { status: 503, type: "upstream_error" },
};

/**
 * Answers that say the configured target is unusable, not the request: a model
 * id Bedrock does not know or will not serve on demand, a model whose use-case
 * form the account never filled in, or one retired or gone legacy. Another
 * target can still answer, so they fail over (as a 502 from the provider)
 * instead of reaching the client as its own 400 or 404. Matched on AWS's words.
 */
const CONFIGURATION_ERRORS: Readonly<Record<string, RegExp>> = {
  ValidationException: /provided model identifier is invalid|on-demand throughput isn.t supported|doesn.t support on-demand throughput|at 'modelId' failed to satisfy constraint/i,
  ResourceNotFoundException: /use case details have not been submitted|reached the end of its life|marked by provider as Legacy/i,
};
const CONFIGURATION_STATUS = 502;

/** `throttlingException` (stream header) or `ThrottlingException:http://…` (HTTP header) → `ThrottlingException`. */
export function exceptionName(raw: string): string {
  const name = raw.split(":", 1)[0]?.trim() ?? "";
  return name.length > 0 ? name[0]?.toUpperCase() + name.slice(1) : name;
}

function messageOf(payload: unknown): string | null {
  if (!isObject(payload)) return null;
  const message = payload.message ?? payload.Message;
  return typeof message === "string" && message.length > 0 ? message : null;
}

/** The detail of a Bedrock exception; `inStream` adds the status it stands for, so it is classified like one. */
export function exceptionDetail(rawName: string | null, payload: unknown, inStream: boolean): UpstreamErrorDetail {
  const name = rawName === null ? null : exceptionName(rawName);
  const known = name !== null && Object.hasOwn(EXCEPTIONS, name) ? EXCEPTIONS[name] : undefined;
  const given = messageOf(payload);
  const message = given ?? (name !== null ? `Bedrock reported ${name}` : "Bedrock reported an error");
  const detail: { -readonly [K in keyof UpstreamErrorDetail]: UpstreamErrorDetail[K] } = {
    message,
    type: known?.type ?? null,
    code: name,
    param: null,
  };
  const misconfigured = name !== null && given !== null && Object.hasOwn(CONFIGURATION_ERRORS, name) && CONFIGURATION_ERRORS[name]?.test(given) === true;
  if (misconfigured) {
    detail.status = CONFIGURATION_STATUS;
    detail.retryable = true;
    detail.type = "upstream_error";
  } else if (known?.classifyAs !== undefined) detail.status = known.classifyAs;
  else if (inStream) detail.status = known?.status ?? 500;
  return detail;
}

const ERROR_BODY_LIMIT = 8192;

export async function readBedrockError(upstream: Response): Promise<UpstreamErrorDetail> {
  let text = "";
  try {
    if (upstream.body !== null) text = (await readTextUpTo(upstream.body, ERROR_BODY_LIMIT)).text;
  } catch {
    // A body cut short: the status and header must speak.
  }
  let payload: unknown = null;
  try {
    payload = JSON.parse(text);
  } catch {
    payload = text.trim().length > 0 ? { message: text.trim().slice(0, 300) } : null;
  }
  const detail = exceptionDetail(upstream.headers.get("x-amzn-errortype"), payload, false);
  return messageOf(payload) === null && detail.code === null ? { ...detail, message: `HTTP ${upstream.status}` } : detail;
}
