/**
 * Metering and budgets through the whole gateway: the cost a client sees, the
 * reservation that keeps a hard budget from being overspent under a burst,
 * refusals, degrades, warnings, partial charges, and the admin API.
 */
import { describe, expect, it } from "vitest";
import { MOCK, admin, gateway, json, uniqueTag, type OpenAIError } from "./helpers.ts";
import { budgetOf, hello, newKey, setBudget, setPrice, settled, usageOf, usd, withLedger, type Usage } from "./ledger-helpers.ts";

const L = withLedger();
const chat = (key: string, body: Record<string, unknown>, headers: Record<string, string> = {}): Promise<Response> =>
  gateway("/v1/chat/completions", json({ messages: hello, ...body }, key, headers), L);

describe("the cost of a request", () => {
  it("is in the body's usage and the x-switchyard-cost-usd header, from the price table", async () => {
    const { key, id } = await newKey();
    const model = uniqueTag("priced");
    await setPrice(model, 1.5, 6);
    const res = await chat(key, { model: `openai/${model}` });
    expect(res.status).toBe(200);
    const { usage } = await res.json<{ usage: Usage }>();
    // prompt × $1.50/MTok + completion × $6/MTok
    const expected = usd((usage.prompt_tokens * 1.5 + usage.completion_tokens * 6) / 1e6);
    expect(usage.cost).toBe(expected);
    expect(Number(res.headers.get("x-switchyard-cost-usd"))).toBe(expected);
    expect(res.headers.get("x-switchyard-cost-estimated")).toBeNull();

    const ledger = await settled(`key:${id}`, 1);
    expect(ledger.data).toEqual([expect.objectContaining({ model: `openai/${model}`, requests: 1, costUsd: expected, estimatedRequests: 0 })]);
  });

  it("is in the final usage chunk of a stream when the client asked for usage, and charged to the ledger", async () => {
    const { key, id } = await newKey();
    const model = uniqueTag("priced");
    await setPrice(model, 2, 8);
    const res = await chat(key, { model: `openai/${model}`, stream: true, stream_options: { include_usage: true } });
    const text = await res.text();
    const usageChunk = text.split("\n\n").find((e) => e.includes('"usage":{'));
    const usage = (JSON.parse(usageChunk!.slice("data: ".length)) as { usage: Usage }).usage;
    const expected = usd((usage.prompt_tokens * 2 + usage.completion_tokens * 8) / 1e6);
    expect(usage.cost).toBe(expected);
    const ledger = await settled(`key:${id}`, 1);
    expect(ledger.data[0]).toMatchObject({ costUsd: expected, estimatedRequests: 0 });
  });

  it("counts a model with no price as unpriced, never free", async () => {
    const { key, id } = await newKey();
    const res = await chat(key, { model: `openai/${uniqueTag("no-price")}` });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-switchyard-cost-usd")).toBeNull();
    expect((await res.json<{ usage: Usage }>()).usage.cost).toBeUndefined();
    const ledger = await settled(`key:${id}`, 1);
    expect(ledger.data[0]).toMatchObject({ requests: 1, unpricedRequests: 1, costUsd: 0 });
  });
});

