/**
 * Rate limits (issue 6): a local redis-server behind the Upstash REST bridge
 * (test/support/redis-bridge.ts, in this Node process), the two keys of the `limits`
 * block, their smoke check, the block itself with the bridge's counters and CPU read
 * around each run, and the one-at-a-time timing of off vs on beside the round trip to
 * the bridge alone.
 *
 * - off: a key without limits. The gateway has the Upstash secrets, but no rule applies
 *   to the key: no Redis call.
 * - on: a key with `{"rpm": 1000000, "tpm": 1000000000}` (sliding windows of one minute,
 *   far above what the run sends: never refuses). Every request is counted against both
 *   rules (two concurrent Redis calls) before it is forwarded, and its token window is
 *   corrected to the real usage after the answer (one more call, under waitUntil).
 */
import { readdirSync, readFileSync } from "node:fs";
import { Agent } from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import { startLocalRedis, type LocalRedis } from "../../test/support/redis-bridge.ts";
import { createKey } from "./gateway-key.ts";
import { pairStats } from "./failover.ts";
import { cpuTicks } from "./load.ts";
import { BenchError, type Settings } from "./settings.ts";
import { timedRequestRetry, type Timed } from "./timed-request.ts";
import type { LimitsScenarioName, LoadBlock, PairStats, RunObserver, Scenario, Target } from "./types.ts";

/** The on key's limits: far above what the run can send (≈ 3,000 req/s × 60 s, ≈ 30 tokens each). */
export const LIMITS_ON = { rpm: 1_000_000, tpm: 1_000_000_000 };
/** After a run, time for the token corrections of its last requests (under waitUntil) to reach the bridge. */
const CORRECTIONS_WAIT_MS = 200;
/** One-at-a-time: requests per side and block, and uncounted requests per side first. */
const SEQUENTIAL_BLOCK = 25;
const SEQUENTIAL_WARM = 20;
/** What the round trip to the bridge alone is timed with: one command on POST /, as each limiter call is. */
const ROUND_TRIP_COMMAND = JSON.stringify(["INCR", "switchyard:bench:round-trip"]);

export interface LimitsSetup {
  redis: LocalRedis;
  /** redis-server's pid (a child of this process), for its CPU time; null if it could not be found. */
  redisServerPid: number | null;
  off: Scenario<LimitsScenarioName>;
  on: Scenario<LimitsScenarioName>;
}

