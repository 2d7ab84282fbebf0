/**
 * `npm run deploy` (scripts/deploy.ts) without a Cloudflare account (issue 17):
 * the script runs for real against a fake `wrangler` first on PATH, which
 * keeps an account's state in a file (queues, D1 databases and their applied
 * migrations, the Worker, its secrets) and records every call. The fake
 * behaves as wrangler 4.156 does where the script depends on it (read from its
 * bundled source): "does not exist" from `queues info`, JSON on stdout with
 * warnings on stderr, no migrating a database that does not exist, no creating
 * what exists; and it refuses any command the script has no business running.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { ROOT } from "../../scripts/local-gateway.ts";

const dir = mkdtempSync(join(tmpdir(), "switchyard-deploy-"));
after(() => rmSync(dir, { recursive: true, force: true }));

interface Account {
  queues: string[];
  databases: string[];
  applied: Record<string, string[]>;
  deployed: number;
  secrets: string[];
}

const stateFile = join(dir, "account.json");
const callsFile = join(dir, "calls.log");

/** The fake: CommonJS, no extension, run by whatever `node` is on PATH. */
const FAKE_WRANGLER = String.raw`#!/usr/bin/env node
const fs = require("node:fs");
const path = require("node:path");
const args = process.argv.slice(2);
fs.appendFileSync(process.env.FAKE_WRANGLER_CALLS, JSON.stringify(args) + "\n");
const state = JSON.parse(fs.readFileSync(process.env.FAKE_WRANGLER_STATE, "utf8"));
const save = () => fs.writeFileSync(process.env.FAKE_WRANGLER_STATE, JSON.stringify(state));
const fail = (message) => { console.error("✘ [ERROR] " + message); process.exit(1); };
const cmd = args.slice(0, 2).join(" ");
// FAKE_WRANGLER_FAIL: comma-separated command prefixes ("d1 migrations", "secret") that fail as an unauthorised token does.
const failing = (process.env.FAKE_WRANGLER_FAIL ?? "").split(",").filter((p) => p !== "");
if (failing.some((p) => (args.join(" ") + " ").startsWith(p + " "))) fail("Authentication error [code: 10000]");
// Real wrangler warns on stderr beside its JSON answers (an outdated version, say): the JSON is read from stdout.
const warn = () => console.error("▲ [WARNING] The version of Wrangler you are using is now out-of-date [x]");
if (cmd === "queues info") {
  if (!state.queues.includes(args[2])) fail('Queue "' + args[2] + '" does not exist. To create it, run: wrangler queues create ' + args[2]);
  console.log("Queue Name: " + args[2]);
} else if (cmd === "queues create") {
  if (state.queues.includes(args[2])) fail("A queue with this name already exists");
  state.queues.push(args[2]); save(); console.log("Created queue " + args[2]);
} else if (cmd === "d1 list" && args[2] === "--json") {
  warn();
  console.log(JSON.stringify(state.databases.map((name, i) => ({ uuid: "db-" + i, name }))));
} else if (cmd === "d1 create") {
  if (state.databases.includes(args[2])) fail("A database with that name already exists");
  state.databases.push(args[2]); save(); console.log("Created your new D1 database.");
} else if (cmd === "d1 migrations" && args[2] === "apply" && args[4] === "--remote") {
  if (!state.databases.includes(args[3])) fail("Couldn't find DB with name '" + args[3] + "'");
  const files = fs.readdirSync(path.join(process.cwd(), "migrations")).filter((f) => f.endsWith(".sql")).sort();
  const applied = (state.applied[args[3]] ??= []);
  const fresh = files.filter((f) => !applied.includes(f));
  if (fresh.length === 0) console.log("No migrations to apply!");
  for (const f of fresh) { applied.push(f); console.log("applied " + f); }
  save();
} else if (args.length === 1 && args[0] === "deploy") {
  // As wrangler 4.156 does: provisions the producer's queue when missing (older 4.x fail here instead).
  for (const q of ["switchyard-request-log"]) if (!state.queues.includes(q)) state.queues.push(q);
  state.deployed++; save();
  console.log("Deployed switchyard triggers\n  https://switchyard.example.workers.dev");
} else if (cmd === "secret list" && args[2] === "--format" && args[3] === "json") {
  warn();
  console.log(JSON.stringify(state.secrets.map((name) => ({ name, type: "secret_text" }))));
} else {
  console.error("fake wrangler: unexpected call: " + args.join(" "));
  process.exit(2);
}
`;

const fakeBin = join(dir, "bin");
mkdirSync(fakeBin);
writeFileSync(join(fakeBin, "wrangler"), FAKE_WRANGLER);
chmodSync(join(fakeBin, "wrangler"), 0o755);

function setUp(account: Account): void {
  writeFileSync(stateFile, JSON.stringify(account));
  writeFileSync(callsFile, "");
}

function account(): Account {
  return JSON.parse(readFileSync(stateFile, "utf8")) as Account;
}

function calls(): string[] {
  return readFileSync(callsFile, "utf8")
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => (JSON.parse(l) as string[]).join(" "));
}

function runDeploy(extraEnv: Record<string, string> = {}): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [join(ROOT, "scripts/deploy.ts")],
      {
        cwd: ROOT,
        // The fake first: under `npm test` PATH starts with node_modules/.bin, where the real wrangler is.
        env: { ...process.env, PATH: `${fakeBin}:${process.env.PATH ?? ""}`, FAKE_WRANGLER_STATE: stateFile, FAKE_WRANGLER_CALLS: callsFile, ...extraEnv },
      },
      (err, stdout, stderr) => resolve({ code: err === null ? 0 : typeof err.code === "number" ? err.code : 1, output: stdout + stderr }),
    );
  });
}