describe("hard budgets", () => {
  it("admit no more concurrent requests than fit: 200 at once against room for 50", async () => {
    const { key, id } = await newKey();
    const model = uniqueTag("burst");
    await setPrice(model, 10, 100);
    const body = { model: `openai/${model}`, max_tokens: 100, mock: { delayMs: 300 } };
    // Learn the worst case of this exact request from a refusal's message: a budget too small for one.
    await setBudget(`key:${id}`, { limitUsd: 0.000001, period: "day", mode: "hard" });
    const probe = await chat(key, body);
    expect(probe.status).toBe(402);
    const worst = Number(/could cost up to \$([0-9.]+)/.exec((await probe.json<OpenAIError>()).error.message)?.[1]);
    expect(worst).toBeGreaterThan(0.01); // 100 output tokens × $100/MTok, plus the prompt bound

    const limit = usd(worst * 50 + worst / 2);
    expect((await setBudget(`key:${id}`, { limitUsd: limit, period: "day", mode: "hard" })).status).toBe(200);
    const answers = await Promise.all(Array.from({ length: 200 }, () => chat(key, body)));
    const ok = answers.filter((r) => r.status === 200);
    const refused = answers.filter((r) => r.status === 402);
    expect(ok.length + refused.length).toBe(200);
    // Reservations are the worst case and these requests overlap: exactly the 50 that fit.
    expect(ok.length).toBe(50);
    const refusal = await refused[0]!.json<OpenAIError>();
    expect(refusal.error).toMatchObject({ type: "insufficient_quota", code: "budget_exceeded" });
    expect(refused[0]!.headers.get("x-switchyard-budget-scope")).toBe(`key:${id}`);

    const costs = ok.map((r) => Number(r.headers.get("x-switchyard-cost-usd")));
    await Promise.all(answers.map((r) => (r.bodyUsed ? null : r.body?.cancel())));
    const ledger = await settled(`key:${id}`, 50);
    const sum = usd(costs.reduce((a, b) => a + b, 0));
    expect(ledger.totalUsd).toBe(sum); // to the nano-dollar, not just the cent
    const status = await budgetOf(`key:${id}`);
    expect(status.spentUsd).toBe(sum);
    expect(status.spentUsd).toBeLessThanOrEqual(limit);
    expect(status.reservedUsd).toBe(0);
  });

  it("refuses an unpriced model under a hard budget unless the key allows unpriced models", async () => {
    const strict = await newKey();
    await setBudget(`key:${strict.id}`, { limitUsd: 5, period: "month", mode: "hard" });
    const model = `openai/${uniqueTag("unpriced")}`;
    const res = await chat(strict.key, { model });
    expect(res.status).toBe(402);
    const error = (await res.json<OpenAIError>()).error;
    expect(error.code).toBe("model_unpriced");
    expect(error.message).toContain("PUT /admin/prices");

    const lenient = await newKey({ allowUnpriced: true });
    await setBudget(`key:${lenient.id}`, { limitUsd: 5, period: "month", mode: "hard" });
    expect((await chat(lenient.key, { model })).status).toBe(200);
  });

  it("refuses in Anthropic's shape on /v1/messages", async () => {
    const { key, id } = await newKey();
    const model = uniqueTag("claude-priced");
    await setPrice(model, 3, 15);
    await setBudget(`key:${id}`, { limitUsd: 0.0001, period: "day", mode: "hard" });
    const res = await gateway("/v1/messages", json({ model: `openai/${model}`, max_tokens: 1000, messages: hello }, key), L);
    expect(res.status).toBe(402);
    expect(await res.json()).toMatchObject({ type: "error", error: { type: "billing_error" } });
  });

  it("takes a lowered limit on the very next request", async () => {
    const { key, id } = await newKey();
    const model = uniqueTag("lowered");
    await setPrice(model, 1, 1);
    await setBudget(`key:${id}`, { limitUsd: 10, period: "day", mode: "hard" });
    expect((await chat(key, { model: `openai/${model}`, max_tokens: 50 })).status).toBe(200);
    await setBudget(`key:${id}`, { limitUsd: 0.000001, period: "day", mode: "hard" });
    expect((await chat(key, { model: `openai/${model}`, max_tokens: 50 })).status).toBe(402);
  });
});

