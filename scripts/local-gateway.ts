/**
 * Starts the gateway locally the way `npm start` and the end-to-end tests need
 * it: `wrangler dev` (local KV under .wrangler/) plus the mock provider, with
 * every provider that has no real key in .dev.vars pointed at the mock, and
 * rate limits' Redis: a local redis-server behind the Upstash REST bridge
 * unless .dev.vars names a real Upstash database.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { PROVIDER_PRESETS, envPrefix } from "../src/providers/presets.ts";
import { startMockUpstream, type MockUpstream } from "../test/support/mock-upstream.ts";
import { buildDashboard } from "./build-dashboard.ts";
import { BEDROCK_TEST_CREDENTIALS } from "../test/support/mock-upstream/bedrock-credentials.ts";
import { startLocalRedis, type LocalRedis } from "../test/support/redis-bridge.ts";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
export const DEV_GATEWAY_KEY = "sk-switchyard-dev";
export const DEV_ADMIN_TOKEN = "dev-admin-token";

export interface LocalGateway {
  url: string;
  mock: MockUpstream;
  adminToken: string;
  gatewayKey: string;
  /** Providers answered by the mock (no real key in .dev.vars). */
  mocked: string[];
  /** Where rate limits keep their counters; null when there is no Redis (redis-server not installed). */
  redis: { url: string; source: "local" | "dev.vars" | "vars" } | null;
  stop(): Promise<void>;
  /** Kills wrangler and its workerd at once (SIGKILL, no shutdown): a crash, for durability tests. */
  kill(): Promise<void>;
}

export interface LocalGatewayOptions {
  port: number;
  mockPort?: number;
  /** Where wrangler keeps local KV; tests use a fresh temp dir. */
  persistTo?: string;
  /** Extra `--var NAME:VALUE` settings (e.g. a small body limit in tests). */
  vars?: Record<string, string>;
  /** Echo wrangler's output (npm start) or keep it for error reports (tests). */
  inheritOutput: boolean;
  /** Read .dev.vars for real provider keys (npm start) or ignore it (tests). */
  useDevVars: boolean;
}

/** Runs the project's wrangler with `args` (local state in `persistTo`, or .wrangler/), failing with its output. */
export function runWrangler(args: readonly string[], persistTo: string | undefined): Promise<void> {
  const argv = [join(ROOT, "node_modules/wrangler/bin/wrangler.js"), ...args];
  if (persistTo !== undefined) argv.push("--persist-to", persistTo);
  return new Promise((resolve, reject) => {
    let output = "";
    const child = spawn(process.execPath, argv, { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "true" } });
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`wrangler ${args.slice(0, 3).join(" ")} failed (${code}):\n${output.slice(-4000)}`))));
  });
}

/** `wrangler d1 migrations apply --local` for the request log's database, into `persistTo` (or .wrangler/). */
export const applyLocalMigrations = (persistTo: string | undefined): Promise<void> => runWrangler(["d1", "migrations", "apply", "LOG_DB", "--local"], persistTo);

