import { isObject } from "../json.ts";
import type { UpstreamErrorDetail } from "../types.ts";
import { geminiErrorDetail } from "./errors.ts";
import { readParts } from "./parts.ts";
import { failureWithoutAnswer } from "./usage.ts";

/**
 * The failure a stream's first event (its JSON) reports, while the attempt can
 * still fail over: Google's error object, classified by the HTTP status its
 * `code` stands for (a 429 is a rate limit, with its RetryInfo delay), unless
 * the error is reclassified (a bad key); or a candidate that ended without an
 * answer (MALFORMED_FUNCTION_CALL, …). Null for an ordinary first event.
 */
export function firstEventError(payload: unknown): UpstreamErrorDetail | null {
  if (!isObject(payload)) return null;
  if (isObject(payload.error)) {
    const detail = geminiErrorDetail(payload.error);
    const code = payload.error.code;
    return detail.status === undefined && typeof code === "number" && code >= 400 && code <= 599 ? { ...detail, status: code } : detail;
  }
  const candidates = Array.isArray(payload.candidates) ? payload.candidates.filter(isObject) : [];
  for (const candidate of candidates) {
    const { text, toolCalls } = readParts(candidate.content, { responseId: "", candidate: 0, firstCall: 0 });
    const failure = failureWithoutAnswer(candidate, text.length > 0 || toolCalls.length > 0);
    if (failure !== null) return { message: failure, type: "upstream_error", code: "upstream_bad_response", param: null };
  }
  return null;
}