describe("soft budgets and degrading", () => {
  it("serve a used-up soft budget from the cheaper alias, with a warning header", async () => {
    const { key, id } = await newKey();
    const pricey = uniqueTag("pricey");
    const cheap = uniqueTag("cheap");
    await setPrice(pricey, 50, 200);
    await setPrice(cheap, 0.1, 0.4);
    const alias = uniqueTag("cheap-alias");
    expect((await gateway(`/admin/routes/${alias}`, admin("PUT", { targets: [{ provider: "openai", model: cheap }] }), L)).status).toBe(200);
    await setBudget(`key:${id}`, { limitUsd: 0.000001, period: "day", mode: "soft", degradeTo: alias, alertAtPercent: 50 });
    const res = await chat(key, { model: `openai/${pricey}`, max_tokens: 20 });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-switchyard-model")).toBe(cheap);
    expect(res.headers.get("x-switchyard-degraded")).toContain(`-> ${alias}`);
    expect(res.headers.get("x-switchyard-budget-warning")).toContain(`key:${id}`);
  });

  it("degrade a hard budget's refusal to its cheaper alias when that fits", async () => {
    const { key, id } = await newKey();
    const pricey = uniqueTag("pricey");
    const cheap = uniqueTag("cheap");
    await setPrice(pricey, 100, 400);
    await setPrice(cheap, 0.01, 0.01);
    const alias = uniqueTag("cheap-alias");
    await gateway(`/admin/routes/${alias}`, admin("PUT", { targets: [{ provider: "openai", model: cheap }] }), L);
    await setBudget(`key:${id}`, { limitUsd: 0.01, period: "day", mode: "hard", degradeTo: alias });
    const res = await chat(key, { model: `openai/${pricey}`, max_tokens: 100 });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-switchyard-model")).toBe(cheap);
  });

  it("post one alert per threshold to the budget's webhook, however many requests cross it", async () => {
    const { key, id } = await newKey();
    const model = uniqueTag("alerting");
    await setPrice(model, 1000, 1000);
    const tag = uniqueTag("budget-alert");
    const hook = `${MOCK}/__mock/webhook/${tag}`;
    // Each request costs ~$0.03 (about 30 tokens at $1,000/MTok): the first passes 80 % of $0.02, the second 100 %.
    await setBudget(`key:${id}`, { limitUsd: 0.02, period: "day", mode: "soft", alertAtPercent: 80, alertWebhook: hook });
    for (let i = 0; i < 4; i++) await (await chat(key, { model: `openai/${model}`, max_tokens: 5 })).text();
    await settled(`key:${id}`, 4);
    let alerts: Array<{ body: { threshold: number; scope: string } }> = [];
    for (let i = 0; i < 50 && alerts.length < 2; i++) {
      await new Promise((r) => setTimeout(r, 20));
      alerts = await (await fetch(hook)).json();
    }
    await new Promise((r) => setTimeout(r, 100));
    alerts = await (await fetch(hook)).json();
    expect(alerts.map((a) => a.body.threshold).sort((x, y) => x - y)).toEqual([80, 100]);
    expect(alerts.every((a) => a.body.scope === `key:${id}`)).toBe(true);
  });

  it("refuse with the budget's 402, and hold nothing, when the alias to degrade to has gone since", async () => {
    const { key, id } = await newKey();
    const pricey = uniqueTag("pricey");
    const cheap = uniqueTag("cheap");
    await setPrice(pricey, 100, 400);
    await setPrice(cheap, 0.01, 0.01);
    const alias = uniqueTag("gone-alias");
    await gateway(`/admin/routes/${alias}`, admin("PUT", { targets: [{ provider: "openai", model: cheap }] }), L);
    await setBudget(`key:${id}`, { limitUsd: 10, period: "day", mode: "hard" });
    await setBudget(`user:${id}:u1`, { limitUsd: 0.0000001, period: "day", mode: "hard", degradeTo: alias });
    await gateway(`/admin/routes/${alias}`, admin("DELETE"), L);
    const res = await chat(key, { model: `openai/${pricey}`, max_tokens: 10, user: "u1" });
    expect(res.status).toBe(402);
    expect((await res.json<OpenAIError>()).error.code).toBe("budget_exceeded");
    await new Promise((r) => setTimeout(r, 100));
    expect((await budgetOf(`key:${id}`)).reservedUsd).toBe(0);
  });

  it("refuse a budget whose degradeTo names nothing the gateway can serve", async () => {
    const { id } = await newKey();
    const res = await setBudget(`key:${id}`, { limitUsd: 1, period: "day", degradeTo: "no-such-alias" });
    expect(res.status).toBe(400);
    expect((await res.json<OpenAIError>()).error.param).toBe("degradeTo");
  });
});

