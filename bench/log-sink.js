// The request log's queue for the benchmark: workerd delivers each LOG_QUEUE send to this service
// (POST /message, or POST /batch with a `cf-queue-batch-count` header for sendBatch), as a queue
// broker would take it; it counts calls and messages and answers as the broker does.
// GET /stats: what it took. (The consumer's side is measured by test/unit/request-log.test.ts.)
let calls = 0;
let messages = 0;
export default {
  async fetch(request) {
    if (new URL(request.url).pathname === "/stats") return Response.json({ calls, messages });
    calls++;
    messages += Number(request.headers.get("cf-queue-batch-count") ?? 1);
    await request.arrayBuffer();
    return Response.json({ metadata: { metrics: { backlogCount: 0, backlogBytes: 0, oldestMessageTimestamp: 0 } } });
  },
};
