/**
 * The dashboard with a month of data (issue 14): 30 days of rollups for 10
 * keys × 10 models and 100,000 request records seeded into the local D1, then
 * the overview (24 h, 7 d, 30 d; stacked by model and by key) and the request
 * log opened in headless Chromium. Reported, not asserted (timings vary by
 * machine): how long the overview's admin API calls take from the first
 * request to the last answer, and when the chart is first drawn after
 * navigation starts. Asserted: the 30-day total is the seeded spend, to the
 * nano-dollar.
 */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { chromium, type Browser } from "playwright-core";
import { applyLocalMigrations, runWrangler, type LocalGateway } from "../../scripts/local-gateway.ts";
import { startTestGateway } from "../support/test-gateway.ts";

const CHROMIUM = "/usr/bin/chromium";
const HOUR_MS = 3_600_000;
const HOURS = 30 * 24;
const KEYS = 10;
const MODELS = 10;
const RECORDS = 100_000;
const USERS_PER_KEY = 10;

/** INSERTs of `rows` through json_each, `perStatement` rows at a time (D1 caps a statement at 100 KB). */
function inserts(table: string, columns: readonly string[], rows: readonly unknown[][], perStatement: number): string {
  const select = columns.map((_, i) => `value ->> ${i}`).join(", ");
  const out: string[] = [];
  for (let i = 0; i < rows.length; i += perStatement) {
    const json = JSON.stringify(rows.slice(i, i + perStatement)).replaceAll("'", "''");
    out.push(`INSERT INTO ${table} (${columns.join(", ")}) SELECT ${select} FROM json_each('${json}');`);
  }
  return out.join("\n");
}

/** The seed's SQL and the spend it holds (nano-dollars), every row within the last 30 days. */
function seed(now: number): { sql: string; costNanos: number } {
  const lastHour = Math.floor(now / HOUR_MS);
  const hourRows: unknown[][] = [];
  const days = new Map<string, number[]>();
  let costNanos = 0;
  for (let h = 0; h < HOURS; h++) {
    const hour = lastHour - h;
    for (let k = 0; k < KEYS; k++) {
      for (let m = 0; m < MODELS; m++) {
        const requests = 1 + ((hour * 7 + k * 3 + m) % 5);
        const cost = requests * (m + 1) * 10_000;
        costNanos += cost;
        hourRows.push([hour, `key_perf${k}`, "openai", `model-${m}`, requests, cost, requests * 100, requests * 20, requests]);
        const day = `${Math.floor(hour / 24)}|${k}|${m}`;
        const sums = days.get(day) ?? [0, 0, 0, 0];
        days.set(day, [(sums[0] ?? 0) + requests, (sums[1] ?? 0) + cost, (sums[2] ?? 0) + requests * 100, (sums[3] ?? 0) + requests * 20]);
      }
    }
  }
  const dayRows = [...days].map(([day, s]) => {
    const [d, k, m] = day.split("|");
    return [Number(d), `key_perf${k}`, "openai", `model-${m}`, s[0], s[1], s[2], s[3], s[0]];
  });
  const userRows: unknown[][] = [];
  const userDays = new Map<string, number[]>();
  for (const [day, s] of days) {
    const [d, k] = day.split("|");
    const u = `${d}|${k}`;
    const sums = userDays.get(u) ?? [0, 0];
    userDays.set(u, [(sums[0] ?? 0) + (s[0] ?? 0), (sums[1] ?? 0) + (s[1] ?? 0)]);
  }
  for (const [u, [requests = 0, cost = 0]] of userDays) {
    const [d, k] = u.split("|");
    // Each key's day split evenly over its users, the remainder on the first: sums stay exact.
    for (let i = 0; i < USERS_PER_KEY; i++) {
      const share = (n: number): number => Math.floor(n / USERS_PER_KEY) + (i === 0 ? n % USERS_PER_KEY : 0);
      userRows.push([Number(d), `key_perf${k}`, `user-${k}-${i}`, share(requests), share(cost)]);
    }
  }
  const records: unknown[][] = [];
  for (let i = 0; i < RECORDS; i++) {
    const time = now - Math.floor((i / RECORDS) * HOURS * HOUR_MS);
    const failed = i % 50 === 0;
    records.push([`req_perf${String(i).padStart(6, "0")}`, time, `key_perf${i % KEYS}`, `user-${i % KEYS}-${i % USERS_PER_KEY}`, "fast", "openai", `model-${i % MODELS}`, failed ? 503 : 200, failed ? "upstream_error" : "completed", 100, 20, 30_000, 120 + (i % 400), 3 + (i % 4)]);
  }
  const lat = "lat_3, ttfb_2";
  const sql = [
    inserts("rollup_hour", ["hour", "key_id", "provider", "model", "requests", "cost_nanos", "prompt_tokens", "completion_tokens", "lat_3"], hourRows, 1_000)
      .replaceAll("(hour, key_id, provider, model, requests, cost_nanos, prompt_tokens, completion_tokens, lat_3)", `(hour, key_id, provider, model, requests, cost_nanos, prompt_tokens, completion_tokens, lat_3, errors, refused, estimated, cached_tokens, reasoning_tokens, ttfb_2)`)
      .replaceAll("value ->> 8 FROM", "value ->> 8, 0, 0, 0, 0, 0, value ->> 8 FROM"),
    inserts("rollup_day", ["day", "key_id", "provider", "model", "requests", "cost_nanos", "prompt_tokens", "completion_tokens", lat.split(", ")[0] as string], dayRows, 1_000)
      .replaceAll("completion_tokens, lat_3)", "completion_tokens, lat_3, errors, refused, estimated, cached_tokens, reasoning_tokens, ttfb_2)")
      .replaceAll("value ->> 8 FROM", "value ->> 8, 0, 0, 0, 0, 0, value ->> 8 FROM"),
    inserts("rollup_day_user", ["day", "key_id", "end_user", "requests", "cost_nanos"], userRows, 1_000)
      .replaceAll("cost_nanos)", "cost_nanos, errors, refused, prompt_tokens, completion_tokens)")
      .replaceAll("value ->> 4 FROM", "value ->> 4, 0, 0, 0, 0 FROM"),
    inserts("requests", ["id", "time", "key_id", "end_user", "requested", "provider", "model", "status", "outcome", "prompt_tokens", "completion_tokens", "cost_nanos", "duration_ms", "lat_bucket"], records, 500)
      .replaceAll("lat_bucket)", "lat_bucket, endpoint, stream, attempts, cost_known, cost_estimated, rolled)")
      .replaceAll("value ->> 13 FROM", "value ->> 13, 'chat', 0, 1, 1, 0, 1 FROM"),
  ].join("\n");
  return { sql, costNanos };
}

