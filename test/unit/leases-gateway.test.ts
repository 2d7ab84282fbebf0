/**
 * Budget leases through the whole gateway (issue 16): 1,000 concurrent
 * requests on a key whose hard budget fits about 50 of their worst cases.
 * Admitted on the isolate's lease or reserved on their own, they never take
 * the budget past its limit, and the ledger's total is the sum of the costs
 * the answers reported, to the nano-dollar, with nothing left reserved once
 * they have all settled.
 */
import { describe, expect, it } from "vitest";
import { usdToNanos } from "../../src/metering/types.ts";
import { admin, gateway, json, uniqueTag } from "./helpers.ts";
import { budgetOf, newKey, setBudget, setPrice, withLedger } from "./ledger-helpers.ts";

const L = withLedger();

describe("a hard budget under 1,000 concurrent requests", () => {
  it("is never overspent, and its ledger's total is the sum of the answers' costs to the nano-dollar", async () => {
    const { key, id } = await newKey();
    const model = uniqueTag("lease-race");
    await setPrice(model, 1_000, 1_000); // $1,000 per million tokens, in and out
    const body = { model: `openai/${model}`, max_tokens: 5, messages: [{ role: "user", content: "Say one word." }] };
    // The worst case: the body's bytes as input tokens, plus 5 output tokens, at $1,000 per million.
    const worstNanos = (new TextEncoder().encode(JSON.stringify(body)).byteLength + 5) * 1_000_000;
    const limitNanos = 50 * worstNanos;
    expect((await setBudget(`key:${id}`, { limitUsd: limitNanos / 1e9, period: "day", mode: "hard" })).status).toBe(200);

    // Sampled while they run: what the ledger holds committed never passes the limit.
    let running = true;
    let mostCommitted = 0;
    const sampler = (async () => {
      while (running) {
        const b = (await (await gateway(`/admin/budgets/key:${id}`, admin("GET"), L)).json()) as { spentUsd: number; reservedUsd: number; leasedUsd: number };
        mostCommitted = Math.max(mostCommitted, Math.round((b.spentUsd + b.reservedUsd + b.leasedUsd) * 1e9));
        await new Promise((r) => setTimeout(r, 10));
      }
    })();
    const answers = await Promise.all(
      Array.from({ length: 1_000 }, async () => {
        const res = await gateway("/v1/chat/completions", json(body, key), L);
        const cost = res.headers.get("x-switchyard-cost-usd");
        await res.text();
        return { status: res.status, nanos: cost === null ? 0 : usdToNanos(Number(cost)) };
      }),
    );
    running = false;
    await sampler;
    expect(mostCommitted).toBeGreaterThan(0);
    expect(mostCommitted).toBeLessThanOrEqual(limitNanos);
    const served = answers.filter((a) => a.status === 200);
    const refused = answers.filter((a) => a.status === 402);
    expect(served.length + refused.length).toBe(1_000);
    // Each request costs far less than its worst case: more than 50 fit, and the rest are refused.
    expect(served.length).toBeGreaterThanOrEqual(50);
    expect(refused.length).toBeGreaterThan(0);
    const charged = served.reduce((sum, a) => sum + a.nanos, 0);

    // Every settle lands (exchanges and settles go within tens of milliseconds).
    let status = await budgetOf(`key:${id}`);
    for (let i = 0; i < 50 && (status.reservedUsd > 0 || Math.round(status.spentUsd * 1e9) !== charged); i++) {
      await new Promise((r) => setTimeout(r, 100));
      status = await budgetOf(`key:${id}`);
    }
    expect(Math.round(status.spentUsd * 1e9)).toBe(charged);
    expect(Math.round(status.spentUsd * 1e9)).toBeLessThanOrEqual(limitNanos);
    expect(status.reservedUsd).toBe(0);
  });
});
