/**
 * The logging block (issue 13): the same gateway (route health off) with the
 * request log's queue producer on and off, alternated, non-stream. Its figures
 * for results.json, its PASS/MISS line, and its part of the printed report.
 */
import { measured, onOff } from "./budgets-report.ts";
import { fmt, signed, table } from "./format.ts";
import { LIMITS } from "./settings.ts";
import type { LoadRun, TargetCheck } from "./types.ts";

export function loggingResults(runs: LoadRun[], sink: { calls: number; messages: number }) {
  const mine = runs.filter((r) => r.block === "logging");
  const onRequests = mine.filter((r) => r.target === "gateway-no-health").reduce((n, r) => n + r.requests, 0);
  const onServed = mine.filter((r) => r.target === "gateway-no-health").reduce((n, r) => n + r.requests + r.connections, 0);
  return {
    block: "logging" as const,
    ...onOff(measured(runs, "logging", "non-stream", "gateway-no-log"), measured(runs, "logging", "non-stream", "gateway-no-health")),
    /** Queue calls and records the sink took in the whole run (both gateways log; warm-ups and smoke tests included). */
    queueCalls: sink.calls,
    queueMessages: sink.messages,
    onRequests,
    /** At most one send per request: the sink's count is within the on side's requests, warm-ups and in-flight ones. */
    onServedAllowance: onServed,
  };
}

export type LoggingResults = ReturnType<typeof loggingResults>;

export function loggingChecks(r: LoggingResults): TargetCheck[] {
  const name = "throughput, request log on / off (non-stream, logging block)";
  const limit = LIMITS.loggingThroughputRatio;
  return [{ name, value: r.throughputRatio, limit, unit: "×", rule: "at least", pass: r.throughputRatio >= limit }];
}

export function loggingReport(r: LoggingResults): string {
  return [
    "Request log on (gateway-no-health, LOG_QUEUE) vs off (gateway-no-log), non-stream, same block",
    table([
      ["throughput ratio (on/off)", r.throughputRatio.toFixed(3)],
      ["CPU ms/req on", fmt(r.on.cpuMsPerReq, 3)],
      ["CPU ms/req off", fmt(r.off.cpuMsPerReq, 3)],
      ["CPU ms/req added (on − off)", signed(r.cpuDeltaMs, 3)],
      ["p50 ms added (on − off)", signed(r.p50DeltaMs, 3)],
      ["queue calls / records (whole run)", `${r.queueCalls} / ${r.queueMessages} (${(r.queueMessages / Math.max(1, r.queueCalls)).toFixed(1)} records a call)`],
    ], 1),
  ].join("\n");
}
