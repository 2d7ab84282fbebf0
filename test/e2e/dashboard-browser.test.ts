/**
 * The dashboard in a real browser (issue 14): Debian's chromium driven by
 * playwright-core against the gateway as `npm start` runs it. Sign in (a wrong
 * token first), see the overview's spend drawn with the total the admin API
 * reports, sign out and be refused. Screenshots go to test-results/screenshots
 * (README's, in docs/screenshots, with UPDATE_SCREENSHOTS=1).
 */
import assert from "node:assert/strict";
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { chromium, type Browser } from "playwright-core";
import { ROOT } from "../../scripts/local-gateway.ts";
import { testGatewayForFile } from "../support/test-gateway.ts";

const CHROMIUM = "/usr/bin/chromium";
/** Each run's screenshots; `UPDATE_SCREENSHOTS=1` writes README's (docs/screenshots, committed) instead. */
const SCREENSHOTS = join(ROOT, process.env.UPDATE_SCREENSHOTS === "1" ? "docs/screenshots" : "test-results/screenshots");
const gateway = testGatewayForFile();

test("sign in, see the spend by model with the right total, find a request and open it, sign out and be refused", { skip: existsSync(CHROMIUM) ? false : `${CHROMIUM} is not installed (apt-get install chromium)` }, async () => {
  const g = gateway();
  // Spend to show: three answers on two models.
  const ids: string[] = [];
  for (const model of ["openai/gpt-4o-mini", "openai/gpt-4o-mini", "openai/gpt-4o"]) {
    const res = await fetch(`${g.url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${g.gatewayKey}`, "content-type": "application/json" },
      body: JSON.stringify({ model, messages: [{ role: "user", content: "Hello, dashboard" }] }),
    });
    assert.equal(res.status, 200);
    ids.push(res.headers.get("x-switchyard-request-id") ?? "");
    await res.text();
  }
  // The records reach D1 through the queue (max_batch_timeout 5 s): wait until analytics has all three.
  const admin = { authorization: `Bearer ${g.adminToken}` };
  let total = 0;
  for (let i = 0; i < 60; i++) {
    const a = (await (await fetch(`${g.url}/admin/analytics?groupBy=model`, { headers: admin })).json()) as { series: Array<{ points: Array<{ requests: number; costUsd: number }> }> };
    const requests = a.series.reduce((n, s) => n + s.points.reduce((m, p) => m + p.requests, 0), 0);
    total = a.series.reduce((n, s) => n + s.points.reduce((m, p) => m + p.costUsd, 0), 0);
    if (requests >= 3) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  assert.ok(total > 0);

  mkdirSync(SCREENSHOTS, { recursive: true });
  let browser: Browser | undefined;
  try {
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ["--no-sandbox"] });
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const blocked: string[] = [];
    page.on("request", (r) => {
      if (!r.url().startsWith(g.url)) blocked.push(r.url());
    });
    await page.goto(`${g.url}/dashboard`);
    await page.fill("#token", "not-the-token");
    await page.click("#sign-in button[type=submit]");
    await page.waitForSelector("#sign-in-error:has-text('not this gateway')");
    await page.fill("#token", g.adminToken);
    const started = Date.now();
    await page.click("#sign-in button[type=submit]");
    await page.waitForSelector("#spend-chart canvas");
    const shownMs = Date.now() - started;
    const shown = Number(await page.getAttribute("#spend-total", "data-total-usd"));
    assert.ok(Math.abs(shown - total) < 1e-9, `the page shows ${shown}, the API ${total}`);
    await page.screenshot({ path: join(SCREENSHOTS, "overview.png"), fullPage: true });
    console.log(`dashboard: overview drawn ${shownMs} ms after sign-in`);
    // The request log: find one of the requests by its id, and open its page.
    await page.click("#nav a[href='/dashboard/requests']");
    await page.waitForSelector("#requests tbody tr");
    const id = ids[2] ?? "";
    await page.fill("#filter-model", "gpt-4o");
    await page.click("#request-filters button[type=submit]");
    await page.waitForSelector(`#requests a[href='/dashboard/requests/${id}']`);
    await page.screenshot({ path: join(SCREENSHOTS, "requests.png"), fullPage: true });
    await page.click(`#requests a[href='/dashboard/requests/${id}']`);
    await page.waitForSelector("#request-id");
    assert.equal(await page.textContent("#request-id"), id);
    assert.match((await page.textContent(".facts")) ?? "", /openai\/gpt-4o/);
    await page.screenshot({ path: join(SCREENSHOTS, "request.png"), fullPage: true });
    // The session is a cookie the page cannot read.
    assert.equal(await page.evaluate(() => document.cookie), "");
    await page.click("#sign-out");
    await page.waitForSelector("#sign-in");
    await page.screenshot({ path: join(SCREENSHOTS, "sign-in.png") });
    const afterSignOut = await page.evaluate(async () => (await fetch("/admin/keys")).status);
    assert.equal(afterSignOut, 401);
    assert.deepEqual(blocked, [], "the dashboard requested nothing from another origin");
  } finally {
    await browser?.close();
  }
});
