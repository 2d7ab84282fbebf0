/** The shapes shared between the benchmark's steps (and written to bench/out/results.json). */
import type { ChildProcess } from "node:child_process";

export type TargetName = "gateway" | "bare" | "upstream";
export type ScenarioName = "non-stream" | "stream-20";

export interface Target {
  name: TargetName;
  port: number;
  /** The workerd process whose CPU time is charged to this target; null for the upstream. */
  child: ChildProcess | null;
}

export interface Scenario {
  name: ScenarioName;
  stream: boolean;
  body: string;
  /** The body on disk, for wrk.lua. */
  bodyFile: string;
}

export interface LoadRun {
  scenario: ScenarioName;
  target: TargetName;
  /** Position in the scenario's alternating sequence, from 1. */
  order: number;
  requests: number;
  durationS: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  cpuMsPerReq: number | null;
  cpuTicks: number | null;
  errors: number;
}

export interface LoadAggregate {
  runs: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  cpuMsPerReq: number | null;
  cpuMsPerReqMin: number | null;
  cpuMsPerReqMax: number | null;
}

export interface SequentialStats {
  samples: number;
  medianMs: number;
  p90Ms: number;
}

export interface SequentialResult {
  /** Non-streamed: request sent to response complete. */
  latency: Record<TargetName, SequentialStats>;
  /** Streamed: request sent to the first body chunk holding `data:`. */
  firstEvent: Record<TargetName, SequentialStats>;
  /** Streamed: request sent to the end of the stream. */
  streamComplete: Record<TargetName, SequentialStats>;
}

export interface TargetCheck {
  name: string;
  value: number;
  limit: number;
  unit: string;
  pass: boolean;
}
