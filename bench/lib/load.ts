/**
 * Load runs: wrk against each slot of a block in alternating order (a, b, c, …, c, b, a),
 * with the target's workerd CPU time read from /proc before and after each counted run.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fmtInt } from "./format.ts";
import { runCommand } from "./processes.ts";
import { BENCH, BenchError, type Settings } from "./settings.ts";
import type { Scenarios } from "./scenarios.ts";
import type { BlockName, LoadAggregate, LoadBlock, LoadRun, LoadSlot, Scenario, ScenarioName, Target, TargetName, WarmupRun } from "./types.ts";

/** The JSON line wrk.lua's done() hook prints. */
interface WrkSummary {
  requests: number;
  duration_us: number;
  bytes: number;
  errors: { connect: number; read: number; write: number; status: number; timeout: number };
  mean_us: number;
  p50_us: number;
  p90_us: number;
  p99_us: number;
  max_us: number;
}

/** utime + stime of a process, in clock ticks. */
export function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // Fields after "(comm)": state is field 3, utime 14, stime 15.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return Number(fields[11]) + Number(fields[12]);
}

async function wrkRun(
  settings: Settings,
  target: Target,
  scenario: Scenario,
  key: string,
  durationS: number,
  connections: number,
): Promise<{ summary: WrkSummary; cpuTicks: number | null }> {
  // wrk sends to the URL's path (wrk.path): the scenario's endpoint.
  const url = `http://127.0.0.1:${target.port}${scenario.path}`;
  const args = [`-t${settings.threads}`, `-c${connections}`, `-d${durationS}s`, "--timeout", "10s"];
  args.push("-s", join(BENCH, "wrk.lua"), url);
  const pid = target.child?.pid;
  const before = pid === undefined ? null : cpuTicks(pid);
  const result = await runCommand(settings.wrk, args, {
    env: { ...process.env, BENCH_BODY_FILE: scenario.bodyFile, BENCH_AUTH: scenario.key ?? key },
    timeoutMs: (durationS + 30) * 1000,
  });
  const after = pid === undefined ? null : cpuTicks(pid);
  const line = result.stdout.split("\n").find((l) => l.startsWith("BENCH_WRK "));
  if (result.code !== 0 || line === undefined) {
    const output = `${result.stdout}${result.stderr}`;
    throw new BenchError(`wrk failed against ${target.name} (exit ${String(result.code)}):\n${output}`);
  }
  const summary = JSON.parse(line.slice("BENCH_WRK ".length)) as WrkSummary;
  if (summary.requests === 0) throw new BenchError(`wrk completed no request against ${target.name}:\n${result.stdout}`);
  return { summary, cpuTicks: before === null || after === null ? null : after - before };
}

/** a, b, c, c, b, a: a drift that is linear in time weighs the same on every target. */
export function alternating<T>(items: readonly T[], rounds: number): T[] {
  const order: T[] = [];
  for (let r = 0; r < rounds; r++) order.push(...items, ...[...items].reverse());
  return order;
}

/**
 * The blocks, in the order they run. non-stream and stream-20: gateway, bare,
 * upstream with that scenario's request. gateway-streams: the gateway's pass-through
 * stream-20, each gateway-only stream, the bare Worker's stream-20 (the upstream is
 * left out: it does not speak the requests the gateway receives, and its CPU is not
 * measured). One block rather than one per stream: every stream is compared with
 * the same baseline runs, and the baselines run once instead of once per stream.
 * health: non-stream through a one-target alias (only route targets are reported)
 * on the gateway (route health on, as deployed) and on the same bundle without
 * the ROUTE_HEALTH binding (`noHealth`). Then `extra` (the limits, budgets and hot-ledger blocks).
 */
export function loadBlocks(targets: Target[], scenarios: Scenarios, noHealth: Target, noLog: Target, extra: LoadBlock[] = []): LoadBlock[] {
  const blocks: LoadBlock[] = scenarios.compared.map((scenario) => ({
    name: scenario.name,
    slots: targets.map((target) => ({ target, scenario })),
  }));
  const gateway = targets.find((t) => t.name === "gateway");
  const bare = targets.find((t) => t.name === "bare");
  if (gateway === undefined || bare === undefined) throw new BenchError("the gateway and bare targets are required");
  blocks.push({
    name: "gateway-streams",
    slots: [
      { target: gateway, scenario: scenarios.passThrough },
      ...scenarios.gatewayStreams.map((scenario) => ({ target: gateway, scenario })),
      { target: bare, scenario: scenarios.passThrough },
    ],
  });
  blocks.push({
    name: "health",
    slots: [
      { target: gateway, scenario: scenarios.routed },
      { target: noHealth, scenario: scenarios.routed },
    ],
  });
  // The request log on (noHealth, with LOG_QUEUE) and off (the same bundle and bindings without it).
  const nonStream = scenarios.compared.find((s) => s.name === "non-stream");
  if (nonStream === undefined) throw new BenchError("the non-stream scenario is required");
  blocks.push({ name: "logging", slots: [{ target: noHealth, scenario: nonStream }, { target: noLog, scenario: nonStream }] });
  return [...blocks, ...extra];
}

