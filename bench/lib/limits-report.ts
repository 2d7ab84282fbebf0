/**
 * The limits block (rate limits on vs off) and its one-at-a-time timing: figures for
 * results.json, their PASS/MISS lines and their part of the printed report.
 */
import { measured, onOff } from "./budgets-report.ts";
import { fmt, fmtInt, signed, table } from "./format.ts";
import { LIMITS_ON, type LimitsSetup, type LimitsSequential } from "./limits.ts";
import { LIMITS } from "./settings.ts";
import type { CheckRule, LoadRun, PairStats, ScenarioName, TargetCheck } from "./types.ts";

/** What one side's requests cost the bridge and Redis, per request answered in its counted runs. */
function perRequest(runs: LoadRun[], scenario: ScenarioName, clkTck: number) {
  const mine = runs.filter((r) => r.block === "limits" && r.scenario === scenario);
  const requests = mine.reduce((n, r) => n + r.requests, 0);
  // wrk stops with up to `connections` requests in flight, which the gateway still serves (and counts in Redis).
  const inFlight = mine.reduce((n, r) => n + r.connections, 0);
  const total = (name: string): number => mine.reduce((n, r) => n + (r.observed?.[name] ?? 0), 0);
  const names = new Set(mine.flatMap((r) => Object.keys(r.observed ?? {})));
  const commands: Record<string, number> = {};
  for (const name of names) if (name.startsWith("command:")) commands[name.slice("command:".length)] = total(name) / requests;
  return {
    requests,
    /** Requests that may have been served after wrk stopped counting: the runs' connections added up. */
    inFlightAllowance: inFlight,
    bridgeHttpCallsPerRequest: total("bridgeHttpRequests") / requests,
    redisCommandsPerRequest: total("redisCommands") / requests,
    /** The same over requests + inFlightAllowance: the lower end, had every in-flight request been served. */
    bridgeHttpCallsPerRequestLow: total("bridgeHttpRequests") / (requests + inFlight),
    redisCommandsPerRequestLow: total("redisCommands") / (requests + inFlight),
    /** By command name (EVALSHA, EVAL, …). */
    commandsPerRequest: commands,
    /** The harness's process, which runs the bridge (and otherwise only waits for wrk). */
    bridgeProcessCpuMsPerRequest: total("bridgeProcessCpuMs") / requests,
    redisServerCpuMsPerRequest: names.has("redisServerCpuTicks") ? ((total("redisServerCpuTicks") / clkTck) * 1000) / requests : null,
  };
}

export type LimitsResults =
  | { skipped: string }
  | ReturnType<typeof ranLimits>;

function ranLimits(runs: LoadRun[], setup: LimitsSetup, sequential: LimitsSequential, unavailable: number, hopMs: number, clkTck: number) {
  return {
    block: "limits" as const,
    bridge: setup.redis.url,
    rules: LIMITS_ON,
    ...onOff(measured(runs, "limits", setup.off.name, "gateway"), measured(runs, "limits", setup.on.name, "gateway")),
    redis: { off: perRequest(runs, setup.off.name, clkTck), on: perRequest(runs, setup.on.name, clkTck) },
    sequential,
    /** A workerd hop: bare − upstream, one-at-a-time non-stream medians of the run (a request in and a subrequest out). */
    workerdHopMs: hopMs,
    /** The added-latency limit of this run: round trips to the bridge (its median), a workerd hop, the slack. */
    sequentialLimitMs:
      Math.round((LIMITS.limitsLatencyRoundTrips * sequential.bridgeRoundTrip.p50Ms + hopMs + LIMITS.limitsLatencySlackMs) * 1000) / 1000,
    /** ratelimit_unavailable lines in the gateway's log: Redis calls that failed or timed out (fail-open). */
    unavailable,
  };
}

/** The block's results; `{skipped}` when redis-server is not installed. */
export function limitsResults(
  runs: LoadRun[],
  ran: { setup: LimitsSetup; sequential: LimitsSequential; unavailable: number } | null,
  hopMs: number,
  clkTck: number,
): LimitsResults {
  if (ran === null) return { skipped: "redis-server is not installed: no local Redis, rate limits off" };
  return ranLimits(runs, ran.setup, ran.sequential, ran.unavailable, hopMs, clkTck);
}

function check(name: string, value: number, limit: number, unit: string, rule: CheckRule): TargetCheck {
  const pass = rule === "at most" ? value <= limit : value >= limit;
  return { name, value, limit, unit, rule, pass };
}

