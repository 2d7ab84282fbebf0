/**
 * AWS event-stream framing (`application/vnd.amazon.eventstream`), decoded
 * incrementally. Each message is:
 *
 *   total length (u32) | headers length (u32) | prelude CRC-32 (u32)
 *   headers: name length (u8), name, value type (u8), value …
 *   payload | message CRC-32 (u32, over everything before it)
 *
 * all big-endian. A checksum that does not match, or a length that cannot be
 * right, is an error: the bytes after it cannot be trusted to be frames, so
 * decoding stops rather than hand on garbage.
 */
import { crc32 } from "./crc32.ts";

export type HeaderValue = boolean | number | bigint | string | Uint8Array | Date;

export interface EventMessage {
  readonly headers: ReadonlyMap<string, HeaderValue>;
  readonly payload: Uint8Array;
}

/** The framing is broken: a checksum mismatch or an impossible length. */
export class EventStreamError extends Error {
  override readonly name = "EventStreamError";
}

const PRELUDE = 12;
const OVERHEAD = PRELUDE + 4;
/** AWS's limits: a message of at most 16 MiB, headers of at most 128 KiB. */
const MAX_MESSAGE = 16 * 1024 * 1024;
const MAX_HEADERS = 128 * 1024;

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

function readHeaders(view: DataView, bytes: Uint8Array, start: number, end: number): Map<string, HeaderValue> {
  const headers = new Map<string, HeaderValue>();
  let i = start;
  const need = (n: number): void => {
    if (i + n > end) throw new EventStreamError("an event-stream header runs past the headers' length");
  };
  while (i < end) {
    need(1);
    const nameLength = view.getUint8(i++);
    need(nameLength + 1);
    const name = utf8.decode(bytes.subarray(i, i + nameLength));
    i += nameLength;
    const type = view.getUint8(i++);
    let value: HeaderValue;
    switch (type) {
      case 0: value = true; break;
      case 1: value = false; break;
      case 2: need(1); value = view.getInt8(i); i += 1; break;
      case 3: need(2); value = view.getInt16(i); i += 2; break;
      case 4: need(4); value = view.getInt32(i); i += 4; break;
      case 5: need(8); value = view.getBigInt64(i); i += 8; break;
      case 6:
      case 7: {
        need(2);
        const length = view.getUint16(i);
        i += 2;
        need(length);
        const raw = bytes.subarray(i, i + length);
        value = type === 6 ? raw.slice() : utf8.decode(raw);
        i += length;
        break;
      }
      case 8: need(8); value = new Date(Number(view.getBigInt64(i))); i += 8; break;
      case 9: {
        need(16);
        const hex = Array.from(bytes.subarray(i, i + 16), (b) => b.toString(16).padStart(2, "0")).join("");
        value = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
        i += 16;
        break;
      }
      default:
        throw new EventStreamError(`unknown event-stream header value type ${type}`);
    }
    headers.set(name, value);
  }
  return headers;
}

/**
 * The length of the whole message starting at `offset`, once its prelude is in
 * and checks out; null while fewer than 12 bytes are there.
 */
export function messageLength(bytes: Uint8Array, offset = 0): number | null {
  if (bytes.byteLength - offset < PRELUDE) return null;
  const view = new DataView(bytes.buffer, bytes.byteOffset + offset, PRELUDE);
  const total = view.getUint32(0);
  const headers = view.getUint32(4);
  if (view.getUint32(8) !== crc32(bytes, offset, offset + 8)) throw new EventStreamError("event-stream prelude checksum mismatch");
  if (total < OVERHEAD || total > MAX_MESSAGE || headers > MAX_HEADERS || headers > total - OVERHEAD) {
    throw new EventStreamError(`impossible event-stream lengths (message ${total}, headers ${headers})`);
  }
  return total;
}

/** Decodes the one whole message at `bytes[offset, offset + length)` (length from `messageLength`). */
export function decodeMessage(bytes: Uint8Array, offset: number, length: number): EventMessage {
  const view = new DataView(bytes.buffer, bytes.byteOffset + offset, length);
  const end = offset + length;
  if (view.getUint32(length - 4) !== crc32(bytes, offset, end - 4)) throw new EventStreamError("event-stream message checksum mismatch");
  const headersEnd = offset + PRELUDE + view.getUint32(4);
  const headers = readHeaders(new DataView(bytes.buffer, bytes.byteOffset), bytes, offset + PRELUDE, headersEnd);
  return { headers, payload: bytes.subarray(headersEnd, end - 4) };
}

/**
 * Incremental decoder: `push` hands each message its bytes complete to
 * `onMessage`, as it is decoded, so a broken frame throws only after the good
 * ones before it in the same chunk were handed on. A message split across
 * chunks is gathered as the chunks themselves and joined once, when its
 * declared length is all there: one copy per message however many chunks it
 * spans, and none for a message inside one chunk.
 */
export class EventStreamDecoder {
  /** The chunks of a message not yet whole (the first one may start mid-chunk: a subarray). */
  private held: Uint8Array[] = [];
  private heldBytes = 0;
  /** The held message's total length, once its prelude is in. */
  private wanted: number | null = null;

  push(chunk: Uint8Array, onMessage: (message: EventMessage) => void): void {
    let bytes = chunk;
    if (this.heldBytes > 0) {
      this.held.push(chunk);
      this.heldBytes += chunk.byteLength;
      if (this.wanted === null && this.heldBytes >= PRELUDE) this.wanted = messageLength(this.join(PRELUDE));
      if (this.wanted === null || this.heldBytes < this.wanted) return;
      bytes = this.join(this.heldBytes);
      this.reset();
    }
    let offset = 0;
    for (;;) {
      const length = messageLength(bytes, offset);
      if (length === null || bytes.byteLength - offset < length) {
        if (offset < bytes.byteLength) {
          this.held = [bytes.subarray(offset)];
          this.heldBytes = bytes.byteLength - offset;
          this.wanted = length;
        }
        return;
      }
      onMessage(decodeMessage(bytes, offset, length));
      offset += length;
    }
  }

  /** The first `length` held bytes in one array. */
  private join(length: number): Uint8Array {
    const first = this.held[0];
    if (first !== undefined && first.byteLength >= length) return first.subarray(0, length);
    const out = new Uint8Array(length);
    let at = 0;
    for (const part of this.held) {
      if (at >= length) break;
      const take = Math.min(part.byteLength, length - at);
      out.set(take === part.byteLength ? part : part.subarray(0, take), at);
      at += take;
    }
    return out;
  }

  reset(): void {
    this.held = [];
    this.heldBytes = 0;
    this.wanted = null;
  }
}
