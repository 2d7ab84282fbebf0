/**
 * The dashboard in a real browser (issue 14): Debian's chromium driven by
 * playwright-core against the gateway as `npm start` runs it, with traffic
 * that has a failover, a cost anomaly and (once the browser sets a budget) a
 * 402. Through the browser: sign in (a wrong token first, then by keyboard),
 * see the spend drawn with the total the admin API reports and the anomaly
 * listed, find the failover by its id in the request log and open its page,
 * set a budget and see it refuse, edit it and see it serve, see the route's
 * health, create a key and call with it, revoke it and see it refused, sign
 * out and be refused. Screenshots of each view go to test-results/screenshots
 * (README's, in docs/screenshots, with UPDATE_SCREENSHOTS=1).
 */
import assert from "node:assert/strict";
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { chromium, type Browser, type Page } from "playwright-core";
import { ROOT } from "../../scripts/local-gateway.ts";
import { testGatewayForFile } from "../support/test-gateway.ts";

const CHROMIUM = "/usr/bin/chromium";
/** Each run's screenshots; `UPDATE_SCREENSHOTS=1` writes README's (docs/screenshots, committed) instead. */
const SCREENSHOTS = join(ROOT, process.env.UPDATE_SCREENSHOTS === "1" ? "docs/screenshots" : "test-results/screenshots");
const gateway = testGatewayForFile();

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

