/**
 * `npm run deploy`: everything a Cloudflare account needs for Switchyard, in
 * order, safe to run again for every upgrade.
 *
 *   1. build the dashboard's assets;
 *   2. create each queue wrangler.toml names that does not exist yet
 *      (wrangler provisions KV, D1 and R2 on deploy, not queues);
 *   3. create the request log's D1 database if it does not exist, so that
 *   4. its migrations are applied before the code that needs them goes live
 *      (an upgrade never runs new code on an old schema);
 *   5. `wrangler deploy`, which provisions the KV namespace and R2 buckets
 *      declared without ids, and applies the Durable Object migrations;
 *   6. checks the Worker's secrets: without ADMIN_TOKEN the admin API and
 *      dashboard stay closed (and it says how to set it); without a provider
 *      key nothing can be routed; DEV_GATEWAY_KEY must never be set here.
 *
 * Every step is a `wrangler` command found on PATH (npm puts the project's
 * own first), so test/e2e/deploy-script.test.ts runs this very script against
 * a fake `wrangler` that records what it would have run on an account.
 */
import { spawn } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { unstable_readConfig } from "wrangler";
import { envPrefix, PROVIDER_PRESETS } from "../src/providers/presets.ts";
import { buildDashboard } from "./build-dashboard.ts";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");

interface Ran {
  readonly code: number;
  readonly output: string;
}

/** Runs `wrangler …` with the terminal's stdin (it may ask to log in or to confirm), echoing and keeping its output. */
function wrangler(args: readonly string[], echo = true): Promise<Ran> {
  return new Promise((resolve) => {
    let output = "";
    const child = spawn("wrangler", args, { cwd: ROOT, stdio: ["inherit", "pipe", "pipe"] });
    const keep = (to: NodeJS.WriteStream) => (chunk: Buffer) => {
      output += chunk.toString();
      if (echo) to.write(chunk);
    };
    child.stdout.on("data", keep(process.stdout));
    child.stderr.on("data", keep(process.stderr));
    child.once("error", (err) => resolve({ code: 127, output: `could not run wrangler: ${err.message} (run this as 'npm run deploy', which puts the project's wrangler on PATH)` }));
    child.once("close", (code) => resolve({ code: code ?? 1, output }));
  });
}

class StepFailed extends Error {}

/** What to tell an operator about a failed wrangler call, beyond its own message. */
function hint(output: string): string {
  if (/not (logged in|authenticated)|CLOUDFLARE_API_TOKEN|\/memberships|Authentication error/i.test(output)) {
    return "Log in first: npx wrangler login (or set CLOUDFLARE_API_TOKEN and CLOUDFLARE_ACCOUNT_ID in CI).";
  }
  if (/purchase R2|enable R2|10042/i.test(output)) {
    return "R2 is not enabled on this account yet: turn it on once in the dashboard (R2 Object Storage), free tier included, then run npm run deploy again.";
  }
  return "Fix what wrangler says above and run npm run deploy again: every step is safe to repeat.";
}

async function must(step: string, args: readonly string[]): Promise<Ran> {
  const ran = await wrangler(args);
  if (ran.code !== 0) throw new StepFailed(`${step} failed (wrangler ${args.join(" ")} exited with ${ran.code}).\n${hint(ran.output)}`);
  return ran;
}

/** The JSON array in a command's output (wrangler may print a banner or warnings around it). */
function jsonArray(output: string): unknown[] {
  const start = output.indexOf("[");
  const end = output.lastIndexOf("]");
  if (start === -1 || end < start) throw new StepFailed(`expected a JSON list from wrangler, got:\n${output}`);
  const parsed: unknown = JSON.parse(output.slice(start, end + 1));
  if (!Array.isArray(parsed)) throw new StepFailed(`expected a JSON list from wrangler, got:\n${output}`);
  return parsed;
}

const named = (items: unknown[], field: string): Set<string> =>
  new Set(items.flatMap((item) => (typeof item === "object" && item !== null && typeof (item as Record<string, unknown>)[field] === "string" ? [(item as Record<string, string>)[field]!] : [])));

