/**
 * The results: aggregates per target, gateway-vs-bare comparison, the gateway-only
 * streams against the pass-through one, PASS/MISS against the targets,
 * bench/out/results.json, and the table printed at the end of a run.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join, relative } from "node:path";
import type { BundleInfo } from "./bundle.ts";
import { budgetChecks, formatBudgets, type BudgetResults } from "./budgets-report.ts";
import { fmt, fmtInt, signed, table } from "./format.ts";
import { formatLimits, limitsChecks, type LimitsResults } from "./limits-report.ts";
import { aggregateOf, slotLabel } from "./load.ts";
import type { Scenarios } from "./scenarios.ts";
import { HANG_TTFB_TIMEOUT_MS, LIMITS, LOGS, OUT, ROOT, STREAM_EVENTS, type Settings } from "./settings.ts";
import type {
  BlockName,
  CheckRule,
  ComparedScenarioName,
  ComparedTargetName,
  FailoverResult,
  GatewayStreamScenarioName,
  LoadAggregate,
  LoadRun,
  ScenarioName,
  SequentialResult,
  SequentialStats,
  Target,
  TargetCheck,
  TargetName,
} from "./types.ts";
import type { WranglerSettings } from "./workerd-config.ts";

/** What the run knows besides its measurements. */
export interface RunInfo {
  settings: Settings;
  wrangler: WranglerSettings;
  workerdVersion: string;
  wrkVersion: string;
  bundle: BundleInfo;
  /** The printable prefix of the gateway key the requests carried. */
  gatewayKey: string;
  /** The gateway's request-log lines (console.log, one JSON line per request) in its log file. */
  requestLogLines: number;
}

type Comparison = Record<ComparedScenarioName, { throughputRatio: number; cpuDeltaMs: number; cpuRatio: number }>;

/** Lines of the gateway's request log (`{"msg":"request",…}`) in its workerd output. */
export function countRequestLogLines(logPath: string): number {
  let count = 0;
  for (const line of readFileSync(logPath, "utf8").split("\n")) if (line.includes('"msg":"request"')) count++;
  return count;
}

function check(name: string, value: number, limit: number, unit: string, rule: CheckRule = "at most"): TargetCheck {
  const pass = rule === "at most" ? value <= limit : rule === "at least" ? value >= limit : Math.abs(value) <= limit;
  return { name, value, limit, unit, rule, pass };
}

/** What each gateway-only stream measures, for the printed report. */
const STREAM_KINDS: Record<GatewayStreamScenarioName, string> = {
  "stream-20-anthropic": "chat/completions ← Anthropic, translated",
  "messages-stream-20": "/v1/messages ← OpenAI, translated",
  "messages-native-stream-20": "/v1/messages ← Anthropic, relayed",
  "responses-stream-20": "/v1/responses ← DeepSeek chat chunks, translated",
  "responses-native-stream-20": "/v1/responses ← OpenAI, relayed",
};

/**
 * The gateway-only streams against the runs alternated with them in their block:
 * the gateway's pass-through stream-20 and the bare Worker's stream-20.
 */
function gatewayStreamsComparison(runs: LoadRun[], scenarios: Scenarios) {
  const block: BlockName = "gateway-streams";
  const baseline = scenarios.passThrough.name;
  const gatewayPassThrough = aggregateOf(runs, block, baseline, "gateway");
  const bare = aggregateOf(runs, block, baseline, "bare");
  const cpu = (a: LoadAggregate): number => a.cpuMsPerReq ?? NaN;
  const streams = scenarios.gatewayStreams.map(({ name }) => {
    const load = aggregateOf(runs, block, name, "gateway");
    return {
      scenario: name,
      load,
      cpuAddedVsPassThroughMs: cpu(load) - cpu(gatewayPassThrough),
      cpuAddedVsBareMs: cpu(load) - cpu(bare),
      throughputRatioVsPassThrough: load.rps / gatewayPassThrough.rps,
      throughputRatioVsBare: load.rps / bare.rps,
    };
  });
  /** baseline: the request of gatewayPassThrough and bare. */
  return { block, baseline, gatewayPassThrough, bare, streams };
}

