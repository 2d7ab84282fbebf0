import { concatBytes, encoder } from "./bytes.ts";

/** How far the gateway reads into a stream looking for its first event before giving up on finding one. */
const PEEK_LIMIT_BYTES = 64 * 1024;

export interface PeekedStream {
  /** The reader, positioned after `head`. */
  reader: ReadableStreamDefaultReader<Uint8Array>;
  /** Bytes already read: the first event with a `data:` line, and whatever came with it. */
  head: Uint8Array;
  /** The bytes of that first event, or null if the stream ended (or grew past the limit) without one. */
  firstEvent: Uint8Array | null;
  /** The stream has already ended. */
  ended: boolean;
}

/** The first complete SSE event in `text` that carries data and is not preamble (comments, keep-alives). */
function firstDataEvent(text: string, isPreamble: (event: string) => boolean): string | null {
  for (const event of text.split(/\r?\n\r?\n/).slice(0, -1)) {
    if (/^data:/m.test(event) && !isPreamble(event)) return event;
  }
  return null;
}

/**
 * Reads a stream up to its first event that carries data, before anything is
 * sent to the client: an error there is a failed attempt (and the next target
 * can still be tried), not a started stream (DESIGN.md "commit point"). An
 * adapter may name preamble events that commit nothing (Anthropic's
 * `message_start` and `ping`), so an error right after them still fails over.
 */
export async function peekFirstEvent(
  body: ReadableStream<Uint8Array>,
  isPreamble: (event: string) => boolean = () => false,
  findFirst?: (head: Uint8Array) => Uint8Array | null,
): Promise<PeekedStream> {
  const reader = body.getReader();
  if (findFirst !== undefined) return peekFramed(reader, findFirst);
  const utf8 = new TextDecoder();
  let head: Uint8Array = new Uint8Array(0);
  let text = "";
  const bytesOf = (event: string | null): Uint8Array | null => (event === null ? null : encoder.encode(event));
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return { reader, head, firstEvent: bytesOf(firstDataEvent(`${text}\n\n`, isPreamble)), ended: true };
    head = head.byteLength === 0 ? value : concatBytes(head, value);
    text += utf8.decode(value, { stream: true });
    const event = firstDataEvent(text, isPreamble);
    if (event !== null || head.byteLength > PEEK_LIMIT_BYTES) return { reader, head, firstEvent: bytesOf(event), ended: false };
  }
}

/** The same for a stream not framed as SSE: the adapter's `findFirst` says where its first event is. */
async function peekFramed(reader: ReadableStreamDefaultReader<Uint8Array>, findFirst: (head: Uint8Array) => Uint8Array | null): Promise<PeekedStream> {
  let head: Uint8Array = new Uint8Array(0);
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return { reader, head, firstEvent: findFirst(head), ended: true };
    head = head.byteLength === 0 ? value : concatBytes(head, value);
    const event = findFirst(head);
    if (event !== null || head.byteLength > PEEK_LIMIT_BYTES) return { reader, head, firstEvent: event, ended: false };
  }
}