/** The request log's migrations (wrangler.toml's migrations_dir), in the order D1 applies them. */
const migrations = (): string[] => readdirSync(join(ROOT, "migrations")).filter((f) => f.endsWith(".sql")).sort();

test("package.json's deploy script is this script, and wrangler.toml commits no account-specific id", () => {
  const scripts = (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> }).scripts;
  assert.equal(scripts.deploy, "node scripts/deploy.ts");
  const toml = readFileSync(join(ROOT, "wrangler.toml"), "utf8");
  assert.doesNotMatch(toml, /^\s*(id|preview_id|database_id|account_id)\s*=/m);
});

test("the Deploy to Cloudflare button: its documented URL for this repository, and it asks for ADMIN_TOKEN with a description and no preset value", () => {
  const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as {
    repository: { url: string };
    cloudflare: { bindings: Record<string, { description: string }> };
  };
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  assert.ok(
    readme.includes(`[![Deploy to Cloudflare](https://deploy.workers.cloudflare.com/button)](https://deploy.workers.cloudflare.com/?url=${pkg.repository.url})`),
    "README's button points at package.json's repository",
  );
  // The button asks for every line of .dev.vars.example that is not commented out, pre-filled with its value.
  const asked = readFileSync(join(ROOT, ".dev.vars.example"), "utf8")
    .split("\n")
    .filter((l) => /^[A-Z_][A-Z0-9_]*=/.test(l));
  assert.deepEqual(asked, ["ADMIN_TOKEN="], "only ADMIN_TOKEN, with no value a deployer could accept as is");
  assert.match(pkg.cloudflare.bindings.ADMIN_TOKEN?.description ?? "", /openssl rand -hex 32/);
});

/** The calls on an account that has nothing yet, in order. */
const FRESH_ACCOUNT = [
  "queues info switchyard-request-log",
  "queues create switchyard-request-log",
  "d1 list --json",
  "d1 create switchyard-request-log",
  "d1 migrations apply switchyard-request-log --remote",
  "deploy",
  "secret list --format json",
];
/** The calls on an account that has the queue and the database: nothing created. */
const EXISTING_ACCOUNT = FRESH_ACCOUNT.filter((c) => !c.includes(" create "));

test("a fresh account: queue and database created, migrations applied, then deployed, and a missing ADMIN_TOKEN said", async () => {
  setUp({ queues: [], databases: [], applied: {}, deployed: 0, secrets: [] });

  const run = await runDeploy();
  assert.equal(run.code, 0, run.output);
  assert.deepEqual(calls(), FRESH_ACCOUNT);
  const after = account();
  assert.deepEqual(after.applied["switchyard-request-log"], migrations());
  assert.equal(after.deployed, 1);
  assert.match(run.output, /ADMIN_TOKEN is not set: the admin API and the dashboard stay closed/);
  assert.match(run.output, /npx wrangler secret put ADMIN_TOKEN/);
  assert.match(run.output, /No provider key is set/);
});

test("run again (an upgrade): nothing created twice, no migration applied twice, deployed again", async () => {
  const state = account();
  state.secrets = ["ADMIN_TOKEN", "ANTHROPIC_API_KEY", "DEV_GATEWAY_KEY"];
  setUp(state);
  const run = await runDeploy();
  assert.equal(run.code, 0, run.output);
  assert.deepEqual(calls(), EXISTING_ACCOUNT);
  assert.match(run.output, /No migrations to apply/);
  assert.equal(account().deployed, 2);
  assert.doesNotMatch(run.output, /ADMIN_TOKEN is not set/);
  assert.match(run.output, /providers with keys: anthropic/);
  assert.match(run.output, /DEV_GATEWAY_KEY is set on this Worker/);
});

test("a failed migration stops the deploy before the code goes live, says which step and how to go on, and exits non-zero", async () => {
  setUp({ queues: [], databases: [], applied: {}, deployed: 0, secrets: [] });
  const run = await runDeploy({ FAKE_WRANGLER_FAIL: "d1 migrations" });
  assert.notEqual(run.code, 0);
  // Everything up to the migration, and nothing after it.
  assert.deepEqual(calls(), FRESH_ACCOUNT.slice(0, FRESH_ACCOUNT.indexOf("deploy")));
  assert.match(run.output, /npm run deploy stopped: Applying the migrations of switchyard-request-log failed/);
  assert.match(run.output, /npx wrangler login/);
  assert.equal(account().deployed, 0);
});

test("a queue that cannot be looked up is left to the deploy, and secrets that cannot be listed are said, not fatal", async () => {
  setUp({ queues: [], databases: ["switchyard-request-log"], applied: {}, deployed: 0, secrets: [] });
  const run = await runDeploy({ FAKE_WRANGLER_FAIL: "queues info,secret list" });
  assert.equal(run.code, 0, run.output);
  assert.deepEqual(calls(), EXISTING_ACCOUNT);
  assert.match(run.output, /Could not look up queue switchyard-request-log; leaving it to wrangler deploy/);
  assert.match(run.output, /Could not list the Worker's secrets/);
  assert.equal(account().deployed, 1);
});
