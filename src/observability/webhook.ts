/** A webhook that has not answered by then counts as failed. */
export const WEBHOOK_TIMEOUT_MS = 10_000;

/**
 * POSTs `payload` as JSON to an operator's webhook (budget alerts, cost
 * anomalies). Resolves once it answered 2xx; anything else throws, so the
 * caller decides whether to try again.
 */
export async function postWebhook(url: string, payload: unknown): Promise<void> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(payload),
    signal: AbortSignal.timeout(WEBHOOK_TIMEOUT_MS),
  });
  await res.body?.cancel();
  if (!res.ok) throw new Error(`webhook answered ${res.status}`);
}
