/**
 * Issue 12, item 3: client-chosen strings cannot grow state without bound. An
 * end user gets a SpendLedger only when an admin gave it a budget; a ledger's
 * usage rows per (model, user) are capped per period and old periods expire;
 * in-isolate maps a library keeps are bounded.
 */
import { env, listDurableObjectIds } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { BoundedMap } from "../../src/config/isolate-cache.ts";
import type { SpendRecord } from "../../src/budgets/ledger-types.ts";
import { DAY_ROWS_KEPT_DAYS, OTHERS, ROWS_PER_PERIOD } from "../../src/budgets/ledger/totals.ts";
import { gateway, json, scriptUpstream, uniqueTag } from "./helpers.ts";
import { hello, newKey, setBudget, withLedger } from "./ledger-helpers.ts";

const L = withLedger();
const ledgers = (): NonNullable<typeof env.SPEND_LEDGER> => {
  if (env.SPEND_LEDGER === undefined) throw new Error("wrangler.toml binds SPEND_LEDGER");
  return env.SPEND_LEDGER;
};

async function ledgerExists(scope: string): Promise<boolean> {
  const id = ledgers().idFromName(scope);
  return (await listDurableObjectIds(ledgers())).some((other) => other.equals(id));
}

const record = (i: number, at: number, user: string, model = "openai/gpt-4o-mini"): SpendRecord => ({
  id: `rec-${i}-${crypto.randomUUID()}`, at, model, user, nanos: 1_000 + i, promptTokens: 1, completionTokens: 1, estimated: false, unpriced: false,
});

describe("an end user has a ledger only when it has a budget", () => {
  it("answered and failed requests for fresh end users create no SpendLedger; a user with a budget is reserved on", async () => {
    const { id, key } = await newKey();
    const fresh = uniqueTag("user");
    const ok = await gateway("/v1/chat/completions", json({ model: "openai/gpt-4o-mini", messages: hello, user: fresh }, key), L);
    expect(ok.status).toBe(200);
    await ok.text();
    const failing = uniqueTag("user-fails");
    await scriptUpstream(failing, { status: 500 });
    const failed = await gateway("/v1/chat/completions", json({ model: "openai/gpt-4o-mini", messages: [{ role: "user", content: failing }], user: failing }, key), L);
    expect(failed.status).toBe(502);
    const unknown = await gateway("/v1/chat/completions", json({ model: "no-such-model", messages: hello, user: uniqueTag("user") }, key), L);
    expect(unknown.status).toBe(404);
    await new Promise((r) => setTimeout(r, 100)); // settles go out after the batch window
    expect(await ledgerExists(`user:${id}:${fresh}`)).toBe(false);
    expect(await ledgerExists(`user:${id}:${failing}`)).toBe(false);
    expect(await ledgerExists(`key:${id}`)).toBe(true);

    const budgeted = uniqueTag("budgeted");
    expect((await setBudget(`user:${id}:${budgeted}`, { limitUsd: 0.000001, period: "day" })).status).toBe(200);
    const refused = await gateway("/v1/chat/completions", json({ model: "openai/gpt-4o-mini", messages: hello, user: budgeted, max_tokens: 1000 }, key), L);
    expect(refused.status).toBe(402);
    // Another user of the same key is still not given a ledger.
    const other = uniqueTag("other");
    const served = await gateway("/v1/chat/completions", json({ model: "openai/gpt-4o-mini", messages: hello, user: other }, key), L);
    expect(served.status).toBe(200);
    await served.text();
    await new Promise((r) => setTimeout(r, 100));
    expect(await ledgerExists(`user:${id}:${other}`)).toBe(false);
  });
});

describe("a ledger's usage rows are bounded", () => {
  it(`past ${ROWS_PER_PERIOD} (model, user) rows a period folds new users into '${OTHERS}', its sums exact`, async () => {
    const scope = `key:${uniqueTag("rows")}`;
    const ledger = ledgers().get(ledgers().idFromName(scope));
    const now = Date.now();
    const users = 2.5 * ROWS_PER_PERIOD;
    for (let batch = 0; batch < users; batch += 250) {
      const records = Array.from({ length: 250 }, (_, i) => record(batch + i, now, `user-${batch + i}`));
      await ledger.settle(scope, records, crypto.randomUUID());
    }
    const byUser = await ledger.usage(scope, { period: "day", groupBy: "user" });
    expect(byUser.rows.length).toBeLessThanOrEqual(ROWS_PER_PERIOD + 1);
    const others = byUser.rows.find((r) => r.key === OTHERS);
    expect(others?.requests).toBe(users - ROWS_PER_PERIOD);
    // Hand computation: the sum of 1,000 + i nanos for i in 0..2,499 = 2,500 × 1,000 + 2,499 × 2,500 / 2.
    const total = byUser.rows.reduce((n, r) => n + r.costNanos, 0);
    expect(total).toBe(2_500 * 1_000 + (2_499 * 2_500) / 2);
    // Many models from made-up names: past twice the cap, model and user both fold.
    const models = Array.from({ length: 250 }, (_, i) => record(i, now, "one-user", `openrouter/m-${i}`));
    await ledger.settle(scope, models, crypto.randomUUID());
    const byModel = await ledger.usage(scope, { period: "day", groupBy: "model" });
    expect(byModel.rows.length).toBeLessThanOrEqual(ROWS_PER_PERIOD + 2);
  });

  it(`day rows older than ${DAY_ROWS_KEPT_DAYS} days go when a new day starts; the total stays`, async () => {
    const scope = `key:${uniqueTag("retention")}`;
    const ledger = ledgers().get(ledgers().idFromName(scope));
    const old = Date.now() - (DAY_ROWS_KEPT_DAYS + 20) * 86_400_000;
    await ledger.settle(scope, [record(1, old, "alice")], crypto.randomUUID());
    expect((await ledger.usage(scope, { period: "day", groupBy: "user", at: old })).rows).toHaveLength(1);
    await ledger.settle(scope, [record(2, Date.now(), "alice")], crypto.randomUUID());
    expect((await ledger.usage(scope, { period: "day", groupBy: "user", at: old })).rows).toHaveLength(0);
    // Hand computation: the two records' nanos, 1,001 + 1,002, stay in the total.
    expect((await ledger.totals(scope)).total.spentNanos).toBe(2_003);
  });
});

describe("maps kept in the isolate are bounded", () => {
  it("BoundedMap (the rate limiter's ephemeral cache) keeps its newest entries", () => {
    const map = new BoundedMap<string, number>(3);
    for (let i = 0; i < 10; i++) map.set(`user-${i}`, i);
    expect([...map.keys()]).toEqual(["user-7", "user-8", "user-9"]);
    expect(map instanceof Map).toBe(true); // @upstash/ratelimit takes an ephemeral cache only if it is a Map
  });
});
