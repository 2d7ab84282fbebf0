/**
 * Spend survives a crash: the local runtime (wrangler dev and its workerd) is
 * killed with requests in flight and a budget lease outstanding (issue 16), and
 * started again on the same state. What was settled is still there; the
 * reservations of the requests that died with it expire and are charged at
 * their worst case, flagged as estimated; the lease expires uncharged, and the
 * budget is whole again: nothing held, everything left that was not spent.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import type { LocalGateway } from "../../scripts/local-gateway.ts";
import { startTestGateway } from "../support/test-gateway.ts";

// Longer than a restart takes (wrangler applies the request log's D1 migrations before it starts), so the dead requests expire only after it.
const RESERVATION_TTL_MS = 10_000;
// Leases last 30 s in production; a short one here, so that the test sees it expire.
const LEASE_TTL_MS = 3_000;
const VARS = { RESERVATION_TTL_MS: String(RESERVATION_TTL_MS), LEASE_TTL_MS: String(LEASE_TTL_MS) };
const state = mkdtempSync(join(tmpdir(), "switchyard-crash-"));
let gw: LocalGateway | undefined;

before(async () => {
  gw = await startTestGateway(VARS, state);
});

after(async () => {
  await gw?.stop();
  rmSync(state, { recursive: true, force: true });
});

const call = (g: LocalGateway, path: string, method: string, body?: unknown, token = g.adminToken): Promise<Response> =>
  fetch(`${g.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });

interface BudgetJson {
  limitUsd: number;
  spentUsd: number;
  reservedUsd: number;
  leasedUsd: number;
  remainingUsd: number;
}

const usd = (x: number): number => Math.round(x * 1e9) / 1e9;

async function waitFor<T>(read: () => Promise<T>, done: (value: T) => boolean, withinMs: number): Promise<T> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > deadline) return value;
    await new Promise((r) => setTimeout(r, 200));
  }
}

test("no spend is lost when the runtime is killed, and the dead requests' reservations expire", { timeout: 120_000 }, async () => {
  const first = gw!;
  const model = "crash-test-model";
  assert.equal((await call(first, "/admin/prices", "PUT", { provider: "openai", model, inputPerMTok: 1, outputPerMTok: 100 })).status, 200);
  assert.equal((await call(first, "/admin/budgets/key:dev", "PUT", { limitUsd: 100, period: "day", mode: "hard" })).status, 200);

  const chat = (g: LocalGateway, extra: Record<string, unknown>) =>
    call(g, "/v1/chat/completions", "POST", { model: `openai/${model}`, max_tokens: 300, messages: [{ role: "user", content: "hello" }], ...extra }, g.gatewayKey);

  // Settled before the crash.
  let settledCost = 0;
  for (let i = 0; i < 5; i++) {
    const res = await chat(first, {});
    assert.equal(res.status, 200);
    settledCost += Number(res.headers.get("x-switchyard-cost-usd"));
    await res.text();
  }
  const before = await waitFor(
    async () => (await call(first, "/admin/budgets/key:dev", "GET")).json() as Promise<BudgetJson>,
    (b) => usd(b.spentUsd) === usd(settledCost),
    5_000,
  );
  assert.equal(usd(before.spentUsd), usd(settledCost));

  // Three slow streams in flight. Admitted on the isolate's lease, each is a reservation of its own once
  // the next exchange has announced it (within 40 ms; or reserved on its own, when the lease could not hold it).
  const streams = await Promise.all([0, 1, 2].map(() => chat(first, { stream: true, mock: { streamEvents: 300, eventDelayMs: 50 } })));
  for (const s of streams) {
    assert.equal(s.status, 200);
    await s.body!.getReader().read();
  }
  await new Promise((r) => setTimeout(r, 500)); // a dozen exchange windows
  const inFlight = (await (await call(first, "/admin/budgets/key:dev", "GET")).json()) as BudgetJson;
  assert.ok(inFlight.reservedUsd > 0, "the streams hold reservations");
  assert.ok(inFlight.leasedUsd > 0, "the isolate holds a lease");
  const worstEach = inFlight.reservedUsd / 3;

  await first.kill();
  const second = await startTestGateway(VARS, state);
  gw = second;

  const restarted = (await (await call(second, "/admin/budgets/key:dev", "GET")).json()) as BudgetJson;
  assert.equal(usd(restarted.spentUsd), usd(settledCost), "settled spend survived the crash");

  const expired = await waitFor(
    async () => (await call(second, "/admin/budgets/key:dev", "GET")).json() as Promise<BudgetJson>,
    (b) => b.reservedUsd === 0 && b.leasedUsd === 0,
    RESERVATION_TTL_MS + 15_000,
  );
  assert.equal(expired.reservedUsd, 0, "the dead requests' reservations expired");
  assert.equal(expired.leasedUsd, 0, "the dead isolate's lease expired");
  assert.equal(usd(expired.spentUsd), usd(settledCost + 3 * worstEach), "and were charged at their worst case (the lease was not)");
  assert.equal(usd(expired.remainingUsd), usd(expired.limitUsd - expired.spentUsd), "the budget is whole again: nothing held");

  const usage = (await (await call(second, "/admin/usage?scope=key:dev&period=day&groupBy=model", "GET")).json()) as {
    data: Array<{ model: string; requests: number; estimatedRequests: number }>;
  };
  const row = usage.data.find((r) => r.model === `openai/${model}`);
  assert.deepEqual({ requests: row?.requests, estimated: row?.estimatedRequests }, { requests: 8, estimated: 3 });
});
