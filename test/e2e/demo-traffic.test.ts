/**
 * `npm run demo-traffic` against the gateway as `npm start` runs it: afterwards
 * the request log shows answers, a failover, budget refusals and rate limits.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { join } from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";
import { ROOT } from "../../scripts/local-gateway.ts";
import { testGatewayForFile } from "../support/test-gateway.ts";

const exec = promisify(execFile);
const gateway = testGatewayForFile();

interface Page {
  data: Array<{ status: number; fallbacks: string | null; keyId: string | null }>;
  nextCursor: string | null;
}

test("demo traffic fills the log with answers, failovers, 402s and 429s", async () => {
  const g = gateway();
  const { stdout } = await exec(process.execPath, [join(ROOT, "scripts/demo-traffic.ts"), "--url", g.url, "--admin-token", g.adminToken, "--seconds", "4", "--rps", "12"], { cwd: ROOT });
  assert.match(stdout, /done: /);
  const headers = { authorization: `Bearer ${g.adminToken}` };
  const statuses = new Set<number>();
  let failovers = 0;
  let seen = 0;
  // The queue delivers its batches within max_batch_timeout (5 s): wait for the last of them.
  for (let round = 0; round < 40 && !(statuses.has(402) && statuses.has(429) && failovers > 0 && seen >= 40); round++) {
    await new Promise((r) => setTimeout(r, 500));
    statuses.clear();
    failovers = 0;
    seen = 0;
    let cursor: string | null = null;
    do {
      const page = (await (await fetch(`${g.url}/admin/requests?limit=500${cursor === null ? "" : `&cursor=${cursor}`}`, { headers })).json()) as Page;
      for (const r of page.data) {
        statuses.add(r.status);
        if (r.fallbacks !== null && r.status === 200) failovers++;
        seen++;
      }
      cursor = page.nextCursor;
    } while (cursor !== null);
  }
  assert.ok(statuses.has(200), `statuses: ${[...statuses].join(", ")}`);
  assert.ok(statuses.has(402), `statuses: ${[...statuses].join(", ")}`);
  assert.ok(statuses.has(429), `statuses: ${[...statuses].join(", ")}`);
  assert.ok(failovers > 0, "a failover shows its trail");
});