/** The health block: non-stream on the gateway with route health on, and on the same bundle without it. */
function healthComparison(runs: LoadRun[], scenarios: Scenarios) {
  const block: BlockName = "health";
  const scenario = scenarios.routed.name;
  const on = aggregateOf(runs, block, scenario, "gateway");
  const off = aggregateOf(runs, block, scenario, "gateway-no-health");
  const onCpu = on.cpuMsPerReq ?? NaN;
  const offCpu = off.cpuMsPerReq ?? NaN;
  return {
    block,
    scenario,
    on,
    off,
    throughputRatio: on.rps / off.rps,
    cpuDeltaMs: onCpu - offCpu,
    cpuRatio: onCpu / offCpu,
  };
}

function failoverChecks(failover: FailoverResult[]): TargetCheck[] {
  const checks: TargetCheck[] = [];
  for (const f of failover) {
    if (f.scenario === "failover-503") {
      checks.push(check("failover-503 added latency (p50, via alias − secondary alone)", f.addedP50Ms, LIMITS.failover503AddedMs, "ms"));
    } else if (f.scenario === "failover-hang") {
      const excess = f.viaAlias.p50Ms - HANG_TTFB_TIMEOUT_MS - f.secondaryAlone.p50Ms;
      const name = `failover-hang time to answer beyond ttfbTimeoutMs ${HANG_TTFB_TIMEOUT_MS} + secondary alone (p50)`;
      checks.push(check(name, excess, LIMITS.failoverHangSlackMs, "ms"));
    } else {
      const name = "breaker-open added latency (p50, via alias − secondary alone), within the secondary's block-to-block spread";
      checks.push(check(name, f.addedP50Ms, f.secondarySpreadMs, "ms", "within ±"));
    }
  }
  return checks;
}

export function buildResults(
  info: RunInfo,
  scenarios: Scenarios,
  runs: LoadRun[],
  sequential: SequentialResult,
  failover: FailoverResult[],
  budgetResults: BudgetResults,
  limits: LimitsResults,
) {
  const { settings, wrangler, bundle } = info;
  const load = {} as Record<ComparedScenarioName, Record<ComparedTargetName, LoadAggregate>>;
  const comparison = {} as Comparison;
  const health = healthComparison(runs, scenarios);
  const streams = gatewayStreamsComparison(runs, scenarios);
  const streamCpu = (name: string): number => streams.streams.find((st) => st.scenario === name)?.load.cpuMsPerReq ?? NaN;
  for (const scenario of scenarios.compared) {
    const of = (t: ComparedTargetName): LoadAggregate => aggregateOf(runs, scenario.name, scenario.name, t);
    const g = of("gateway");
    const b = of("bare");
    load[scenario.name] = { gateway: g, bare: b, upstream: of("upstream") };
    const gCpu = g.cpuMsPerReq ?? NaN;
    const bCpu = b.cpuMsPerReq ?? NaN;
    comparison[scenario.name] = { throughputRatio: g.rps / b.rps, cpuDeltaMs: gCpu - bCpu, cpuRatio: gCpu / bCpu };
  }
  const addedLatency = sequential.latency.gateway.medianMs - sequential.latency.bare.medianMs;
  const addedFirstEvent = sequential.firstEvent.gateway.medianMs - sequential.firstEvent.bare.medianMs;
  const checks: TargetCheck[] = [
    check("CPU per request, non-streamed (gateway − bare)", comparison["non-stream"].cpuDeltaMs, LIMITS.cpuNonStreamMs, "ms"),
    check(
      `CPU per request, ${STREAM_EVENTS}-event stream (gateway − bare)`,
      comparison["stream-20"].cpuDeltaMs,
      LIMITS.cpuStreamMs,
      "ms",
    ),
    check("one-at-a-time added latency (median, gateway − bare)", addedLatency, LIMITS.sequentialAddedMs, "ms"),
    check("time to first streamed event added (median, gateway − bare)", addedFirstEvent, LIMITS.firstEventAddedMs, "ms"),
    check("bundle size, gzipped", bundle.gzipBytes, LIMITS.bundleGzipBytes, "bytes"),
    check(
      "throughput, route health on / off (non-stream through an alias, health block)",
      health.throughputRatio,
      LIMITS.healthThroughputRatio,
      "×",
      "at least",
    ),
    check(
      "CPU per request, /v1/responses translated − /v1/messages translated (20-event streams from chat chunks)",
      streamCpu("responses-stream-20") - streamCpu("messages-stream-20"),
      LIMITS.responsesOverMessagesCpuMs,
      "ms",
    ),
    ...failoverChecks(failover),
    ...limitsChecks(limits),
    ...budgetChecks(budgetResults),
  ];
  return {
    meta: {
      date: new Date().toISOString(),
      workerd: info.workerdVersion,
      wrk: info.wrkVersion,
      node: process.version,
      cpus: availableParallelism(),
      clkTck: settings.clkTck,
      compatibilityDate: wrangler.compatibilityDate,
      compatibilityFlags: wrangler.compatibilityFlags,
      durationS: settings.durationS,
      warmupS: settings.warmupS,
      connections: settings.connections,
      threads: settings.threads,
      rounds: settings.rounds,
      sequentialPerTarget: settings.sequential,
      streamEvents: STREAM_EVENTS,
      gatewayKey: info.gatewayKey,
      requestLogLines: info.requestLogLines,
    },
    bundle: {
      main: bundle.main,
      modules: bundle.modules.map((m) => m.name),
      rawBytes: bundle.rawBytes,
      gzipBytes: bundle.gzipBytes,
    },
    runs,
    load,
    comparison,
    gatewayStreams: streams,
    health,
    limits,
    ...budgetResults,
    sequential,
    failover,
    added: { latencyMs: addedLatency, firstEventMs: addedFirstEvent },
    targets: checks,
  };
}

