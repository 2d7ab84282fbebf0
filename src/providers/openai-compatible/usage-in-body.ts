import { decoder, encoder, endOfJsonObject, lastIndexOfBytes } from "../../streaming/bytes.ts";
import type { TranslatedBody, Usage } from "../types.ts";
import { USAGE_KEY, usageValueAt } from "./stream.ts";
import { normaliseOpenAIUsage, withServiceTier } from "./usage.ts";

const WHITESPACE = new Set([0x20, 0x09, 0x0a, 0x0d]);

function edge(bytes: Uint8Array, fromEnd: boolean): number | undefined {
  if (fromEnd) {
    for (let i = bytes.length - 1; i >= 0; i--) if (!WHITESPACE.has(bytes[i] ?? 0)) return bytes[i];
  } else {
    for (const b of bytes) if (!WHITESPACE.has(b)) return b;
  }
  return undefined;
}

type Normalise = (raw: unknown) => Usage | null;

function parseUsage(slice: Uint8Array, normalise: Normalise): Usage | null {
  try {
    return normalise(JSON.parse(decoder.decode(slice)));
  } catch {
    return null;
  }
}

/**
 * Whether, from `from` to the end, the document closes exactly one object and
 * no array (strings skipped): then what ended at `from` sat in the root object,
 * not in a nested one such as a provider's own `{"x_meta":{"usage":{…}}}`.
 */
function closesOnlyTheRoot(bytes: Uint8Array, from: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = from; i < bytes.length; i++) {
    const b = bytes[i];
    if (inString) {
      if (b === 0x5c) i++;
      else if (b === 0x22) inString = false;
    } else if (b === 0x22) inString = true;
    else if (b === 0x7b || b === 0x5b) depth++;
    else if (b === 0x7d || b === 0x5d) {
      depth--;
      if (depth < -1 || (depth === -1 && b === 0x5d)) return false;
    }
  }
  return depth === -1;
}

/**
 * Where the root object's `usage` value is: `start` at its `{`, `end` just past
 * its `}`. Found from the end (OpenAI and compatible providers write it after
 * `choices`/`data`), skipping `usage` objects nested deeper, without parsing
 * the rest of the document. `accept` is called with each candidate; the first
 * it accepts wins.
 */
function findRootUsage(bytes: Uint8Array, accept: (start: number, end: number) => boolean): { start: number; end: number } | null {
  let i = lastIndexOfBytes(bytes, USAGE_KEY);
  while (i !== -1) {
    const start = usageValueAt(bytes, i);
    const end = start === -1 ? -1 : endOfJsonObject(bytes, start);
    if (end !== -1 && closesOnlyTheRoot(bytes, end) && accept(start, end)) return { start, end };
    i = i > 0 ? lastIndexOfBytes(bytes, USAGE_KEY, i - 1) : -1;
  }
  return null;
}

const SERVICE_TIER_KEY = encoder.encode('service_tier"');

/**
 * The root object's `service_tier` string (OpenAI names the tier it served
 * there), found from the end without parsing the document; undefined if none.
 */
export function rootServiceTier(bytes: Uint8Array): string | undefined {
  let i = lastIndexOfBytes(bytes, SERVICE_TIER_KEY);
  while (i !== -1) {
    let j = i + SERVICE_TIER_KEY.length;
    while (WHITESPACE.has(bytes[j] ?? 0)) j++;
    if (bytes[i - 1] === 0x22 && bytes[j] === 0x3a) {
      j++;
      while (WHITESPACE.has(bytes[j] ?? 0)) j++;
      const close = bytes[j] === 0x22 ? bytes.indexOf(0x22, j + 1) : -1;
      // Tier names are short words: a value with an escape or of any length is not one.
      if (close !== -1 && close - j < 32 && !bytes.subarray(j + 1, close).includes(0x5c) && closesOnlyTheRoot(bytes, close + 1)) {
        return decoder.decode(bytes.subarray(j + 1, close));
      }
    }
    i = i > 0 ? lastIndexOfBytes(bytes, SERVICE_TIER_KEY, i - 1) : -1;
  }
  return undefined;
}

/**
 * Reads usage from a non-streamed OpenAI-format answer without parsing all of
 * it: only the root `usage` object is parsed (and, with `serviceTier`, the
 * root `service_tier` string read). The answer passes on as the bytes it
 * arrived as. Anthropic's messages end with their usage too, read with their
 * own normaliser.
 */
export function usageInBody(bytes: Uint8Array, normalise: Normalise = normaliseOpenAIUsage, serviceTier = false): TranslatedBody {
  if (edge(bytes, false) !== 0x7b || edge(bytes, true) !== 0x7d) {
    throw new Error("the provider answered 200 with a body that is not a JSON object");
  }
  let usage: Usage | null = null;
  const usageAt = findRootUsage(bytes, (start, end) => (usage = parseUsage(bytes.subarray(start, end), normalise)) !== null) ?? undefined;
  if (serviceTier) usage = withServiceTier(usage, rootServiceTier(bytes));
  return { body: bytes, usage, usageAt };
}

/**
 * The answer with `"cost": <usd>` set in its root `usage` object, as
 * OpenRouter reports it (a cost the provider already put there is replaced:
 * a key must not appear twice), as the pieces to send one after the other:
 * the bytes before that object and after it are views of the answer, never
 * copied (a non-streamed answer may be tens of MB). Only the usage object is
 * parsed and re-written. An answer without one is its one piece.
 */
export function withCostInBody(answer: TranslatedBody, costUsd: number): Uint8Array[] {
  const bytes = typeof answer.body === "string" ? encoder.encode(answer.body) : answer.body;
  let usage: Record<string, unknown> | null = null;
  const objectAt = (start: number, end: number): boolean => {
    try {
      const parsed: unknown = JSON.parse(decoder.decode(bytes.subarray(start, end)));
      usage = typeof parsed === "object" && parsed !== null && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : null;
    } catch {
      usage = null;
    }
    return usage !== null;
  };
  const known = typeof answer.body === "string" ? undefined : answer.usageAt;
  const span = known !== undefined && objectAt(known.start, known.end) ? known : findRootUsage(bytes, objectAt);
  if (span === null || usage === null) return [bytes];
  const replaced = encoder.encode(JSON.stringify({ ...(usage as Record<string, unknown>), cost: costUsd }));
  return [bytes.subarray(0, span.start), replaced, bytes.subarray(span.end)];
}

/** A response body sent as `pieces` in order: the pieces are enqueued as they are, not joined into one copy. */
export function bodyOfPieces(pieces: readonly Uint8Array[]): Uint8Array | ReadableStream<Uint8Array> {
  if (pieces.length === 1 && pieces[0] !== undefined) return pieces[0];
  return new ReadableStream<Uint8Array>({
    start(controller) {
      for (const piece of pieces) if (piece.byteLength > 0) controller.enqueue(piece);
      controller.close();
    },
  });
}
