/**
 * The peak heap of the worst bodies the JSON limits accept (README "Security"):
 * measured by scripts/heap-peak.ts under V8 (workerd's engine), and held under
 * half an isolate's 128 MB so that one request cannot starve the others.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { join } from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";
import { ROOT } from "../../scripts/local-gateway.ts";

const exec = promisify(execFile);
const HEAP_BUDGET_MB = 64;

interface Measured {
  readonly bodyBytes: number;
  readonly peakMB: number;
  readonly accepted: boolean;
}

test("the worst 10 MiB bodies the limits accept peak under 64 MB of heap; without the limits one would not", async () => {
  const run = async (extra: Record<string, string>): Promise<Record<string, Measured>> => {
    const { stdout } = await exec(process.execPath, ["--expose-gc", join(ROOT, "scripts/heap-peak.ts")], { cwd: ROOT, env: { ...process.env, ...extra }, maxBuffer: 1 << 20 });
    return (JSON.parse(stdout) as { results: Record<string, Measured> }).results;
  };
  const limited = await run({});
  for (const [shape, m] of Object.entries(limited)) {
    assert.ok(m.accepted, `${shape} is within the limits`);
    assert.ok(m.bodyBytes > 1_000_000, `${shape} is a large body`);
    assert.ok(m.peakMB < HEAP_BUDGET_MB, `${shape} peaked at ${m.peakMB} MB`);
  }
  // The same shapes with the value limit lifted: the measurement sees what the limit prevents.
  const unlimited = await run({ HEAP_MAX_VALUES: "100000000" });
  const shortStrings = unlimited["most short strings"];
  assert.ok(shortStrings !== undefined && shortStrings.peakMB > HEAP_BUDGET_MB, `without MAX_JSON_VALUES short strings peak at ${shortStrings?.peakMB} MB`);
});
