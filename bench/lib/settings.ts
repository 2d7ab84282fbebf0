/**
 * Where things are, the fixed parameters of the benchmark, the targets it checks,
 * and the settings read from the environment (BENCH_*), checked before anything runs.
 */
import { spawnSync } from "node:child_process";
import { accessSync, constants as fsConstants, existsSync, statSync } from "node:fs";
import { delimiter, dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const BENCH = join(ROOT, "bench");
export const OUT = join(BENCH, "out");
export const LOGS = join(OUT, "logs");
export const WORKERD = join(ROOT, "node_modules", "@cloudflare", "workerd-linux-64", "bin", "workerd");
export const WRANGLER = join(ROOT, "node_modules", "wrangler", "bin", "wrangler.js");
export const MOCK_UPSTREAM = join(ROOT, "test", "support", "mock-upstream.ts");

/** The gateway's ADMIN_TOKEN binding: used once, to create the gateway key the requests carry. */
export const ADMIN_TOKEN = "bench-admin-token";
export const CHAT_PATH = "/v1/chat/completions";
export const MESSAGES_PATH = "/v1/messages";
export const RESPONSES_PATH = "/v1/responses";
export const STREAM_EVENTS = 20;

/** The targets, in ms (CPU, latency) and bytes (bundle). */
export const LIMITS = {
  cpuNonStreamMs: 0.1,
  cpuStreamMs: 0.3,
  /** /v1/responses translated from chat chunks may cost at most this much more CPU than /v1/messages translated (issue 15). */
  responsesOverMessagesCpuMs: 0.1,
  sequentialAddedMs: 0.2,
  firstEventAddedMs: 0.2,
  // "185 KB gzipped", read as KiB: the unit wrangler prints its bundle sizes in (test/e2e/build.test.ts holds the same budget).
  bundleGzipBytes: 185 * 1024,
  /** failover-503: p50 through the alias minus the secondary alone. */
  failover503AddedMs: 2,
  /** failover-hang: p50 may exceed the primary's ttfbTimeoutMs plus the secondary's own p50 by this much. */
  failoverHangSlackMs: 5,
  /** Throughput with route health on over the core gateway with it off (non-stream). */
  healthThroughputRatio: 0.95,
  /** The request log on (one queue send per request, in the background) against off: issue 13's target. */
  loggingThroughputRatio: 0.95,
  /** Throughput with a hard budget on the key (admitted on a lease) over a key without one: issue 16's target. */
  budgetsThroughputRatio: 0.9,
  /** p99 with budgets on minus off, under BENCH_CONNECTIONS (the Durable Object runs in the same process here). */
  budgetsP99AddedMs: 2,
  /** Budgeted requests wrk saw answered that the key's ledger did not count. */
  ledgerMissingRequests: 0,
  /** Durable Object calls per budgeted request at steady state (issue 16: leases). */
  ledgerCallsPerRequest: 0.05,
  /** A hot key through the gateway over the per-request reserve + settle rate the ledger alone sustains (issue 16). */
  hotKeyOverLedgerRatio: 3,
  /** Throughput with rate limits on the key (one Redis call per request) over a key without limits: issue 16's target. */
  limitsThroughputRatio: 0.6,
  /**
   * One-at-a-time added latency with limits on: at most this many round trips to the bridge
   * (the rules' checks go in one pipelined call), plus one workerd hop (what a subrequest costs a Worker here, which the
   * round trip timed from Node leaves out), plus `limitsLatencySlackMs` for the limiter's own work.
   */
  limitsLatencyRoundTrips: 1,
  limitsLatencySlackMs: 0.3,
  /** Requests the gateway let through unchecked because a Redis call failed or timed out (fail-open). */
  limitsUnavailable: 0,
} as const;

/** wrk connections of the hot-ledger block: more than the 16 the other blocks use, to drive one ledger as hard as this machine can. */
export const HOT_LEDGER_CONNECTIONS = 64;
/** Wait after the last load run for the last settle batches (25 ms windows) to reach the ledgers before reading them. */
export const LEDGER_SETTLE_WAIT_MS = 1_500;

/** The failover-hang primary's `ttfbTimeoutMs`: the gateway gives up on it after this long. */
export const HANG_TTFB_TIMEOUT_MS = 500;
/** failover-hang samples per side: each alias request takes HANG_TTFB_TIMEOUT_MS, so fewer than the other runs. */
export const HANG_SAMPLES = 20;
/** Failing requests sent to open the primary's breaker in breaker-open (the breaker opens after 5 in a row). */
export const BREAKER_FAILURES = 6;
/** Wait after them, for the batched reports (50 ms debounce) to reach the RouteHealth Durable Object. */
export const BREAKER_SETTLE_MS = 800; // reports wait up to 250 ms to be batched, then the Durable Object answers

/** A failure of the harness itself: printed without a stack trace. */
export class BenchError extends Error {}

export interface Settings {
  /** The wrk executable. */
  wrk: string;
  /** Clock ticks per second, the unit of /proc/<pid>/stat CPU times. */
  clkTck: number;
  durationS: number;
  warmupS: number;
  connections: number;
  threads: number;
  rounds: number;
  sequential: number;
}

function envNumber(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0) {
    throw new BenchError(`${name} must be a positive integer, got "${raw}"`);
  }
  return value;
}

function onPath(program: string): string | undefined {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (dir === "") continue;
    const candidate = join(dir, program);
    try {
      accessSync(candidate, fsConstants.X_OK);
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** Checks the machine (Linux, wrk, workerd, the mock) and reads the BENCH_* settings. */
export function readSettings(): Settings {
  if (process.platform !== "linux" || !existsSync("/proc/self/stat")) {
    throw new BenchError("the benchmark reads CPU time from /proc and runs the linux workerd binary: run it on Linux");
  }
  const wrk = onPath("wrk");
  if (wrk === undefined) {
    throw new BenchError("wrk is not installed (it drives the load runs). Install it with:\n  apt-get install -y wrk");
  }
  if (!existsSync(WORKERD)) {
    throw new BenchError(`workerd binary not found at ${relative(ROOT, WORKERD)}: run npm install`);
  }
  if (!existsSync(MOCK_UPSTREAM)) throw new BenchError(`mock upstream not found at ${relative(ROOT, MOCK_UPSTREAM)}`);
  const getconf = spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" });
  const clkTck = Number(getconf.stdout.trim());
  if (getconf.status !== 0 || !Number.isInteger(clkTck) || clkTck <= 0) {
    throw new BenchError(`getconf CLK_TCK failed: ${getconf.stderr || getconf.stdout}`);
  }
  const settings: Settings = {
    wrk,
    clkTck,
    durationS: envNumber("BENCH_DURATION", 6),
    warmupS: envNumber("BENCH_WARMUP", 2),
    connections: envNumber("BENCH_CONNECTIONS", 16),
    threads: envNumber("BENCH_THREADS", 1),
    rounds: envNumber("BENCH_ROUNDS", 1),
    sequential: envNumber("BENCH_SEQUENTIAL", 300),
  };
  if (settings.connections < settings.threads) throw new BenchError("BENCH_CONNECTIONS must be ≥ BENCH_THREADS");
  return settings;
}
