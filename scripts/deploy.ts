/**
 * `npm run deploy`: everything a Cloudflare account needs for Switchyard, in
 * order, safe to run again for every upgrade.
 *
 *   1. build the dashboard's assets;
 *   2. create each queue wrangler.toml names that does not exist yet (the
 *      consumer cannot attach to a missing queue; wrangler 4.156 also creates
 *      a producer's queue on deploy, older 4.x releases do not);
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
  /** What wrangler printed on stdout (the JSON answers are read from here alone). */
  readonly stdout: string;
  /** stdout and stderr together, for messages and hints. */
  readonly output: string;
}

/**
 * Runs `wrangler …`, echoing and keeping its output. Its stdout is a pipe, which makes wrangler
 * non-interactive (it prompts only when stdin and stdout are terminals) on purpose: interactive, a
 * deploy writes the ids of what it provisioned back into wrangler.toml, and the ids must stay out of
 * the repository (README: an operator's checkout upgrades with git pull). Non-interactive, wrangler
 * picks no account for an operator with several (CLOUDFLARE_ACCOUNT_ID does) and logs no one in:
 * the hints below say so.
 */
function wrangler(args: readonly string[], echo = true): Promise<Ran> {
  return new Promise((resolve) => {
    let stdout = "";
    let output = "";
    const child = spawn("wrangler", args, { cwd: ROOT, stdio: ["inherit", "pipe", "pipe"] });
    const keep = (to: NodeJS.WriteStream, isStdout: boolean) => (chunk: Buffer) => {
      const text = chunk.toString();
      output += text;
      if (isStdout) stdout += text;
      if (echo) to.write(chunk);
    };
    child.stdout.on("data", keep(process.stdout, true));
    child.stderr.on("data", keep(process.stderr, false));
    child.once("error", (err) => {
      const why = `could not run wrangler: ${err.message} (run this as 'npm run deploy', which puts the project's wrangler on PATH)`;
      resolve({ code: 127, stdout: "", output: why });
    });
    child.once("close", (code) => resolve({ code: code ?? 1, stdout, output }));
  });
}

class StepFailed extends Error {}

/** What to tell an operator about a failed wrangler call, beyond its own message. */
function hint(output: string): string {
  if (/More than one account available/i.test(output)) {
    return "Several Cloudflare accounts: say which one, export CLOUDFLARE_ACCOUNT_ID=<id> (npx wrangler whoami lists them), and run npm run deploy again.";
  }
  if (/workers\.dev subdomain/i.test(output)) {
    return "This account has no workers.dev subdomain yet: open Workers & Pages in the Cloudflare dashboard once to choose one, then run npm run deploy again.";
  }
  if (/10014|title already exists/i.test(output)) {
    return "A KV namespace named switchyard-config exists but is not bound (a first deploy that failed after creating it): put its id under [[kv_namespaces]] in wrangler.toml (npx wrangler kv namespace list), or delete it, then run npm run deploy again.";
  }
  if (/not (logged in|authenticated)|CLOUDFLARE_API_TOKEN|\/memberships|Authentication error|code: 10000/i.test(output)) {
    return process.env.WORKERS_CI !== undefined
      ? "The build's API token may not do this: give it D1 Edit and Queues Edit as well as Workers Scripts, KV and R2 Edit (Workers Builds settings), then retry the build."
      : "Log in first: npx wrangler login (or set CLOUDFLARE_API_TOKEN and CLOUDFLARE_ACCOUNT_ID in CI).";
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
  if (!/does not exist/i.test(info.output)) {
    // Not "missing" (a token without Queues permission, say): the deploy's own provisioning may still
    // create it, and says so if it cannot.
    console.warn(`Could not look up queue ${name}; leaving it to wrangler deploy:\n${info.output}`);
    return;
  }
  await must(`Creating queue ${name}`, ["queues", "create", name]);
}

async function ensureDatabase(name: string): Promise<void> {
  const listed = await must("Listing D1 databases", ["d1", "list", "--json"]);
  if (named(jsonArray(listed.stdout), "name").has(name)) {
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
  let secrets: Set<string>;
  try {
    secrets = named(jsonArray(listed.stdout), "name");
  } catch {
    console.warn(`Could not read the Worker's secrets from wrangler's answer; check them with: npx wrangler secret list\n${listed.output}`);
    return;
  }
  if (!secrets.has("ADMIN_TOKEN")) {
    console.warn(
      [
        "",
        "ADMIN_TOKEN is not set: the admin API and the dashboard stay closed (403) until it is.",
        "  Make one, keep it (your password manager: Cloudflare never shows a secret again), and set it:",
        '    ADMIN_TOKEN=$(openssl rand -hex 32); echo "$ADMIN_TOKEN"',
        '    printf %s "$ADMIN_TOKEN" | npx wrangler secret put ADMIN_TOKEN',
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