export function limitsChecks(l: LimitsResults): TargetCheck[] {
  if ("skipped" in l) return [];
  return [
    check("throughput, rate limits on / off (non-stream, limits block)", l.throughputRatio, LIMITS.limitsThroughputRatio, "×", "at least"),
    check(
      `one-at-a-time added latency, rate limits on − off (median; limit ${LIMITS.limitsLatencyRoundTrips} × bridge round trip ${l.sequential.bridgeRoundTrip.p50Ms.toFixed(3)} + workerd hop ${l.workerdHopMs.toFixed(3)} + ${LIMITS.limitsLatencySlackMs})`,
      l.sequential.addedMedianMs,
      l.sequentialLimitMs,
      "ms",
      "at most",
    ),
    check("limited requests let through unchecked (a Redis call failed or timed out: fail-open)", l.unavailable, LIMITS.limitsUnavailable, "requests", "at most"),
  ];
}

const pair = (p: PairStats): string => `${p.p50Ms.toFixed(3)} (${p.p90Ms.toFixed(3)})`;

/** The printed part: on vs off under load with the Redis calls and their CPU, then one at a time. */
export function formatLimits(l: LimitsResults): string[] {
  if ("skipped" in l) return [`Rate limits: skipped (${l.skipped})`, ""];
  const { off, on, redis, sequential } = l;
  const row = (label: string, a: string, b: string, ratio: string, delta: string): string[] => [label, a, b, ratio, delta];
  const perReq = (v: number | null, digits: number): string => fmt(v, digits);
  const commandNames = [...new Set([...Object.keys(redis.off.commandsPerRequest), ...Object.keys(redis.on.commandsPerRequest)])].sort();
  return [
    `Rate limits on (a key with {"rpm":${LIMITS_ON.rpm},"tpm":${LIMITS_ON.tpm}}: both rules in one pipelined Redis call before forwarding, token corrections batched per isolate every 50 ms) ` +
      `vs off (a key without limits), non-stream on gateway, same block; Redis = redis-server behind the Upstash REST bridge (${l.bridge}, Node, in the harness's process)`,
    table(
      [
        ["", "off", "on", "on/off", "on − off"],
        row("req/s", fmtInt(off.rps), fmtInt(on.rps), l.throughputRatio.toFixed(3), signed(on.rps - off.rps, 0)),
        row("p50 ms", fmt(off.p50Ms, 2), fmt(on.p50Ms, 2), (on.p50Ms / off.p50Ms).toFixed(3), signed(l.p50DeltaMs, 2)),
        row("p99 ms", fmt(off.p99Ms, 2), fmt(on.p99Ms, 2), (on.p99Ms / off.p99Ms).toFixed(3), signed(l.p99DeltaMs, 2)),
        row("gateway CPU ms/req", fmt(off.cpuMsPerReq, 3), fmt(on.cpuMsPerReq, 3), `${l.cpuRatio.toFixed(2)}×`, signed(l.cpuDeltaMs, 3)),
        row("non-2xx answers", String(off.statusErrors), String(on.statusErrors), "", ""),
        row("HTTP calls to the bridge per request", perReq(redis.off.bridgeHttpCallsPerRequest, 3), perReq(redis.on.bridgeHttpCallsPerRequest, 3), "", ""),
        row("Redis commands per request", perReq(redis.off.redisCommandsPerRequest, 3), perReq(redis.on.redisCommandsPerRequest, 3), "", ""),
        ...commandNames.map((name) =>
          row(`  of which ${name}`, perReq(redis.off.commandsPerRequest[name] ?? 0, 3), perReq(redis.on.commandsPerRequest[name] ?? 0, 3), "", ""),
        ),
        row("bridge process CPU ms/req", perReq(redis.off.bridgeProcessCpuMsPerRequest, 3), perReq(redis.on.bridgeProcessCpuMsPerRequest, 3), "", ""),
        row("redis-server CPU ms/req", perReq(redis.off.redisServerCpuMsPerRequest, 3), perReq(redis.on.redisServerCpuMsPerRequest, 3), "", ""),
      ],
      1,
    ),
    `Per request: calls counted over the requests wrk saw answered; the calls of up to ${redis.on.inFlightAllowance} requests in flight when the on runs stopped ` +
      `are in the counts, so the on key's true figure is between ${redis.on.bridgeHttpCallsPerRequestLow.toFixed(3)} and ${redis.on.bridgeHttpCallsPerRequest.toFixed(3)} HTTP calls ` +
      `(${redis.on.redisCommandsPerRequestLow.toFixed(3)}–${redis.on.redisCommandsPerRequest.toFixed(3)} commands). Bridge CPU = this Node process's, which runs the bridge and otherwise waits for wrk.`,
    `Redis calls that failed or timed out (gateway log, fail-open): ${fmtInt(l.unavailable)}`,
    "",
    `Rate limits one at a time: median (p90) of ${sequential.off.samples} requests per side, keep-alive, alternating blocks`,
    table(
      [
        ["ms", "off", "on", "on − off", "bridge round trip (one command from Node)"],
        ["non-stream latency", pair(sequential.off), pair(sequential.on), signed(sequential.addedMedianMs, 3), pair(sequential.bridgeRoundTrip)],
      ],
      1,
    ),
    "",
  ];
}
