/**
 * No false 402s (issue 11): a client that sends one request after another (each waits for its answer)
 * fills a hard budget to within one worst case of its limit, and every refusal stands when tried
 * again once every settle has landed. Before the fix, the previous answer's settle was still
 * batched when the next request asked, so its worst case still held part of the budget.
 */
import { describe, expect, it } from "vitest";
import { gateway, json, uniqueTag, type OpenAIError } from "./helpers.ts";
import { budgetOf, newKey, setBudget, setPrice, withLedger } from "./ledger-helpers.ts";

const L = withLedger();

describe("a hard budget filled by sequential requests", () => {
  it("ends within one worst case of its limit, with no refusal that a retry would admit", async () => {
    const { key, id } = await newKey();
    const model = uniqueTag("fill");
    await setPrice(model, 1_000, 1_000);
    const limitUsd = 0.8;
    expect((await setBudget(`key:${id}`, { limitUsd, period: "day", mode: "hard" })).status).toBe(200);
    const body = { model: `openai/${model}`, max_tokens: 5, messages: [{ role: "user", content: "Say one word." }] };
    // Each request costs ~$0.03 (about 30 tokens at $1,000/MTok) and reserves its worst case, ~$0.15 (its bytes + 5 output tokens at $1,000/MTok).
    const worstUsd = (new TextEncoder().encode(JSON.stringify(body)).byteLength + 5) * 0.001;
    let answered = 0;
    let falseRefusals = 0;
    for (let i = 0; i < 200; i++) {
      const res = await gateway("/v1/chat/completions", json(body, key), L);
      if (res.status === 200) {
        await res.text();
        answered++;
        continue;
      }
      expect(res.status).toBe(402);
      expect((await res.json<OpenAIError>()).error.code).toBe("budget_exceeded");
      // Once every settle has landed, the same request must still not fit.
      await new Promise((r) => setTimeout(r, 300));
      const retry = await gateway("/v1/chat/completions", json(body, key), L);
      await retry.text();
      if (retry.status === 200) {
        falseRefusals++;
        answered++;
        continue;
      }
      expect(retry.status).toBe(402);
      break;
    }
    expect(falseRefusals).toBe(0);
    expect(answered).toBeGreaterThan(15);
    const status = await budgetOf(`key:${id}`);
    expect(status.reservedUsd).toBe(0);
    expect(status.spentUsd).toBeLessThanOrEqual(limitUsd);
    expect(limitUsd - status.spentUsd).toBeLessThan(worstUsd);
  });
});