describe("per-request cost caps", () => {
  it("refuse a model with no price: it cannot be shown to fit the cap", async () => {
    const { key } = await newKey({ maxCostPerRequestUsd: 1 });
    const res = await chat(key, { model: `openai/${uniqueTag("unpriced")}`, max_tokens: 10 });
    expect(res.status).toBe(402);
    expect((await res.json<OpenAIError>()).error.code).toBe("model_unpriced");
  });

  it("refuse a request whose worst case is above the key's cap, saying what would fit", async () => {
    const { key } = await newKey({ maxCostPerRequestUsd: 0.01 });
    const model = uniqueTag("capped");
    await setPrice(model, 1, 100);
    const res = await chat(key, { model: `openai/${model}`, max_tokens: 1000 }); // 1,000 × $100/MTok = $0.10
    expect(res.status).toBe(402);
    const error = (await res.json<OpenAIError>()).error;
    expect(error.code).toBe("request_cost_limit");
    expect(error.message).toContain("$0.01 per request");
    expect((await chat(key, { model: `openai/${model}`, max_tokens: 50 })).status).toBe(200);
  });

  it("degrade instead when the key names an alias for it", async () => {
    const cheap = uniqueTag("cheap");
    await setPrice(cheap, 0.01, 0.01);
    const alias = uniqueTag("cheap-alias");
    await gateway(`/admin/routes/${alias}`, admin("PUT", { targets: [{ provider: "openai", model: cheap }] }), L);
    const { key } = await newKey({ maxCostPerRequestUsd: 0.01, degradeTo: alias });
    const model = uniqueTag("capped");
    await setPrice(model, 1, 100);
    const res = await chat(key, { model: `openai/${model}`, max_tokens: 1000 });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-switchyard-model")).toBe(cheap);
  });
});

describe("partial charges", () => {
  it("charge what was streamed before a stream broke, marked estimated", async () => {
    const { key, id } = await newKey();
    const model = uniqueTag("cut");
    await setPrice(model, 1, 1000);
    const res = await chat(key, { model: `openai/${model}`, stream: true, mock: { streamEvents: 40, breakAfterEvents: 10 } });
    await res.text();
    const ledger = await settled(`key:${id}`, 1);
    const row = ledger.data[0]!;
    expect(row.estimatedRequests).toBe(1);
    expect(row.completionTokens).toBeGreaterThanOrEqual(9);
    expect(row.completionTokens).toBeLessThan(40);
    expect(row.costUsd).toBeGreaterThan(0);
  });

  it("charge what was streamed when the client disconnects", async () => {
    const { key, id } = await newKey();
    const model = uniqueTag("left");
    await setPrice(model, 1, 1000);
    const res = await chat(key, { model: `openai/${model}`, stream: true, mock: { streamEvents: 200, eventDelayMs: 20 } });
    const reader = res.body!.getReader();
    for (let i = 0; i < 5; i++) await reader.read();
    await reader.cancel();
    const ledger = await settled(`key:${id}`, 1);
    expect(ledger.data[0]).toMatchObject({ requests: 1, estimatedRequests: 1 });
    expect(ledger.data[0]!.completionTokens).toBeGreaterThan(0);
    expect(ledger.data[0]!.completionTokens).toBeLessThan(200);
  });

  it("charge an answer the provider sent but that could not be read (a stalled body), marked estimated", async () => {
    const { key, id } = await newKey();
    const model = uniqueTag("stalled");
    await setPrice(model, 1, 10);
    await setBudget(`key:${id}`, { limitUsd: 1, period: "day", mode: "hard" });
    const res = await chat(key, { model: `openai/${model}`, max_tokens: 100, mock: { stallBody: true } }, {});
    expect(res.status).toBe(504);
    const ledger = await settled(`key:${id}`, 1);
    expect(ledger.data[0]).toMatchObject({ requests: 1, estimatedRequests: 1, completionTokens: 100 });
    expect((await budgetOf(`key:${id}`)).reservedUsd).toBe(0);
  });

  it("release the reservation of a request no provider answered", async () => {
    const { key, id } = await newKey();
    const model = uniqueTag("down");
    await setPrice(model, 1, 1);
    await setBudget(`key:${id}`, { limitUsd: 1, period: "day", mode: "hard" });
    const res = await chat(key, { model: `openai/${model}`, max_tokens: 10, mock: { status: 400 } });
    expect(res.status).toBe(400);
    await new Promise((r) => setTimeout(r, 100));
    expect(await budgetOf(`key:${id}`)).toMatchObject({ spentUsd: 0, reservedUsd: 0 });
  });
});