export type Results = ReturnType<typeof buildResults>;

/** Writes bench/out/results.json; returns its path relative to the repo. */
export function writeResults(results: Results & Record<string, unknown>): string {
  const path = join(OUT, "results.json");
  writeFileSync(path, JSON.stringify(results, null, 2) + "\n");
  return relative(ROOT, path);
}

function header(results: Results, info: RunInfo, runsPerTarget: number): string[] {
  const { settings, wrangler } = info;
  const flags = wrangler.compatibilityFlags.length > 0 ? ` [${wrangler.compatibilityFlags.join(", ")}]` : "";
  return [
    "",
    `Switchyard benchmark  ${results.meta.date}`,
    `${info.workerdVersion}, compatibility_date ${wrangler.compatibilityDate}${flags}, ` +
      `${info.wrkVersion.split(" ").slice(0, 2).join(" ")}, node ${process.version}, ${availableParallelism()} CPUs`,
    `Gateway as deployed: real gateway key ${info.gatewayKey} (POST /admin/keys; looked up on every request, isolate-cached as in production)`,
    `Request log on (the default): one JSON line per request via console.log, ` +
      `${fmtInt(info.requestLogLines)} lines in ${relative(ROOT, LOGS)}/workerd-gateway.log`,
    "",
    `Load: wrk -t${settings.threads} -c${settings.connections}, ${settings.durationS} s runs, ` +
      `mean of ${runsPerTarget} alternated runs per target (CPU = workerd utime+stime per completed request)`,
  ];
}

/** A check's figure and its limit, as printed. */
function checkValue(c: TargetCheck): string {
  if (c.unit === "bytes") return `${(c.value / 1024).toFixed(1)} KiB (limit ${(c.limit / 1024).toFixed(0)} KiB = ${fmtInt(c.limit)} bytes)`;
  if (c.unit === "×") return `${c.value.toFixed(3)} (limit ≥ ${c.limit})`;
  if (c.unit === "requests") return `${fmtInt(c.value)} (limit ${c.limit})`;
  if (c.unit === "calls") return `${c.value.toFixed(4)} per request (limit ${c.limit})`;
  if (c.rule === "within ±") return `${signed(c.value, 3)} ms (limit ±${c.limit.toFixed(3)} ms)`;
  return `${signed(c.value, 3)} ms (limit +${c.limit} ms)`;
}

