/**
 * Request and response bodies kept for a key that asks (`logBodies`), in R2
 * under `yyyy/mm/dd/<request id>.json`, so an operator can see the exact input
 * behind a spike. "all" stores every request's bodies from the isolate once the
 * request is over; "anomalies" sends them along with the record (cut to fit a
 * queue message) and the log's consumer stores those of the requests it flags.
 * A streamed answer is kept as the bytes the client received, up to
 * MAX_RESPONSE_BYTES.
 */
import { decoder, encoder } from "../streaming/bytes.ts";

/** The most of an answer kept (a stream is held as it goes: this bounds the memory a capture takes). */
const MAX_RESPONSE_BYTES = 1024 * 1024;
/** What each body may take of a queue message, in bytes once JSON-escaped (a message holds 128 KB, the record included). */
export const MAX_QUEUED_BODY_BYTES = 48 * 1024;

/** `text` cut until it takes at most `budget` bytes as a JSON string (escapes and multi-byte characters counted). */
function cutToBytes(text: string, budget: number): string {
  let cut = text;
  while (encoder.encode(JSON.stringify(cut)).byteLength > budget) cut = cut.slice(0, Math.floor(cut.length * 0.8));
  return cut;
}

export type LogBodies = "off" | "anomalies" | "all";

/** The bodies of one request as stored (and as GET /admin/requests/:id shows them). */
export interface CapturedBodies {
  readonly request: string;
  readonly response: string | null;
  /** Some of a body was left out (an answer over MAX_RESPONSE_BYTES, or bodies cut to ride in a queue message). */
  readonly truncated: boolean;
}

export class BodyCapture {
  readonly mode: Exclude<LogBodies, "off">;
  readonly #request: string;
  readonly #chunks: Uint8Array[] = [];
  #bytes = 0;
  #truncated = false;

  constructor(mode: Exclude<LogBodies, "off">, requestText: string) {
    this.mode = mode;
    this.#request = requestText;
  }

  /** Part of the answer, as the client gets it. */
  add(chunk: Uint8Array): void {
    if (this.#bytes >= MAX_RESPONSE_BYTES) {
      this.#truncated = true;
      return;
    }
    const room = MAX_RESPONSE_BYTES - this.#bytes;
    const kept = chunk.byteLength <= room ? chunk : chunk.subarray(0, room);
    if (kept !== chunk) this.#truncated = true;
    this.#chunks.push(kept.slice()); // a copy: the runtime may reuse the chunk's buffer
    this.#bytes += kept.byteLength;
  }

  bodies(): CapturedBodies {
    const response = this.#chunks.length === 0 ? null : this.#chunks.map((c) => decoder.decode(c, { stream: true })).join("") + decoder.decode();
    return { request: this.#request, response, truncated: this.#truncated };
  }

  /** The bodies cut to ride in a queue message with their record. */
  queued(): CapturedBodies {
    const all = this.bodies();
    const request = cutToBytes(all.request, MAX_QUEUED_BODY_BYTES);
    const response = all.response === null ? null : cutToBytes(all.response, MAX_QUEUED_BODY_BYTES);
    return { request, response, truncated: all.truncated || request !== all.request || response !== all.response };
  }
}

/** Where a request's bodies are kept: its day (UTC) and id. */
export function bodiesKey(requestId: string, time: number): string {
  const iso = new Date(time).toISOString();
  return `${iso.slice(0, 4)}/${iso.slice(5, 7)}/${iso.slice(8, 10)}/${requestId}.json`;
}

export async function storeBodies(bucket: R2Bucket, key: string, bodies: CapturedBodies): Promise<void> {
  await bucket.put(key, JSON.stringify(bodies), { httpMetadata: { contentType: "application/json" } });
}

export async function readBodies(bucket: R2Bucket, key: string): Promise<CapturedBodies | null> {
  const object = await bucket.get(key);
  return object === null ? null : ((await object.json()) as CapturedBodies);
}
