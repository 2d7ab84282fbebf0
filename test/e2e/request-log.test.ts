/**
 * The request log end to end, as `npm start` runs it: wrangler dev with the
 * log queue, its consumer and local D1 (migrations applied at start). Requests
 * answered and refused show in GET /admin/requests and GET /admin/analytics.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { Validator } from "@seriousme/openapi-schema-validator";
import { testGatewayForFile } from "../support/test-gateway.ts";

const gateway = testGatewayForFile();

interface Page {
  data: Array<{ id: string; status: number; outcome: string; model: string | null; costUsd: number | null }>;
}

test("answered and refused requests reach D1 through the queue and show in /admin/requests and /admin/analytics", async () => {
  const g = gateway();
  const chat = (model: string, key = g.gatewayKey) =>
    fetch(`${g.url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify({ model, messages: [{ role: "user", content: "hi" }] }),
    });
  const answered = await chat("openai/gpt-4o-mini");
  assert.equal(answered.status, 200);
  await answered.text();
  const unknown = await chat("no-such-model");
  assert.equal(unknown.status, 404);
  await unknown.text();
  const ids = [answered.headers.get("x-switchyard-request-id"), unknown.headers.get("x-switchyard-request-id")];

  const admin = { authorization: `Bearer ${g.adminToken}` };
  let page: Page = { data: [] };
  // The queue delivers its batches after max_batch_timeout (5 s) at most.
  for (let i = 0; i < 60 && !ids.every((id) => page.data.some((r) => r.id === id)); i++) {
    await new Promise((r) => setTimeout(r, 250));
    page = (await (await fetch(`${g.url}/admin/requests?limit=50`, { headers: admin })).json()) as Page;
  }
  const mine = ids.map((id) => page.data.find((r) => r.id === id));
  assert.deepEqual(mine.map((r) => [r?.status, r?.outcome]), [[200, "completed"], [404, "refused"]]);
  assert.ok((mine[0]?.costUsd ?? 0) > 0);

  const series = (await (await fetch(`${g.url}/admin/analytics?groupBy=model`, { headers: admin })).json()) as { series: Array<{ group: string; points: Array<{ requests: number }> }> };
  const gpt = series.series.find((s) => s.group === "openai/gpt-4o-mini");
  assert.ok(gpt !== undefined && gpt.points.reduce((n, p) => n + p.requests, 0) >= 1);
});

test("GET /admin/openapi.json validates as OpenAPI 3.1 against the official schema", async () => {
  const g = gateway();
  const res = await fetch(`${g.url}/admin/openapi.json`, { headers: { authorization: `Bearer ${g.adminToken}` } });
  assert.equal(res.status, 200);
  const validator = new Validator();
  const result = await validator.validate((await res.json()) as Parameters<Validator["validate"]>[0]);
  assert.deepEqual(result.errors ?? [], []);
  assert.equal(result.valid, true);
  assert.equal(validator.version, "3.1");
});

test("wrangler dev serves the dashboard from its static assets, with its Content-Security-Policy", async () => {
  const g = gateway();
  const page = await fetch(`${g.url}/dashboard`);
  assert.equal(page.status, 200);
  assert.match(page.headers.get("content-security-policy") ?? "", /script-src 'self'/);
  assert.match(await page.text(), /\/dashboard\/app\.js/);
});
