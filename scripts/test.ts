/**
 * `npm test`: the unit tests inside workerd (vitest), then the end-to-end tests
 * (node:test: the official openai SDK against `wrangler dev`, the deploy
 * dry-run build, the typecheck). Ends with one line: "N passed, N failed".
 */
import { spawn } from "node:child_process";
import { mkdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "./local-gateway.ts";

const results = join(ROOT, "test-results");
rmSync(results, { recursive: true, force: true });
mkdirSync(results, { recursive: true });

function run(args: string[]): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: "inherit" });
    child.on("exit", (code) => resolve(code ?? 1));
  });
}

interface Counts {
  passed: number;
  failed: number;
  skipped: number;
}

function readCounts(file: string, pick: (raw: Record<string, number>) => Counts): Counts | null {
  try {
    return pick(JSON.parse(readFileSync(file, "utf8")) as Record<string, number>);
  } catch {
    return null;
  }
}

const vitestJson = join(results, "vitest.json");
const unitExit = await run([
  join(ROOT, "node_modules/vitest/vitest.mjs"), "run",
  "--reporter=default", "--reporter=json", `--outputFile.json=${vitestJson}`,
]);
const unit = readCounts(vitestJson, (r) => ({
  passed: r.numPassedTests ?? 0,
  failed: (r.numFailedTests ?? 0) + (r.numFailedTestSuites ?? 0),
  skipped: (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0),
}));

const e2eJson = join(results, "e2e.json");
const e2eExit = await run([
  "--test", "--test-concurrency=1",
  "--test-reporter=spec", "--test-reporter-destination=stdout",
  `--test-reporter=${join(ROOT, "test/support/count-reporter.ts")}`, `--test-reporter-destination=${e2eJson}`,
  "test/e2e/**/*.test.ts",
]);
const e2e = readCounts(e2eJson, (r) => ({ passed: r.passed ?? 0, failed: r.failed ?? 0, skipped: r.skipped ?? 0 }));

// A runner that crashed before reporting counts as one failure, never as a pass.
const passed = (unit?.passed ?? 0) + (e2e?.passed ?? 0);
let failed = (unit?.failed ?? 0) + (e2e?.failed ?? 0);
if (unit === null || (unitExit !== 0 && unit.failed === 0)) failed += 1;
if (e2e === null || (e2eExit !== 0 && e2e.failed === 0)) failed += 1;
const skipped = (unit?.skipped ?? 0) + (e2e?.skipped ?? 0);

console.log(`\nunit (workerd): ${unit?.passed ?? 0} passed, ${unit?.failed ?? "?"} failed; end-to-end: ${e2e?.passed ?? 0} passed, ${e2e?.failed ?? "?"} failed`);
console.log(`${passed} passed, ${failed} failed${skipped > 0 ? `, ${skipped} skipped` : ""}`);
process.exit(failed === 0 ? 0 : 1);