/** redis-server and the bridge, or null (with the reason printed) when redis-server is not installed. */
export async function startBenchRedis(): Promise<LocalRedis | null> {
  try {
    const redis = await startLocalRedis();
    if (redis === null) {
      console.log("limits: redis-server is not installed (apt-get install redis-server): the limits block is skipped, rate limits stay off");
    }
    return redis;
  } catch (err) {
    throw new BenchError(`local Redis did not start: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** The redis-server child of this process listening on `port`, found in /proc. */
function redisServerPid(port: number): number | null {
  const self = `/proc/${process.pid}/task`;
  for (const task of readdirSync(self)) {
    let children: string[];
    try {
      children = readFileSync(`${self}/${task}/children`, "utf8").trim().split(/\s+/);
    } catch {
      continue;
    }
    for (const pid of children.filter((p) => p !== "")) {
      try {
        // redis-server rewrites its title to "redis-server 127.0.0.1:<port>".
        const comm = readFileSync(`/proc/${pid}/comm`, "utf8").trim();
        const title = readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ");
        if (comm === "redis-server" && (title.includes(`:${port} `) || title.includes(` ${port} `))) return Number(pid);
      } catch {
        // exited meanwhile
      }
    }
  }
  return null;
}

/** The two keys (POST /admin/keys, the on key with `limits`), sending `nonStream`. */
export async function setUpLimits(gatewayPort: number, redis: LocalRedis, nonStream: Scenario): Promise<LimitsSetup> {
  const off = await createKey(gatewayPort, "bench-limits-off");
  const on = await createKey(gatewayPort, "bench-limits-on", { limits: LIMITS_ON });
  const { path, stream, body, bodyFile } = nonStream;
  return {
    redis,
    redisServerPid: redisServerPid(redis.redisPort),
    off: { name: "non-stream-limits-off", path, stream, body, bodyFile, key: off.secret },
    on: { name: "non-stream-limits-on", path, stream, body, bodyFile, key: on.secret },
  };
}

/** Commands counted by the bridge, all names together. */
function commandTotal(commands: Record<string, number>): number {
  return Object.values(commands).reduce((a, b) => a + b, 0);
}

/** Why an answer is not the one the key should get (`limited`: with x-ratelimit-* headers), or undefined. */
function problemWith(result: Timed, limited: boolean): string | undefined {
  if (result.status !== 200) return `status ${result.status}`;
  const h = result.headers;
  if (h["x-switchyard-ratelimit"] !== undefined) return `x-switchyard-ratelimit: ${String(h["x-switchyard-ratelimit"])} (Redis did not answer)`;
  if (!limited) return h["x-ratelimit-limit-requests"] === undefined ? undefined : "x-ratelimit-* headers on a key without limits";
  if (h["x-ratelimit-limit-requests"] !== String(LIMITS_ON.rpm) || h["x-ratelimit-limit-tokens"] !== String(LIMITS_ON.tpm)) {
    return `x-ratelimit-limit-requests ${String(h["x-ratelimit-limit-requests"])} and -tokens ${String(h["x-ratelimit-limit-tokens"])}, not ${LIMITS_ON.rpm} and ${LIMITS_ON.tpm}`;
  }
  return undefined;
}

/**
 * GET /health says rate limits are on; the off key answers without x-ratelimit-* headers
 * and without a call to the bridge; the on key answers with its limits in them, after
 * calls to the bridge.
 */
export async function smokeTestLimits(gateway: Target, setup: LimitsSetup): Promise<void> {
  const health = (await (await fetch(`http://127.0.0.1:${gateway.port}/health`)).json()) as { rateLimits?: { status?: unknown } };
  if (health.rateLimits?.status !== "enabled") {
    throw new BenchError(`GET /health says rate limits are ${JSON.stringify(health.rateLimits)}, not enabled: the UPSTASH_* bindings did not take`);
  }
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  try {
    for (const [scenario, limited] of [[setup.off, false], [setup.on, true]] as const) {
      const before = setup.redis.stats();
      const result = await timedRequestRetry(agent, gateway.port, scenario.path, Buffer.from(scenario.body), scenario.key ?? "", true);
      const problem = problemWith(result, limited);
      if (problem !== undefined) throw new BenchError(`${scenario.name}: the gateway answered with ${problem}:\n${result.body.slice(0, 2000)}`);
      await sleep(CORRECTIONS_WAIT_MS);
      const calls = setup.redis.stats().requests - before.requests;
      if (limited ? calls < 2 : calls !== 0) {
        throw new BenchError(`${scenario.name}: the gateway made ${calls} calls to the Redis bridge (expected ${limited ? "at least 2" : "none"})`);
      }
    }
  } finally {
    agent.destroy();
  }
}

/**
 * Around each run: the bridge's HTTP requests and Redis commands, this process's CPU
 * (the bridge runs in it; the harness itself only waits for wrk meanwhile) and
 * redis-server's. Read after the corrections of the run's last requests have landed.
 */
function bridgeObserver(setup: LimitsSetup): RunObserver {
  return {
    start() {
      const stats = setup.redis.stats();
      const cpu = process.cpuUsage();
      const pid = setup.redisServerPid;
      const redisTicks = pid === null ? null : cpuTicks(pid);
      return async () => {
        await sleep(CORRECTIONS_WAIT_MS);
        const after = setup.redis.stats();
        const used = process.cpuUsage(cpu);
        const figures: Record<string, number> = {
          bridgeHttpRequests: after.requests - stats.requests,
          redisCommands: commandTotal(after.commands) - commandTotal(stats.commands),
          bridgeProcessCpuMs: (used.user + used.system) / 1000,
        };
        if (pid !== null && redisTicks !== null) figures.redisServerCpuTicks = cpuTicks(pid) - redisTicks;
        for (const [name, n] of Object.entries(after.commands)) {
          const delta = n - (stats.commands[name] ?? 0);
          if (delta > 0) figures[`command:${name}`] = delta;
        }
        return figures;
      };
    },
  };
}

/** limits: the same non-stream request on the gateway with the off key and the on key, alternated like every block. */
export function limitsBlock(gateway: Target, setup: LimitsSetup): LoadBlock {
  return {
    name: "limits",
    slots: [
      { target: gateway, scenario: setup.off },
      { target: gateway, scenario: setup.on },
    ],
    observer: bridgeObserver(setup),
  };
}

export interface LimitsSequential {
  off: PairStats;
  on: PairStats;
  /** One command POSTed to the bridge from this process (HTTP over loopback, the bridge, redis-server and back). */
  bridgeRoundTrip: PairStats;
  /** on − off, medians. */
  addedMedianMs: number;
}

/**
 * One request at a time on a keep-alive connection per side: the off key, the on key and a
 * command sent to the bridge directly, taking turns in blocks (off, on, bridge, then bridge,
 * on, off). Every gateway answer is checked as in the smoke test.
 */
export async function limitsSequential(settings: Settings, gateway: Target, setup: LimitsSetup): Promise<LimitsSequential> {
  const bridgeUrl = new URL(setup.redis.url);
  const sides = [
    { name: "off", port: gateway.port, path: setup.off.path, body: Buffer.from(setup.off.body), key: setup.off.key ?? "", limited: false },
    { name: "on", port: gateway.port, path: setup.on.path, body: Buffer.from(setup.on.body), key: setup.on.key ?? "", limited: true },
    { name: "bridge", port: Number(bridgeUrl.port), path: "/", body: Buffer.from(ROUND_TRIP_COMMAND), key: setup.redis.token, limited: null },
  ] as const;
  console.log(`\nlimits, one at a time: ${settings.sequential} requests per side (off key, on key, the bridge alone), blocks of ${SEQUENTIAL_BLOCK}, alternating`);
  const agents = sides.map(() => new Agent({ keepAlive: true, maxSockets: 1 }));
  const samples = sides.map((): number[][] => []);
  const timed = async (i: number): Promise<number> => {
    const side = sides[i];
    const agent = agents[i];
    if (side === undefined || agent === undefined) throw new BenchError("no such side");
    const result = await timedRequestRetry(agent, side.port, side.path, side.body, side.key, true);
    const problem = side.limited === null ? (result.status === 200 ? undefined : `status ${result.status}`) : problemWith(result, side.limited);
    if (problem !== undefined) throw new BenchError(`limits one at a time, ${side.name}: answered with ${problem}: ${result.body.slice(0, 500)}`);
    return result.totalMs;
  };
  try {
    for (let i = 0; i < sides.length; i++) for (let n = 0; n < SEQUENTIAL_WARM; n++) await timed(i);
    const blocks = Math.ceil(settings.sequential / SEQUENTIAL_BLOCK);
    for (let b = 0; b < blocks; b++) {
      const count = Math.min(SEQUENTIAL_BLOCK, settings.sequential - b * SEQUENTIAL_BLOCK);
      const order = b % 2 === 0 ? [0, 1, 2] : [2, 1, 0];
      for (const i of order) {
        const block: number[] = [];
        for (let n = 0; n < count; n++) block.push(await timed(i));
        samples[i]?.push(block);
      }
    }
  } finally {
    for (const agent of agents) agent.destroy();
  }
  const [off, on, bridge] = samples.map((blocks) => pairStats(blocks.flat(), blocks)) as [PairStats, PairStats, PairStats];
  return { off, on, bridgeRoundTrip: bridge, addedMedianMs: on.p50Ms - off.p50Ms };
}

/** Lines the gateway logged when a Redis call failed or timed out (the request went on, fail-open). */
export function countUnavailableLogLines(logPath: string): number {
  let count = 0;
  for (const line of readFileSync(logPath, "utf8").split("\n")) if (line.includes('"msg":"ratelimit_unavailable"')) count++;
  return count;
}