describe("end users and the usage report", () => {
  it("attribute requests to the x-switchyard-user header or the body's user; a user's own scope only once it has a budget", async () => {
    const { key, id } = await newKey();
    const model = uniqueTag("users");
    await setPrice(model, 1, 1);
    await chat(key, { model: `openai/${model}` }, { "x-switchyard-user": "alice" });
    await chat(key, { model: `openai/${model}`, user: "bob" });
    await chat(key, { model: `openai/${model}`, user: "bob" });
    await settled(`key:${id}`, 3);
    const byUser = await usageOf(`key:${id}`, "user");
    expect(byUser.data.map((r) => [r.user, r.requests]).sort()).toEqual([["alice", 1], ["bob", 2]]);
    // Without a budget an end user has no ledger of its own (a client names any user it likes): its key's ledger counts it.
    expect((await usageOf(`user:${id}:bob`)).data).toEqual([]);

    await setBudget(`user:${id}:bob`, { limitUsd: 1, period: "day", mode: "hard" });
    expect((await chat(key, { model: `openai/${model}`, user: "bob" })).status).toBe(200);
    const bob = await settled(`user:${id}:bob`, 1);
    expect(bob.data[0]).toMatchObject({ model: `openai/${model}`, requests: 1 });
    await setBudget(`user:${id}:bob`, { limitUsd: 0.0000001, period: "day", mode: "hard" });
    expect((await chat(key, { model: `openai/${model}`, user: "bob" })).status).toBe(402);
    expect((await chat(key, { model: `openai/${model}`, user: "carol" })).status).toBe(200);
  });

  it("refuse an over-long end-user id with a 400", async () => {
    const { key } = await newKey();
    const res = await chat(key, { model: "openai/gpt-4o-mini" }, { "x-switchyard-user": "u".repeat(300) });
    expect(res.status).toBe(400);
    expect((await res.json<OpenAIError>()).error.code).toBe("invalid_user");
  });
});

describe("admin budgets", () => {
  it("set, read, list and delete a budget, with its period and reset time", async () => {
    const { id } = await newKey();
    const put = await setBudget(`key:${id}`, { limitUsd: 25, period: "month", mode: "soft", alertAtPercent: 80 });
    expect(put.status).toBe(200);
    const status = await budgetOf(`key:${id}`);
    expect(status).toMatchObject({ limitUsd: 25, period: "month", spentUsd: 0, reservedUsd: 0 });
    expect(status.resetsAt).toMatch(/^\d{4}-\d{2}-01T00:00:00/);
    const listed = await (await gateway("/admin/budgets", admin("GET"), L)).json<{ data: Array<{ scope: string }> }>();
    expect(listed.data.map((b) => b.scope)).toContain(`key:${id}`);
    expect((await gateway(`/admin/budgets/key:${id}`, admin("DELETE"), L)).status).toBe(200);
    expect((await gateway(`/admin/budgets/key:${id}`, admin("GET"), L)).status).toBe(404);
  });

  it("explain a bad scope or body with a 400", async () => {
    const scope = await setBudget("team:x", { limitUsd: 1, period: "day" });
    expect(scope.status).toBe(400);
    expect((await scope.json<OpenAIError>()).error.code).toBe("invalid_scope");
    const body = await setBudget("global", { limitUsd: -1, period: "week" });
    expect(body.status).toBe(400);
    const usage = await gateway("/admin/usage?period=year", admin("GET"), L);
    expect(usage.status).toBe(400);
  });
});