let gateway: LocalGateway | undefined;
const state = mkdtempSync(join(tmpdir(), "switchyard-dashboard-perf-"));
after(async () => {
  await gateway?.stop();
  rmSync(state, { recursive: true, force: true });
});

test("the overview with 30 days of rollups (10 keys × 10 models) and 100,000 records: data load and first chart, measured", { skip: existsSync(CHROMIUM) ? false : `${CHROMIUM} is not installed (apt-get install chromium)` }, async () => {
  const now = Date.now();
  const seeded = seed(now);
  const file = join(state, "seed.sql");
  writeFileSync(file, seeded.sql);
  const seeding = Date.now();
  await applyLocalMigrations(state);
  await runWrangler(["d1", "execute", "LOG_DB", "--local", "--yes", "--file", file], state);
  console.log(`dashboard perf: seeded 72,000 hourly and 3,000 daily rollups, 3,000 user-days and ${RECORDS.toLocaleString()} records in ${Date.now() - seeding} ms`);
  gateway = await startTestGateway({}, state);
  const g = gateway;

  let browser: Browser | undefined;
  try {
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ["--no-sandbox"] });
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    // When the chart (or the request table) first appears, by the page's own clock.
    await page.addInitScript(() => {
      new MutationObserver((_m, observer) => {
        if (document.querySelector("#spend-chart canvas, #requests tbody tr") !== null) {
          (window as unknown as { drawnAt: number }).drawnAt = performance.now();
          observer.disconnect();
        }
      }).observe(document, { childList: true, subtree: true });
    });
    await page.goto(`${g.url}/dashboard`);
    await page.fill("#token", g.adminToken);
    await page.click("#sign-in button[type=submit]");
    await page.waitForSelector("#spend-total");

    const rows: string[] = [];
    const measure = async (path: string, ready: string): Promise<{ dataMs: number; drawnMs: number }> => {
      await page.goto(`${g.url}${path}`);
      await page.waitForSelector(ready);
      const m = await page.evaluate(() => {
        const calls = performance.getEntriesByType("resource").filter((e) => new URL(e.name).pathname.startsWith("/admin/")) as PerformanceResourceTiming[];
        const first = Math.min(...calls.map((c) => c.startTime));
        const last = Math.max(...calls.map((c) => c.responseEnd));
        const slowest = [...calls].sort((a, b) => b.duration - a.duration).slice(0, 3).map((c) => `${new URL(c.name).pathname}?${new URL(c.name).searchParams.get("groupBy") ?? ""} ${c.duration.toFixed(0)} ms`);
        return { dataMs: last - first, drawnMs: (window as unknown as { drawnAt: number }).drawnAt, slowest };
      });
      rows.push(`${path.padEnd(44)} data ${m.dataMs.toFixed(0).padStart(5)} ms   first chart/table ${m.drawnMs.toFixed(0).padStart(5)} ms after navigation   (slowest: ${m.slowest.join(", ")})`);
      return m;
    };
    // Twice each: the first visit also warms the isolate's caches (a deployed gateway's are warm).
    for (let round = 0; round < 2; round++) {
      rows.length = 0;
      for (const range of ["24h", "7d", "30d"]) await measure(`/dashboard?range=${range}&groupBy=model`, "#spend-chart canvas");
      await measure("/dashboard?range=30d&groupBy=key", "#spend-chart canvas");
      await measure("/dashboard?range=30d&groupBy=user", "#spend-chart canvas");
      await measure("/dashboard/requests", "#requests tbody tr");
      await measure("/dashboard/requests?key=key_perf3&status=503", "#requests tbody tr");
    }
    console.log(`dashboard perf (second visit of each view):\n${rows.join("\n")}`);
    await page.goto(`${g.url}/dashboard?range=30d&groupBy=model`);
    await page.waitForSelector("#spend-chart canvas");
    const shown = Number(await page.getAttribute("#spend-total", "data-total-usd"));
    // Hand computation of the seed: per hour, key and model, (1 + (7h + 3k + m) mod 5) requests at (m + 1) × 10,000 nanos each; summed above.
    assert.equal(Math.round(shown * 1e9), seeded.costNanos);
  } finally {
    await browser?.close();
  }
});
