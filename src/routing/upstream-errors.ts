import { GatewayError, type ErrorStatus } from "../http/errors.ts";
import type { UpstreamErrorDetail } from "../providers/types.ts";
import { aboutTheAccount, scrubIdentifiers } from "../providers/error-text.ts";

/** What happened to one attempt, in the terms the retry logic and the client need. */
export type AttemptFailure =
  | { kind: "timeout"; provider: string; afterMs: number }
  | { kind: "network"; provider: string; message: string }
  | {
      kind: "status";
      provider: string;
      status: number;
      detail: UpstreamErrorDetail;
      /** The provider's `retry-after`, passed on to the client as it came. */
      retryAfter: string | null;
      /** The wait it asks for, from `retry-after-ms`, `retry-after` (seconds or a date) or its error body. */
      retryAfterMs?: number | null;
    }
  /** The gateway stopped it: a hedged attempt that lost the race. */
  | { kind: "cancelled"; provider: string }
  | { kind: "body"; provider: string; message: string }
  /** The stream's first event was an error: nothing was sent to the client yet. */
  | { kind: "stream_error"; provider: string; detail: UpstreamErrorDetail };

/**
 * Worth another attempt (on the next target): the provider, not the request,
 * is the problem. That includes 401/402/403, which are about the gateway's own
 * key or balance at that provider, not shared by the next one. Other 4xx (400,
 * 404, 413, 422, …) are about the request: it would fail anywhere, so they
 * return to the client at once. An adapter may overrule the status
 * (`detail.retryable`) where its provider's statuses mislead.
 */
export function isRetryable(failure: AttemptFailure): boolean {
  if (failure.kind !== "status") return true;
  if (failure.detail.retryable !== undefined) return failure.detail.retryable;
  const s = failure.status;
  // 424: the provider's model failed (Bedrock's ModelErrorException), not the request.
  return s === 401 || s === 402 || s === 403 || s === 408 || s === 409 || s === 424 || s === 429 || s >= 500;
}

/** Statuses by which a provider refuses the request itself (it would fail anywhere). */
export const CLIENT_STATUSES: ReadonlySet<number> = new Set([400, 404, 409, 413, 415, 422]);

/**
 * The error the client sees when an attempt (the last one) failed this way.
 * A provider's words reach the client only with identifiers taken out, and not
 * at all when they are about the gateway's own account there (upstream-scrub.ts).
 */
export function failureToError(failure: AttemptFailure): GatewayError {
  const who = `The provider '${failure.provider}'`;
  switch (failure.kind) {
    case "timeout":
      return new GatewayError(504, `${who} did not start answering within ${failure.afterMs} ms.`, {
        code: "upstream_timeout",
      });
    case "network":
      return new GatewayError(502, `${who} could not be reached: ${scrubIdentifiers(failure.message)}`, { code: "upstream_unreachable" });
    case "body":
      return new GatewayError(502, `${who} sent an unusable answer: ${scrubIdentifiers(failure.message)}`, { code: "upstream_bad_response" });
    case "cancelled":
      return new GatewayError(502, `${who} was not waited for.`, { code: "upstream_cancelled" });
    case "stream_error":
      return new GatewayError(502, `${who} started its stream with an error: ${scrubIdentifiers(failure.detail.message)}`, { code: "upstream_error" });
    case "status": {
      const { status, detail } = failure;
      if (aboutTheAccount(status, detail)) {
        // The operator's problem, in the operator's log: the client learns only that this provider cannot serve now.
        console.error(JSON.stringify({ msg: "upstream_account_error", provider: failure.provider, status, type: detail.type, code: detail.code, message: detail.message }));
        return new GatewayError(502, `${who} refused the gateway's credentials or account (HTTP ${status}). The gateway's operator has the details in its log.`, {
          code: "upstream_auth_failed",
        });
      }
      const message = scrubIdentifiers(detail.message);
      if (CLIENT_STATUSES.has(status)) {
        // The provider refused the request itself: pass its words and status through.
        return new GatewayError(status as ErrorStatus, message, {
          type: detail.type ?? "invalid_request_error",
          code: detail.code,
          param: detail.param,
        });
      }
      if (status === 429) {
        return new GatewayError(429, `${who} is rate limiting requests: ${message}`, {
          code: "upstream_rate_limited",
          headers: failure.retryAfter !== null ? { "retry-after": failure.retryAfter } : {},
        });
      }
      // Anthropic's 529: Anthropic-format clients get it back as such (their retry logic keys on it).
      const overloaded = status === 529 || detail.type === "overloaded_error";
      return new GatewayError(502, `${who} returned HTTP ${status}: ${message}`, { code: overloaded ? "upstream_overloaded" : "upstream_error" });
    }
  }
}
