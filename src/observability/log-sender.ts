/**
 * Sends request records to the log queue in batches: the records of the
 * requests an isolate finishes within BATCH_MS go in one `sendBatch`, so a busy
 * isolate makes a queue call every BATCH_MS, not one per request (measured by
 * `npm run bench`'s logging block). As for the ledgers' settles, the request
 * that opens a batch sends it, under its own `waitUntil`, so the call is made
 * in a context that is still alive; later records only join its array.
 */
import type { RequestLogEntry } from "./request-log.ts";

const BATCH_MS = 50;
/** A queue batch holds at most 100 messages and 256 KB. */
const BATCH_MESSAGES = 100;
const BATCH_BYTES = 200_000;

type LogQueue = Queue<RequestLogEntry>;

interface Batch {
  readonly queue: LogQueue;
  readonly messages: Array<MessageSendRequest<RequestLogEntry>>;
  bytes: number;
  sent: boolean;
}

let open: Batch | null = null;

const logFailure = (message: RequestLogEntry, err: unknown): void =>
  console.error(JSON.stringify({ msg: "request_log_send_failed", requestId: message.requestId, error: String(err) }));

async function send(batch: Batch): Promise<void> {
  if (batch.sent) return;
  batch.sent = true;
  if (open === batch) open = null;
  try {
    await batch.queue.sendBatch(batch.messages);
  } catch {
    // One by one, then without bodies: a record the queue refuses with its bodies (too large) must still go.
    for (const { body } of batch.messages) {
      await batch.queue
        .send(body, { contentType: "json" })
        .catch(() => (body.capturedBodies === undefined ? Promise.reject(new Error("refused")) : batch.queue.send({ ...body, capturedBodies: undefined }, { contentType: "json" })))
        .catch((err: unknown) => logFailure(body, err));
    }
  }
}

/**
 * Adds `message` (about `bytes` long once encoded) to the isolate's open batch,
 * opening one (and its timer) if there is none; a full batch goes at once.
 */
export function enqueueRecord(queue: LogQueue, ctx: { waitUntil(promise: Promise<unknown>): void }, message: RequestLogEntry, bytes: number): void {
  const current = open;
  if (current !== null && (current.queue !== queue || current.bytes + bytes > BATCH_BYTES)) ctx.waitUntil(send(current));
  let batch = open;
  if (batch === null) {
    const opened: Batch = { queue, messages: [], bytes: 0, sent: false };
    open = batch = opened;
    ctx.waitUntil(new Promise((resolve) => setTimeout(resolve, BATCH_MS)).then(() => send(opened)));
  }
  batch.messages.push({ body: message, contentType: "json" });
  batch.bytes += bytes;
  if (batch.messages.length >= BATCH_MESSAGES) ctx.waitUntil(send(batch));
}