/** "gateway", or "gateway (stream-20)" for a slot whose request is not named after its block. */
export function slotLabel(block: LoadBlock["name"], target: Target["name"], scenario: Scenario["name"]): string {
  return scenario === block ? target : `${target} (${scenario})`;
}

/**
 * A warm-up per target and request (at the connections of the first block that has it),
 * then the counted runs of each block, printed as they finish.
 */
export async function loadRuns(settings: Settings, blocks: LoadBlock[], key: string): Promise<{ runs: LoadRun[]; warmups: WarmupRun[] }> {
  console.log(`\nwarm-up: ${settings.warmupS} s per target and request`);
  const warmed = new Set<string>();
  const warmups: WarmupRun[] = [];
  for (const block of blocks) {
    const connections = block.connections ?? settings.connections;
    for (const { target, scenario } of block.slots) {
      const id = `${target.name} ${scenario.name}`;
      if (warmed.has(id)) continue;
      warmed.add(id);
      const { summary } = await wrkRun(settings, target, scenario, key, settings.warmupS, connections);
      warmups.push({ scenario: scenario.name, target: target.name, requests: summary.requests, statusErrors: summary.errors.status, connections });
    }
  }
  const runs: LoadRun[] = [];
  const sequences = blocks.map((block): [LoadBlock, LoadSlot[]] => [block, alternating(block.slots, settings.rounds)]);
  const total = sequences.reduce((n, [, sequence]) => n + sequence.length, 0);
  const blockWidth = Math.max(...blocks.map((b) => b.name.length));
  const labels = blocks.flatMap((b) => b.slots.map((s) => slotLabel(b.name, s.target.name, s.scenario.name)));
  const labelWidth = Math.max(...labels.map((l) => l.length));
  console.log(`load: wrk -t${settings.threads} -c${settings.connections} -d${settings.durationS}s, in order`);
  for (const [block, sequence] of sequences) {
    const connections = block.connections === undefined ? "" : ` (wrk -c${block.connections})`;
    console.log(`  ${block.name}${connections}: ${sequence.map((s) => slotLabel(block.name, s.target.name, s.scenario.name)).join(", ")}`);
  }
  for (const [block, sequence] of sequences) {
    const connections = block.connections ?? settings.connections;
    for (const [index, { target, scenario }] of sequence.entries()) {
      const stopObserving = block.observer?.start();
      const { summary, cpuTicks: ticks } = await wrkRun(settings, target, scenario, key, settings.durationS, connections);
      const observed = stopObserving === undefined ? undefined : await stopObserving();
      const durationS = summary.duration_us / 1e6;
      const errors = Object.values(summary.errors).reduce((a, b) => a + b, 0);
      const run: LoadRun = {
        block: block.name,
        scenario: scenario.name,
        target: target.name,
        order: index + 1,
        requests: summary.requests,
        durationS,
        rps: summary.requests / durationS,
        p50Ms: summary.p50_us / 1000,
        p99Ms: summary.p99_us / 1000,
        cpuMsPerReq: ticks === null ? null : ((ticks / settings.clkTck) * 1000) / summary.requests,
        cpuTicks: ticks,
        connections,
        errors,
        statusErrors: summary.errors.status,
        ...(observed === undefined ? {} : { observed }),
      };
      runs.push(run);
      const cpu = run.cpuMsPerReq === null ? "" : `, CPU ${run.cpuMsPerReq.toFixed(3)} ms/req (${ticks} ticks)`;
      const warn = errors > 0 ? `  WARNING: ${errors} errors ${JSON.stringify(summary.errors)}` : "";
      const label = slotLabel(block.name, target.name, scenario.name);
      console.log(
        `  [${String(runs.length).padStart(String(total).length)}/${total}] ` +
          `${block.name.padEnd(blockWidth)} ${label.padEnd(labelWidth)} ` +
          `${fmtInt(run.rps)} req/s, p50 ${run.p50Ms.toFixed(2)} ms, p99 ${run.p99Ms.toFixed(2)} ms` +
          `${cpu}, ${fmtInt(summary.requests)} requests${warn}`,
      );
    }
  }
  return { runs, warmups };
}

/** Mean of a target's runs in one scenario; CPU also as min and max across the runs. */
export function aggregate(runs: LoadRun[]): LoadAggregate {
  const mean = (values: number[]): number => values.reduce((a, b) => a + b, 0) / values.length;
  const cpu = runs.map((r) => r.cpuMsPerReq).filter((v): v is number => v !== null);
  return {
    runs: runs.length,
    rps: mean(runs.map((r) => r.rps)),
    p50Ms: mean(runs.map((r) => r.p50Ms)),
    p99Ms: mean(runs.map((r) => r.p99Ms)),
    cpuMsPerReq: cpu.length === 0 ? null : mean(cpu),
    cpuMsPerReqMin: cpu.length === 0 ? null : Math.min(...cpu),
    cpuMsPerReqMax: cpu.length === 0 ? null : Math.max(...cpu),
  };
}

/** Mean of the runs counted in `block` that sent `scenario` to `target`. */
export function aggregateOf(runs: LoadRun[], block: BlockName, scenario: ScenarioName, target: TargetName): LoadAggregate {
  return aggregate(runs.filter((r) => r.block === block && r.scenario === scenario && r.target === target));
}