test("every view in a real browser: spend, anomalies, the request log, budgets enforced, route health, keys created and revoked, sign-out", { skip: existsSync(CHROMIUM) ? false : `${CHROMIUM} is not installed (apt-get install chromium)` }, async () => {
  const g = gateway();
  const adminCall = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const res = await fetch(`${g.url}${path}`, { method, headers: { authorization: `Bearer ${g.adminToken}`, "content-type": "application/json" }, body: body === undefined ? undefined : JSON.stringify(body) });
    assert.ok(res.ok, `${method} ${path}: ${res.status} ${await res.clone().text()}`);
    return (await res.json()) as T;
  };
  const chat = async (key: string, model: string, mock?: Record<string, unknown>): Promise<Response> => {
    const res = await fetch(`${g.url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify({ model, max_tokens: 50, messages: [{ role: "user", content: "Hello, dashboard" }], ...(mock !== undefined && { mock }) }),
    });
    await res.arrayBuffer();
    return res;
  };

  // Traffic: a key capped at $1 a request, three answers on two models, a failover, an answer over the cap (an anomaly).
  const app = await adminCall<{ id: string; key: string }>("POST", "/admin/keys", { name: "browser-app", maxCostPerRequestUsd: 1 });
  await adminCall("PUT", "/admin/routes/browser-fallback", { strategy: "fallback", targets: [{ provider: "openai", model: "gpt-4o-mini" }, { provider: "deepseek", model: "deepseek-chat" }] });
  for (const model of ["openai/gpt-4o-mini", "openai/gpt-4o-mini", "openai/gpt-4o"]) assert.equal((await chat(app.key, model)).status, 200);
  const failover = await chat(app.key, "browser-fallback", { status: 503, onlyModel: "gpt-4o-mini" });
  assert.equal(failover.status, 200);
  const failoverId = failover.headers.get("x-switchyard-request-id") ?? "";
  // The provider reports 10 million prompt tokens ($1.50 on gpt-4o-mini), over the key's $1 cap: flagged where it is charged.
  const anomalous = await chat(app.key, "openai/gpt-4o-mini", { usage: { prompt_tokens: 10_000_000, completion_tokens: 5, total_tokens: 10_000_005 } });
  assert.equal(anomalous.status, 200);
  const anomalyId = anomalous.headers.get("x-switchyard-request-id") ?? "";
  // The records reach D1 through the queue (max_batch_timeout 5 s).
  const total = await until("the five records in analytics", async () => {
    const a = await adminCall<{ totals: { requests: number; costUsd: number } }>("GET", "/admin/analytics?groupBy=model");
    return a.totals.requests >= 5 ? a.totals.costUsd : undefined;
  });
  await until("the anomaly", async () => ((await adminCall<{ data: unknown[] }>("GET", "/admin/anomalies")).data.length > 0 ? true : undefined));
  assert.ok(total > 1.5);

  mkdirSync(SCREENSHOTS, { recursive: true });
  const shot = (page: Page, name: string): Promise<Buffer> => page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
  let browser: Browser | undefined;
  try {
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ["--no-sandbox"] });
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const offOrigin: string[] = [];
    const pageErrors: string[] = [];
    page.on("request", (r) => {
      if (!r.url().startsWith(g.url)) offOrigin.push(r.url());
    });
    page.on("pageerror", (err) => pageErrors.push(err.message));
    page.on("dialog", (d) => void d.accept());

    // Sign in: a wrong token is refused; the right one, typed and sent with Enter.
    await page.goto(`${g.url}/dashboard`);
    await page.fill("#token", "not-the-token");
    await page.click("#sign-in button[type=submit]");
    await page.waitForSelector("#sign-in-error:has-text('not this gateway')");
    await shot(page, "sign-in");
    await page.fill("#token", "");
    await page.keyboard.type(g.adminToken);
    const started = Date.now();
    await page.keyboard.press("Enter");

    // Overview: the chart drawn, the total the API reports, the anomaly listed with a link to its request.
    await page.waitForSelector("#spend-chart canvas");
    console.log(`dashboard: overview drawn ${Date.now() - started} ms after sign-in`);
    const shown = Number(await page.getAttribute("#spend-total", "data-total-usd"));
    assert.ok(Math.abs(shown - total) < 1e-9, `the page shows ${shown}, the API ${total}`);
    await page.waitForSelector(`#anomalies a[href='/dashboard/requests/${anomalyId}']`);
    assert.match((await page.textContent("#anomalies")) ?? "", /over the key's per-request cap/);
    assert.match((await page.textContent("#top-keys")) ?? "", /browser-app/);
    await shot(page, "overview");
    // Stacked by key over 7 days: the address keeps the choice, the chart is drawn again.
    await page.selectOption("#group-by", "key");
    await page.waitForURL(/groupBy=key/);
    await page.click("button[data-range='7d']");
    await page.waitForURL(/range=7d/);
    await page.waitForSelector(`#spend-chart .u-legend >> text=${app.id}`);
    assert.equal(Number(await page.getAttribute("#spend-total", "data-total-usd")).toFixed(9), total.toFixed(9));
    // Stacked by end user: counted by UTC day (said so), the figures still those of the range.
    await page.selectOption("#group-by", "user");
    await page.waitForSelector("text=End users are counted by whole UTC days");
    assert.equal(Number(await page.getAttribute("#spend-total", "data-total-usd")).toFixed(9), total.toFixed(9));
    // A custom range typed in the viewer's zone: the last two hours hold all the traffic.
    const local = (ms: number): string => new Date(ms - new Date(ms).getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
    await page.selectOption("#group-by", "model");
    await page.waitForURL(/groupBy=model/);
    await page.fill("#range-from", local(Date.now() - 2 * 3_600_000));
    await page.fill("#range-to", local(Date.now() + 3_600_000));
    await page.click("#custom-range button[type=submit]");
    await page.waitForURL(/range=custom/);
    await page.waitForSelector("#traffic-chart canvas");
    assert.equal(Number(await page.getAttribute("#spend-total", "data-total-usd")).toFixed(9), total.toFixed(9));

    // The request log: the failover found by its id through the filters, and its page with the trail.
    await page.click("#nav a[href='/dashboard/requests']");
    await page.waitForSelector("#requests tbody tr");
    await page.fill("#filter-model", "browser-fallback");
    await page.click("#request-filters button[type=submit]");
    await page.waitForSelector(`#requests a[href='/dashboard/requests/${failoverId}']`);
    await shot(page, "requests");
    await page.click(`#requests a[href='/dashboard/requests/${failoverId}']`);
    await page.waitForSelector("#request-id");
    assert.equal(await page.textContent("#request-id"), failoverId);
    const facts = (await page.textContent(".facts")) ?? "";
    assert.match(facts, /deepseek\/deepseek-chat/);
    assert.match((await page.textContent("#trail")) ?? "", /openai\/gpt-4o-mini: 503/, "the fallback trail names the target that failed");
    await shot(page, "request");
    // A request id from a response header opens its page directly.
    await page.click("#nav a[href='/dashboard/requests']");
    await page.fill("#find-id", anomalyId);
    await page.press("#find-id", "Enter");
    await page.waitForSelector(`#request-id:text('${anomalyId}')`);
    assert.match((await page.textContent(".facts")) ?? "", /over the key's per-request cap/);
    assert.match((await page.textContent("#cost-parts")) ?? "", /Input/);

    // Budgets: a hard budget on the key too small for any request refuses it (402); raised, it serves.
    await page.click("#nav a[href='/dashboard/budgets']");
    await page.waitForSelector("#new-budget");
    await page.click("#new-budget summary");
    await page.fill("#new-budget [name=scope]", `key:${app.id}`);
    await page.fill("#new-budget [name=limitUsd]", "0.000001");
    await page.selectOption("#new-budget [name=period]", "day");
    await page.click("#new-budget button[type=submit]");
    const card = `article.budget[data-scope='key:${app.id}']`;
    await page.waitForSelector(card);
    const refused = await chat(app.key, "openai/gpt-4o-mini");
    assert.equal(refused.status, 402);
    await page.click(`${card} button:text('Edit')`);
    await page.fill(`${card} [name=limitUsd]`, "100");
    await page.click(`${card} button[type=submit]`);
    await page.waitForSelector(`${card} .spend:has-text('of $100.00')`);
    assert.equal((await chat(app.key, "openai/gpt-4o-mini")).status, 200);
    await shot(page, "budgets");

    // Routes & health: the alias with its targets; the target that failed shows its failure.
    await page.click("#nav a[href='/dashboard/routes']");
    const failedRow = "section[data-alias='browser-fallback'] tr[data-target='openai/gpt-4o-mini']";
    await page.waitForSelector(failedRow);
    assert.match((await page.textContent(failedRow)) ?? "", /503/);
    await shot(page, "routes");

    // Keys: create one, call with its secret (shown once), revoke it, and see it refused.
    await page.click("#nav a[href='/dashboard/keys']");
    await page.waitForSelector("#create-key");
    await page.click("#create-key summary");
    await page.fill("#create-key [name=name]", "made-in-browser");
    await page.fill("#create-key [name=models]", "openai/*");
    await page.click("#create-key button[type=submit]");
    await page.waitForSelector("#new-key-secret");
    const secret = await page.inputValue("#new-key-secret");
    assert.match(secret, /^sk-/);
    await shot(page, "keys");
    assert.equal((await chat(secret, "openai/gpt-4o-mini")).status, 200);
    assert.equal((await chat(secret, "deepseek/deepseek-chat")).status, 403, "the allow-list typed in the form binds");
    const made = page.locator("article.key", { hasText: "made-in-browser" });
    // Its allow-list edited: DeepSeek too.
    await made.locator("button:text('Edit')").click();
    await made.locator("[name=models]").fill("openai/*, deepseek/*");
    await made.locator("button[type=submit]").click();
    await page.waitForSelector("article.key:has-text('models: openai/*, deepseek/*')");
    assert.equal((await chat(secret, "deepseek/deepseek-chat")).status, 200, "the edited allow-list binds");
    await made.locator("button:text('Revoke')").click();
    await page.waitForSelector("article.key:has-text('made-in-browser')", { state: "detached" });
    assert.equal((await chat(secret, "openai/gpt-4o-mini")).status, 401);

    // The 402 reached the log: the request log filtered by status shows it.
    await until("the 402 in the request log", async () => {
      await page.goto(`${g.url}/dashboard/requests?status=402`);
      await page.waitForSelector("#requests tbody tr");
      return (await page.$$("#requests tbody tr.failed")).length > 0 ? true : undefined;
    });

    // A phone's width and a dark screen.
    await page.setViewportSize({ width: 390, height: 844 });
    await page.emulateMedia({ colorScheme: "dark" });
    await page.goto(`${g.url}/dashboard`);
    await page.waitForSelector("#spend-chart canvas");
    assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth + 1), "nothing wider than a phone");
    await shot(page, "overview-phone-dark");

    // The session is a cookie the page cannot read; signed out, the admin API refuses the page.
    assert.equal(await page.evaluate(() => document.cookie), "");
    await page.click("#sign-out");
    await page.waitForSelector("#sign-in");
    assert.equal(await page.evaluate(async () => (await fetch("/admin/keys")).status), 401);
    assert.deepEqual(offOrigin, [], "the dashboard requested nothing from another origin");
    assert.deepEqual(pageErrors, [], "no script errors");
  } finally {
    await browser?.close();
  }
});
