// The hot-ledger figure without the gateway in front: each POST makes one `reserve`
// and then one `settle` RPC on ONE SpendLedger Durable Object (the scope in
// env.LEDGER_SCOPE, given a hard budget by the harness through the gateway's admin
// API), the pair a budgeted request costs its key's ledger when its settle is not
// batched with others'. It runs in the gateway's workerd process and binds the
// gateway's SpendLedger namespace (`durableObjectNamespace = (serviceName = "gateway",
// className = "SpendLedger")`), so the pairs land in the very objects the gateway uses.
// Anything but POST answers 200 without touching the ledger (the harness's readiness probe).

/** About the bench request's worst case (32,768 output tokens at $2/MTok): what the gateway reserves. */
const RESERVE_NANOS = 65_600_000;
/** About what the bench request costs once answered. */
const SETTLE_NANOS = 30_000;
const MODEL = "openai/mock-model";
const TTL_MS = 900_000;

let prefix = "";
let sequence = 0;

export default {
  /** @param {Request} request @param {{ SPEND_LEDGER: DurableObjectNamespace, LEDGER_SCOPE: string }} env */
  async fetch(request, env) {
    if (request.method !== "POST") return new Response("ledger driver: POST to reserve and settle once\n");
    await request.body?.cancel();
    // Random values may not be made at startup, only inside a request: the prefix keeps ids unique across restarts.
    if (prefix === "") prefix = crypto.randomUUID();
    const id = `${prefix}-${++sequence}`;
    const scope = env.LEDGER_SCOPE;
    const ledger = env.SPEND_LEDGER.get(env.SPEND_LEDGER.idFromName(scope));
    const reserved = await ledger.reserve(scope, { id, nanos: RESERVE_NANOS, model: MODEL, user: null, ttlMs: TTL_MS });
    // Without a budget the ledger reserves nothing and answers at once: that would not measure a reservation.
    if (reserved.status === null) return new Response(`no budget on ${scope}\n`, { status: 409 });
    if (!reserved.admitted) return new Response(`refused by the budget of ${scope}\n`, { status: 402 });
    const record = {
      id,
      at: Date.now(),
      model: MODEL,
      user: null,
      nanos: SETTLE_NANOS,
      promptTokens: 9,
      completionTokens: 12,
      estimated: false,
      unpriced: false,
    };
    // Each request's record is its own settle batch here, with its own batch id (the gateway's batches carry many).
    const status = await ledger.settle(scope, [record], crypto.randomUUID());
    return Response.json({ id, reservedNanos: status?.reservedNanos ?? null, spentNanos: status?.spentNanos ?? null });
  },
};
