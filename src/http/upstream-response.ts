import type { Executed } from "../routing/execute.ts";
import { GatewayError } from "./errors.ts";

/** The gateway's own response headers for an answered request (DESIGN.md "Contract with clients"). */
export function answerHeaders(executed: Executed, contentType: string): Headers {
  return new Headers({
    "content-type": contentType,
    "x-switchyard-provider": executed.attempt.provider.name,
    "x-switchyard-model": executed.attempt.model,
    "x-switchyard-attempts": String(executed.attempts),
  });
}

/** A 2xx whose body could not be read or understood is the provider's failure: 502. */
export function unreadableAnswer(provider: string, err: unknown): GatewayError {
  const why = err instanceof Error ? err.message : String(err);
  return new GatewayError(502, `The provider '${provider}' sent an answer that could not be read: ${why}`, {
    code: "upstream_bad_response",
  });
}

/** Milliseconds from a var, or the fallback when unset or not a positive number. */
export function millis(value: string | undefined, fallback: number): number {
  const n = Number(value);
  return Number.isFinite(n) && n > 0 ? n : fallback;
}

export const DEFAULT_TTFB_MS = 120_000;
export const DEFAULT_STREAM_IDLE_MS = 60_000;
