import { readBytesUpTo, readTextUpTo } from "../streaming/bytes.ts";

/**
 * The most a non-streamed answer may ever be held in memory (an isolate has
 * 128 MB): MAX_ANSWER_BYTES can lower it (src/http/upstream-response.ts
 * boundedAnswer), never raise it. Big enough for a 2,048-input embeddings batch
 * at 3,072 dimensions in base64, the SDKs' default encoding.
 */
export const ANSWER_BODY_LIMIT = 48 * 1024 * 1024;

/**
 * The length of the body as it will be read, when the answer declares it: a
 * compressed answer's `content-length` is that of the compressed bytes, which
 * the runtime inflates (a 50 KB gzip body can hold gigabytes), so it declares
 * nothing about what is read.
 */
export function declaredLength(upstream: Response): number | null {
  const declared = upstream.headers.get("content-length");
  const encoding = upstream.headers.get("content-encoding");
  if (declared === null || (encoding !== null && encoding.trim().toLowerCase() !== "identity")) return null;
  const length = Number(declared);
  return Number.isSafeInteger(length) && length >= 0 ? length : null;
}

/** A non-streamed answer's bytes, refused (thrown) above the limit, whichever adapter reads it. */
export async function readAnswerBytes(upstream: Response): Promise<Uint8Array> {
  const tooLarge = (): Error => new Error(`the answer is larger than the gateway's limit of ${ANSWER_BODY_LIMIT} bytes`);
  if (upstream.body === null) return new Uint8Array(0);
  const declared = declaredLength(upstream);
  if (declared !== null) {
    // A declared length is checked up front, then read natively in one go (cheaper than chunk by chunk).
    if (declared > ANSWER_BODY_LIMIT) throw tooLarge();
    return new Uint8Array(await upstream.arrayBuffer());
  }
  const bytes = await readBytesUpTo(upstream.body, ANSWER_BODY_LIMIT);
  if (bytes === null) throw tooLarge();
  return bytes;
}

const ERROR_BODY_LIMIT = 8192;

/** Reads at most 8 KiB of an error body: enough for any message, bounded for hostile ones. */
export async function readErrorText(upstream: Response): Promise<string> {
  if (upstream.body === null) return "";
  try {
    return (await readTextUpTo(upstream.body, ERROR_BODY_LIMIT)).text;
  } catch {
    return ""; // A body cut short: the status alone must speak.
  }
}
