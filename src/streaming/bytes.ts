/**
 * Byte-level search helpers for the stream path: they let the gateway find SSE
 * event boundaries and the usage event without decoding every chunk to text.
 * Each search starts with the native `Uint8Array#indexOf` on a rare byte.
 */

const LF = 0x0a;
const CR = 0x0d;

export const encoder = new TextEncoder();
export const decoder = new TextDecoder();

/** Index just past the last complete SSE event (`\n\n` or `\r\n\r\n`), or 0 if none. */
export function endOfLastEvent(bytes: Uint8Array): number {
  let i = bytes.lastIndexOf(LF);
  while (i > 0) {
    const prev = bytes[i - 1];
    if (prev === LF) return i + 1;
    if (prev === CR && i >= 3 && bytes[i - 2] === LF && bytes[i - 3] === CR) return i + 1;
    i = bytes.lastIndexOf(LF, i - 1);
  }
  return 0;
}

/** Index just past the event that contains `from` (its blank line), or `bytes.length`. */
export function endOfEventAt(bytes: Uint8Array, from: number): number {
  let i = bytes.indexOf(LF, from);
  while (i !== -1) {
    const next = bytes[i + 1];
    if (next === LF) return i + 2;
    if (next === CR && bytes[i + 2] === LF) return i + 3;
    i = bytes.indexOf(LF, i + 1);
  }
  return bytes.length;
}

/** Index where the event containing `at` starts (just past the previous blank line), or 0. */
export function startOfEventAt(bytes: Uint8Array, at: number): number {
  let i = at > 0 ? bytes.lastIndexOf(LF, at - 1) : -1;
  while (i > 0) {
    if (bytes[i - 1] === LF) return i + 1;
    if (bytes[i - 1] === CR && i >= 3 && bytes[i - 2] === LF) return i + 1;
    i = bytes.lastIndexOf(LF, i - 1);
  }
  return 0;
}

/** First index of `needle` in `bytes` at or after `from`, or -1. */
export function indexOfBytes(bytes: Uint8Array, needle: Uint8Array, from = 0): number {
  const first = needle[0];
  const last = bytes.length - needle.length;
  let i = bytes.indexOf(first ?? 0, from);
  while (i !== -1 && i <= last) {
    let j = 1;
    while (j < needle.length && bytes[i + j] === needle[j]) j++;
    if (j === needle.length) return i;
    i = bytes.indexOf(first ?? 0, i + 1);
  }
  return -1;
}

export function concatBytes(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.byteLength + b.byteLength);
  out.set(a, 0);
  out.set(b, a.byteLength);
  return out;
}

/**
 * Collects a byte stream, stopping once more than `limit` bytes have arrived:
 * what fits is kept, the rest is cancelled, never buffered. `over` tells
 * whether it stopped early.
 */
async function collectUpTo(stream: ReadableStream<Uint8Array>, limit: number): Promise<{ bytes: Uint8Array; over: boolean }> {
  const reader = stream.getReader();
  const parts: Uint8Array[] = [];
  let size = 0;
  let over = false;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (size + value.byteLength > limit) {
      over = true;
      parts.push(value.subarray(0, limit - size));
      size = limit;
      reader.cancel().catch(() => {});
      break;
    }
    parts.push(value);
    size += value.byteLength;
  }
  if (parts.length === 1 && parts[0] !== undefined) return { bytes: parts[0], over };
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const part of parts) {
    bytes.set(part, offset);
    offset += part.byteLength;
  }
  return { bytes, over };
}

/** A byte stream as UTF-8 text, cut at `limit` bytes (`over` tells whether it was). */
export async function readTextUpTo(stream: ReadableStream<Uint8Array>, limit: number): Promise<{ text: string; over: boolean }> {
  const { bytes, over } = await collectUpTo(stream, limit);
  return { text: new TextDecoder().decode(bytes), over };
}

/** A whole byte stream in one array, or null if it is longer than `limit`. */
export async function readBytesUpTo(stream: ReadableStream<Uint8Array>, limit: number): Promise<Uint8Array | null> {
  const { bytes, over } = await collectUpTo(stream, limit);
  return over ? null : bytes;
}

/** Last index of `needle` in `bytes` that starts before `before`, or -1. */
export function lastIndexOfBytes(bytes: Uint8Array, needle: Uint8Array, before = bytes.length): number {
  const first = needle[0] ?? 0;
  let i = bytes.lastIndexOf(first, Math.min(before, bytes.length - needle.length));
  while (i !== -1) {
    let j = 1;
    while (j < needle.length && bytes[i + j] === needle[j]) j++;
    if (j === needle.length) return i;
    i = i > 0 ? bytes.lastIndexOf(first, i - 1) : -1;
  }
  return -1;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN = 0x7b;
const CLOSE = 0x7d;

/** Index just past the JSON object opening at `start` (its matching `}`, strings skipped), or -1. */
export function endOfJsonObject(bytes: Uint8Array, start: number): number {
  let depth = 0;
  let inString = false;
  for (let i = start; i < bytes.length; i++) {
    const b = bytes[i];
    if (inString) {
      if (b === BACKSLASH) i++;
      else if (b === QUOTE) inString = false;
    } else if (b === QUOTE) inString = true;
    else if (b === OPEN) depth++;
    else if (b === CLOSE && --depth === 0) return i + 1;
  }
  return -1;
}