function readDevVars(): Record<string, string> {
  const file = join(ROOT, ".dev.vars");
  if (!existsSync(file)) return {};
  const vars: Record<string, string> = {};
  for (const line of readFileSync(file, "utf8").split(/\r?\n/)) {
    const match = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/.exec(line);
    const value = match?.[2]?.replace(/^(["'])(.*)\1$/, "$2");
    // An empty value is none (the example file leaves ADMIN_TOKEN empty for the Deploy button to ask for).
    if (match?.[1] !== undefined && value !== undefined && value !== "") vars[match[1]] = value;
  }
  return vars;
}

/** Providers whose mock settings differ from `<PREFIX>_BASE_URL` + `<PREFIX>_API_KEY`. */
const MOCK_SETTINGS: Readonly<Record<string, (mockUrl: string) => Record<string, string>>> = {
  // Gemini's paths start at its API version, as the real API's do.
  gemini: (mockUrl) => ({ GEMINI_BASE_URL: `${mockUrl}/v1beta`, GEMINI_API_KEY: "mock-key" }),
  // Requests signed with SigV4, which the mock checks with the same test credentials.
  bedrock: (mockUrl) => ({
    BEDROCK_BASE_URL: mockUrl,
    BEDROCK_REGION: "us-east-1",
    BEDROCK_ACCESS_KEY_ID: BEDROCK_TEST_CREDENTIALS.accessKeyId,
    BEDROCK_SECRET_ACCESS_KEY: BEDROCK_TEST_CREDENTIALS.secretAccessKey,
  }),
};

/**
 * Upstash credentials in .dev.vars (real Upstash) or in the caller's vars win; otherwise a local
 * redis-server behind the bridge, whose URL and token are added to `vars` for `--var`.
 */
async function rateLimitRedis(
  devVars: Record<string, string>,
  vars: Record<string, string>,
): Promise<{ redis: LocalGateway["redis"]; localRedis: LocalRedis | null }> {
  const configured = (from: Record<string, string>): boolean =>
    from.UPSTASH_REDIS_REST_URL !== undefined && from.UPSTASH_REDIS_REST_TOKEN !== undefined;
  // wrangler dev reads .dev.vars itself: those credentials reach the Worker without a --var.
  if (configured(devVars)) return { redis: { url: devVars.UPSTASH_REDIS_REST_URL ?? "", source: "dev.vars" }, localRedis: null };
  if (configured(vars)) return { redis: { url: vars.UPSTASH_REDIS_REST_URL ?? "", source: "vars" }, localRedis: null };
  const localRedis = await startLocalRedis();
  if (localRedis === null) return { redis: null, localRedis: null };
  vars.UPSTASH_REDIS_REST_URL = localRedis.url;
  vars.UPSTASH_REDIS_REST_TOKEN = localRedis.token;
  return { redis: { url: localRedis.url, source: "local" }, localRedis };
}

async function waitForHealth(url: string, child: ChildProcess, output: () => string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`wrangler dev exited with code ${child.exitCode}:\n${output()}`);
    try {
      const res = await fetch(`${url}/health`);
      if (res.ok) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`the gateway did not answer ${url}/health within ${timeoutMs} ms:\n${output()}`);
}

export async function startLocalGateway(options: LocalGatewayOptions): Promise<LocalGateway> {
  const mock = await startMockUpstream({ port: options.mockPort ?? 0 });
  const devVars = options.useDevVars ? readDevVars() : {};
  const vars: Record<string, string> = {};
  const mocked: string[] = [];
  for (const preset of PROVIDER_PRESETS) {
    const prefix = envPrefix(preset.name);
    if (devVars[`${prefix}_API_KEY`] !== undefined || devVars[`${prefix}_BASE_URL`] !== undefined) continue;
    Object.assign(vars, MOCK_SETTINGS[preset.name]?.(mock.url) ?? { [`${prefix}_BASE_URL`]: `${mock.url}/v1`, [`${prefix}_API_KEY`]: "mock-key" });
    mocked.push(preset.name);
  }
  const adminToken = devVars.ADMIN_TOKEN ?? DEV_ADMIN_TOKEN;
  if (devVars.ADMIN_TOKEN === undefined) vars.ADMIN_TOKEN = adminToken;
  const gatewayKey = devVars.DEV_GATEWAY_KEY ?? DEV_GATEWAY_KEY;
  if (devVars.DEV_GATEWAY_KEY === undefined) vars.DEV_GATEWAY_KEY = gatewayKey;
  Object.assign(vars, options.vars ?? {});
  const { redis, localRedis } = await rateLimitRedis(devVars, vars).catch(async (err: unknown) => {
    await mock.close();
    throw err;
  });

  // The dashboard's files (wrangler.toml's [assets]), then the request log's D1 schema, as a deploy applies it
  // (wrangler dev does not apply migrations itself).
  await buildDashboard();
  await applyLocalMigrations(options.persistTo).catch(async (err: unknown) => {
    await mock.close();
    await localRedis?.close();
    throw err;
  });

  const args = [
    join(ROOT, "node_modules/wrangler/bin/wrangler.js"),
    "dev",
    "--port", String(options.port),
    "--ip", "127.0.0.1",
    "--inspector-port", "0",
    "--show-interactive-dev-session=false",
    "--log-level", options.inheritOutput ? "log" : "warn",
  ];
  if (options.persistTo !== undefined) args.push("--persist-to", options.persistTo);
  for (const [name, value] of Object.entries(vars)) args.push("--var", `${name}:${value}`);

  let output = "";
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    stdio: ["ignore", options.inheritOutput ? "inherit" : "pipe", options.inheritOutput ? "inherit" : "pipe"],
    env: { ...process.env, WRANGLER_SEND_METRICS: "false", CI: process.env.CI ?? "" },
    // Its own process group, so that a kill reaches workerd too (wrangler's child).
    detached: !options.inheritOutput,
  });
  const keep = (chunk: Buffer): void => {
    output = (output + chunk.toString()).slice(-20_000);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);

  const url = `http://127.0.0.1:${options.port}`;
  const signal = (name: NodeJS.Signals): void => {
    try {
      if (child.pid !== undefined && !options.inheritOutput) process.kill(-child.pid, name);
      else child.kill(name);
    } catch {
      // Already gone.
    }
  };
  const stop = async (): Promise<void> => {
    if (child.exitCode === null) {
      const exited = new Promise((r) => child.once("exit", r));
      signal("SIGTERM");
      const timer = setTimeout(() => signal("SIGKILL"), 5000);
      await exited;
      clearTimeout(timer);
    }
    await mock.close();
    await localRedis?.close();
  };
  const kill = async (): Promise<void> => {
    if (child.exitCode === null) {
      const exited = new Promise((r) => child.once("exit", r));
      signal("SIGKILL");
      await exited;
    }
    await mock.close();
    await localRedis?.close();
  };
  try {
    await waitForHealth(url, child, () => output, 60_000);
  } catch (err) {
    await stop();
    throw err;
  }
  return { url, mock, adminToken, gatewayKey, mocked, redis, stop, kill };
}
