/**
 * A provider's own rate-limit headroom, read from the headers it sends with
 * every answer. OpenAI and most OpenAI-compatible providers send
 * `x-ratelimit-remaining-requests|tokens` with a reset as a duration
 * (`x-ratelimit-reset-requests: 6m0s`, `20ms`, `1.5s`); Anthropic sends
 * `anthropic-ratelimit-requests|tokens-remaining` with an RFC 3339 reset time.
 */

export interface Headroom {
  readonly remainingRequests: number | null;
  readonly remainingTokens: number | null;
  /**
   * When the headroom comes back (epoch ms): if a limit is used up, when every
   * used-up limit has reset (the target is no use before that); otherwise the
   * soonest reset, when the numbers above next change.
   */
  readonly resetAt: number | null;
  /** When the answer carrying these headers arrived (epoch ms). */
  readonly observedAt: number;
}

interface Limit {
  remaining: number | null;
  resetAt: number | null;
}

const DURATION_PART = /(\d+(?:\.\d+)?)(ms|h|m|s)/y;
const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Go-style durations as OpenAI sends them ("1s", "6m0s", "1h2m3.5s", "20ms"); null if malformed. */
export function parseDurationMs(text: string): number | null {
  if (text === "") return null;
  let total = 0;
  DURATION_PART.lastIndex = 0;
  while (DURATION_PART.lastIndex < text.length) {
    const start = DURATION_PART.lastIndex;
    const part = DURATION_PART.exec(text);
    if (part === null || part.index !== start) return null;
    total += Number(part[1]) * (UNIT_MS[part[2] ?? ""] ?? Number.NaN);
  }
  return Number.isFinite(total) ? total : null;
}

/** Bare numbers above these are dates, not durations: 1e9 s is 2001-09-09, 1e12 ms is 2001-09-09 too. */
const EPOCH_SECONDS_FROM = 1e9;
const EPOCH_MS_FROM = 1e12;

/** A bare number: seconds from now, or (some providers send this) an epoch time in seconds or milliseconds. */
function parseNumericReset(seconds: number, at: number): number {
  if (seconds > EPOCH_MS_FROM) return seconds;
  if (seconds > EPOCH_SECONDS_FROM) return seconds * 1000;
  return at + seconds * 1000;
}

/** A reset as a duration, a bare number (see parseNumericReset), or an absolute date (RFC 3339 / HTTP date). */
function parseReset(value: string | undefined, at: number): number | null {
  if (value === undefined) return null;
  const text = value.trim();
  if (/^\d+(?:\.\d+)?$/.test(text)) return parseNumericReset(Number(text), at);
  const duration = parseDurationMs(text);
  if (duration !== null) return at + duration;
  const date = Date.parse(text);
  return Number.isNaN(date) ? null : date;
}

function parseCount(value: string | undefined): number | null {
  if (value === undefined || !/^\s*\d+\s*$/.test(value)) return null;
  return Number(value);
}

function minOf(values: ReadonlyArray<number | null>): number | null {
  const known = values.filter((v): v is number => v !== null);
  return known.length === 0 ? null : Math.min(...known);
}

function combinedReset(limits: readonly Limit[]): number | null {
  const exhausted = limits.filter((l) => l.remaining === 0);
  if (exhausted.length > 0) {
    const resets = exhausted.map((l) => l.resetAt);
    return resets.includes(null) ? null : Math.max(...(resets as number[]));
  }
  return minOf(limits.map((l) => l.resetAt));
}

/**
 * The headroom an answer's headers describe, or null when it sent none of them.
 * Header names may come in any case. `at` is when the answer arrived: durations count from it.
 */
export function parseRateLimitHeaders(headers: Readonly<Record<string, string>>, at: number): Headroom | null {
  const h = new Map<string, string>();
  for (const [name, value] of Object.entries(headers)) h.set(name.toLowerCase(), value);
  const openai = (kind: string): Limit => ({
    remaining: parseCount(h.get(`x-ratelimit-remaining-${kind}`)),
    resetAt: parseReset(h.get(`x-ratelimit-reset-${kind}`), at),
  });
  // Anthropic's `tokens-*` is already the most restrictive of its token limits; the
  // input/output ones stand in only when it is absent.
  const anthropic = (kind: string): Limit => ({
    remaining: parseCount(h.get(`anthropic-ratelimit-${kind}-remaining`)),
    resetAt: parseReset(h.get(`anthropic-ratelimit-${kind}-reset`), at),
  });
  const anthropicTokens = anthropic("tokens");
  const requests = [openai("requests"), anthropic("requests")].filter((l) => l.remaining !== null);
  const tokens = (
    anthropicTokens.remaining !== null ? [openai("tokens"), anthropicTokens] : [openai("tokens"), anthropic("input-tokens"), anthropic("output-tokens")]
  ).filter((l) => l.remaining !== null);
  if (requests.length === 0 && tokens.length === 0) return null;
  return {
    remainingRequests: minOf(requests.map((l) => l.remaining)),
    remainingTokens: minOf(tokens.map((l) => l.remaining)),
    resetAt: combinedReset([...requests, ...tokens]),
    observedAt: at,
  };
}