/** The printed report: load table, gateway vs bare, one at a time, bundle, PASS/MISS. */
export function formatReport(
  results: Results,
  info: RunInfo,
  targets: Array<Target<ComparedTargetName>>,
  scenarios: Scenarios,
  resultsPath: string,
): string {
  const { settings } = info;
  const { load, comparison, gatewayStreams, health, limits, budgets, hotLedger, sequential, failover, bundle } = results;
  const lines = header(results, info, settings.rounds * 2);

  const loadRows: string[][] = [["scenario", "target", "req/s", "p50 ms", "p99 ms", "CPU ms/req", "CPU min–max"]];
  const loadRow = (scenarioLabel: string, targetLabel: string, a: LoadAggregate): string[] => {
    const range =
      a.cpuMsPerReqMin === null || a.cpuMsPerReqMax === null
        ? "—"
        : `${a.cpuMsPerReqMin.toFixed(3)}–${a.cpuMsPerReqMax.toFixed(3)}`;
    return [scenarioLabel, targetLabel, fmtInt(a.rps), fmt(a.p50Ms, 2), fmt(a.p99Ms, 2), fmt(a.cpuMsPerReq, 3), range];
  };
  for (const scenario of scenarios.compared) {
    for (const target of targets) {
      loadRows.push(loadRow(target === targets[0] ? scenario.name : "", target.name, load[scenario.name][target.name]));
    }
  }
  const { block, baseline } = gatewayStreams;
  loadRows.push(loadRow(block, slotLabel(block, "gateway", baseline), gatewayStreams.gatewayPassThrough));
  for (const s of gatewayStreams.streams) loadRows.push(loadRow("", slotLabel(block, "gateway", s.scenario), s.load));
  loadRows.push(loadRow("", slotLabel(block, "bare", baseline), gatewayStreams.bare));
  loadRows.push(loadRow(health.block, slotLabel(health.block, "gateway", health.scenario), health.on));
  loadRows.push(loadRow("", slotLabel(health.block, "gateway-no-health", health.scenario), health.off));
  if (!("skipped" in limits)) {
    loadRows.push(loadRow(limits.block, slotLabel(limits.block, "gateway", "non-stream-limits-off"), limits.off));
    loadRows.push(loadRow("", slotLabel(limits.block, "gateway", "non-stream-limits-on"), limits.on));
  }
  loadRows.push(loadRow(budgets.block, slotLabel(budgets.block, "gateway", "non-stream-budget-off"), budgets.off));
  loadRows.push(loadRow("", slotLabel(budgets.block, "gateway", "non-stream-budget-on"), budgets.on));
  const hot = `${hotLedger.block} (-c${hotLedger.connections})`;
  loadRows.push(loadRow(hot, slotLabel(hotLedger.block, "gateway", "non-stream-budget-on"), hotLedger.gateway));
  loadRows.push(loadRow("", slotLabel(hotLedger.block, "ledger-driver", "reserve-settle"), hotLedger.driver));
  lines.push(table(loadRows, 2), "");

  lines.push("Gateway vs bare pass-through worker");
  const cmpRows: string[][] = [["", ...scenarios.compared.map((s) => s.name)]];
  const perScenario = (cell: (c: Comparison[ComparedScenarioName]) => string): string[] =>
    scenarios.compared.map((s) => cell(comparison[s.name]));
  cmpRows.push(["throughput ratio (gateway/bare)", ...perScenario((c) => c.throughputRatio.toFixed(2))]);
  cmpRows.push(["CPU ms/req added (gateway − bare)", ...perScenario((c) => signed(c.cpuDeltaMs, 3))]);
  cmpRows.push(["CPU ratio (gateway/bare)", ...perScenario((c) => `${c.cpuRatio.toFixed(2)}×`)]);
  lines.push(table(cmpRows, 1), "");

  lines.push(`Gateway-only streams vs ${baseline} in the same block (the gateway's pass-through relay, and bare)`);
  const streamRows: string[][] = [
    ["", "what", "CPU ms/req", "added vs pass-through", "added vs bare", "req/s ratio vs pass-through", "vs bare"],
  ];
  for (const s of gatewayStreams.streams) {
    streamRows.push([
      s.scenario,
      STREAM_KINDS[s.scenario],
      fmt(s.load.cpuMsPerReq, 3),
      signed(s.cpuAddedVsPassThroughMs, 3),
      signed(s.cpuAddedVsBareMs, 3),
      s.throughputRatioVsPassThrough.toFixed(2),
      s.throughputRatioVsBare.toFixed(2),
    ]);
  }
  lines.push(table(streamRows, 2), "");

  lines.push(`Route health on (gateway) vs off (gateway-no-health), ${health.scenario}, same block`);
  lines.push(
    table(
      [
        ["throughput ratio (on/off)", health.throughputRatio.toFixed(3)],
        ["CPU ms/req on", fmt(health.on.cpuMsPerReq, 3)],
        ["CPU ms/req off", fmt(health.off.cpuMsPerReq, 3)],
        ["CPU ms/req added (on − off)", signed(health.cpuDeltaMs, 3)],
        ["CPU ratio (on/off)", `${health.cpuRatio.toFixed(2)}×`],
      ],
      1,
    ),
    "",
  );

  lines.push(...formatLimits(limits));
  lines.push(...formatBudgets(results));

  lines.push(`Failover: alias (failing primary, then openai/mock-model) vs openai/mock-model alone, one at a time, alternating blocks`);
  const failRows: string[][] = [
    ["scenario", "gateway", "n", "via alias p50 (p99)", "alone p50 (p99)", "added p50", "added p99", "alone block medians", "unexpected"],
  ];
  for (const f of failover) {
    const pair = (p: (typeof f)["viaAlias"]): string => `${p.p50Ms.toFixed(3)} (${p.p99Ms.toFixed(3)})`;
    const medians = f.secondaryAlone.blockMediansMs;
    failRows.push([
      f.scenario,
      f.target,
      String(f.viaAlias.samples),
      pair(f.viaAlias),
      pair(f.secondaryAlone),
      signed(f.addedP50Ms, 3),
      signed(f.addedP99Ms, 3),
      `${Math.min(...medians).toFixed(3)}–${Math.max(...medians).toFixed(3)}`,
      String(f.unexpected),
    ]);
  }
  lines.push(table(failRows, 2), "");

  lines.push(`One at a time: median (p90) of ${settings.sequential} requests per target, keep-alive, alternating blocks`);
  const seqRows: string[][] = [["ms", "gateway", "bare", "upstream", "gateway − bare"]];
  const seqRow = (label: string, s: Record<ComparedTargetName, SequentialStats>): string[] => [
    label,
    ...(["gateway", "bare", "upstream"] as const).map((t) => `${s[t].medianMs.toFixed(3)} (${s[t].p90Ms.toFixed(3)})`),
    signed(s.gateway.medianMs - s.bare.medianMs, 3),
  ];
  seqRows.push(seqRow("non-stream latency", sequential.latency));
  seqRows.push(seqRow("stream-20 first event", sequential.firstEvent));
  seqRows.push(seqRow("stream-20 complete", sequential.streamComplete));
  lines.push(table(seqRows, 1), "");

  const extra = bundle.modules.length > 1 ? ` (+${bundle.modules.length - 1} modules)` : "";
  lines.push(
    `Bundle: ${bundle.main}${extra}: ${fmtInt(bundle.rawBytes)} bytes raw, ${fmtInt(bundle.gzipBytes)} bytes gzip -9 ` +
      `(${(bundle.gzipBytes / 1024).toFixed(1)} KiB)`,
    "",
    "Targets",
  );
  for (const c of results.targets) lines.push(`  ${c.pass ? "PASS" : "MISS"}  ${c.name}: ${checkValue(c)}`);
  const errorRuns = results.runs.filter((r) => r.errors > 0);
  if (errorRuns.length > 0) {
    lines.push("", `WARNING: ${errorRuns.length} load runs had errors (see results.json); their figures are suspect.`);
  }
  lines.push("", `results: ${resultsPath}, logs: ${relative(ROOT, LOGS)}/`);
  return lines.join("\n");
}