async function ensureQueue(name: string): Promise<void> {
  const info = await wrangler(["queues", "info", name], false);
  if (info.code === 0) {
    console.log(`queue ${name}: exists`);
    return;
  }
  if (!/does not exist/i.test(info.output)) throw new StepFailed(`Looking up queue ${name} failed:\n${info.output}\n${hint(info.output)}`);
  await must(`Creating queue ${name}`, ["queues", "create", name]);
}

async function ensureDatabase(name: string): Promise<void> {
  const listed = await must("Listing D1 databases", ["d1", "list", "--json"]);
  if (named(jsonArray(listed.output), "name").has(name)) {
    console.log(`D1 database ${name}: exists`);
    return;
  }
  await must(`Creating D1 database ${name}`, ["d1", "create", name]);
}

/** Secrets the deployed Worker has; what is missing is said, not fatal (the gateway runs, closed where it must be). */
async function checkSecrets(): Promise<void> {
  const listed = await wrangler(["secret", "list", "--format", "json"], false);
  if (listed.code !== 0) {
    console.warn(`Could not list the Worker's secrets (wrangler exited with ${listed.code}); check them with: npx wrangler secret list`);
    return;
  }
  const secrets = named(jsonArray(listed.output), "name");
  if (!secrets.has("ADMIN_TOKEN")) {
    console.warn(
      [
        "",
        "ADMIN_TOKEN is not set: the admin API and the dashboard stay closed (403) until it is.",
        "  Set it (a long random string; keep it in your password manager):",
        "    openssl rand -hex 32 | npx wrangler secret put ADMIN_TOKEN",
        "  It takes effect at once, without another deploy.",
      ].join("\n"),
    );
  }
  const providers = PROVIDER_PRESETS.filter((p) => {
    const prefix = envPrefix(p.name);
    return secrets.has(`${prefix}_API_KEY`) || (p.credentials?.keyAlternative ?? []).some((k) => secrets.has(`${prefix}_${k}`));
  });
  if (providers.length === 0) {
    console.warn("\nNo provider key is set: every call will fail until one is. For example: npx wrangler secret put OPENAI_API_KEY");
  } else {
    console.log(`providers with keys: ${providers.map((p) => p.name).join(", ")}`);
  }
  if (secrets.has("DEV_GATEWAY_KEY")) {
    console.warn("\nDEV_GATEWAY_KEY is set on this Worker: it is a key without a record, for local runs only. Remove it: npx wrangler secret delete DEV_GATEWAY_KEY");
  }
}

async function main(): Promise<void> {
  const config = unstable_readConfig({ config: join(ROOT, "wrangler.toml") });
  const queueNames: string[] = [...(config.queues.producers ?? []), ...(config.queues.consumers ?? [])].map((q: { queue: string }) => q.queue);
  const queues = [...new Set(queueNames)];
  const databases = config.d1_databases.flatMap((d: { database_name?: string }) => (d.database_name === undefined ? [] : [d.database_name]));
  const steps: Array<[string, () => Promise<unknown>]> = [
    ["Building the dashboard", async () => console.log(`dashboard: ${((await buildDashboard()) / 1024).toFixed(1)} KB gzipped`)],
    ["Queues", async () => { for (const q of queues) await ensureQueue(q); }],
    ["D1 databases", async () => { for (const d of databases) await ensureDatabase(d); }],
    ["D1 migrations", async () => { for (const d of databases) await must(`Applying the migrations of ${d}`, ["d1", "migrations", "apply", d, "--remote"]); }],
    ["Deploying the Worker (KV namespace and R2 buckets are provisioned here on the first run)", () => must("wrangler deploy", ["deploy"])],
    ["Checking the Worker's secrets", checkSecrets],
  ];
  for (const [i, [title, run]] of steps.entries()) {
    console.log(`\n[${i + 1}/${steps.length}] ${title}`);
    await run();
  }
  console.log("\nDeployed. Next: create a gateway key (README, \"Deploy to Cloudflare\"), and call the gateway with it.");
}

try {
  await main();
} catch (err) {
  console.error(`\nnpm run deploy stopped: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
}
