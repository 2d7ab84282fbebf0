/** The shapes shared between the benchmark's steps (and written to bench/out/results.json). */
import type { ChildProcess } from "node:child_process";

/** The targets every compared request goes to: the gateway as deployed (route health on), the bare Worker, the mock. */
export type ComparedTargetName = "gateway" | "bare" | "upstream";
/**
 * `gateway-no-health`: the same bundle without the ROUTE_HEALTH binding (health off,
 * the core gateway): the baseline of the health block, and where failover is timed.
 */
export type TargetName = ComparedTargetName | "gateway-no-health" | "gateway-no-log" | "ledger-driver" | "log-sink";
/** The requests every target answers: gateway vs bare vs upstream. */
export type ComparedScenarioName = "non-stream" | "stream-20";
/**
 * The gateway only, each against stream-20 on the gateway and on bare in the same block:
 * an Anthropic stream translated to OpenAI chunks (stream-20-anthropic), and on
 * POST /v1/messages an OpenAI stream translated to Anthropic events
 * (messages-stream-20) and an Anthropic stream relayed (messages-native-stream-20).
 */
export type GatewayStreamScenarioName = "stream-20-anthropic" | "messages-stream-20" | "messages-native-stream-20" | "responses-stream-20" | "responses-native-stream-20";
/** The health block's request: through an alias, since only route targets are reported to route health. */
export type HealthScenarioName = "non-stream-routed";
/**
 * The budgets block's requests: non-stream with a key whose scope has no budget (off) and with
 * one whose `key:<id>` has a hard budget (on: every request reserves, then settles). The
 * ledger driver's request is `reserve-settle`.
 */
export type BudgetScenarioName = "non-stream-budget-off" | "non-stream-budget-on";
/**
 * The limits block's requests: non-stream with a key without rate limits (off) and with one
 * whose request and token limits are far above what the run sends (on: every request is
 * counted in Redis before it is forwarded, and its token window corrected after).
 */
export type LimitsScenarioName = "non-stream-limits-off" | "non-stream-limits-on";
export type ScenarioName =
  | ComparedScenarioName
  | GatewayStreamScenarioName
  | HealthScenarioName
  | BudgetScenarioName
  | LimitsScenarioName
  | "reserve-settle";
/**
 * A block is named after its scenario, or "gateway-streams" for the gateway-only streams and
 * their baselines, or "health" for non-stream on the gateway with route health on and off,
 * or "budgets" for non-stream with budgets off and on, or "hot-ledger" for one key's ledger
 * driven with more connections, through the gateway and by the ledger driver alone, or
 * "limits" for non-stream with rate limits off and on.
 */
export type BlockName = ComparedScenarioName | "gateway-streams" | "health" | "budgets" | "hot-ledger" | "limits" | "logging";

export interface Target<N extends TargetName = TargetName> {
  name: N;
  port: number;
  /** The workerd process whose CPU time is charged to this target; null for the upstream. */
  child: ChildProcess | null;
}

export interface Scenario<N extends ScenarioName = ScenarioName> {
  name: N;
  /** The endpoint it is POSTed to: /v1/chat/completions or /v1/messages. */
  path: string;
  stream: boolean;
  body: string;
  /** The body on disk, for wrk.lua. */
  bodyFile: string;
  /** The gateway key it is sent with; the run's key when absent. */
  key?: string;
}

/** One target answering one scenario's request: what a load run drives. */
export interface LoadSlot {
  target: Target;
  scenario: Scenario;
}

/**
 * Load runs whose slots alternate with one another (a, b, c, …, c, b, a), so they can be
 * compared. For the compared scenarios every slot uses that scenario's request; the
 * gateway-streams block holds each gateway-only stream and stream-20 on the gateway
 * and on the bare Worker.
 */
export interface LoadBlock {
  name: BlockName;
  slots: LoadSlot[];
  /** wrk connections for this block's runs (warm-ups included); BENCH_CONNECTIONS when absent. */
  connections?: number;
  /** What else is measured around each counted run (the limits block: the Redis bridge's counters and CPU). */
  observer?: RunObserver;
}

/**
 * Figures taken around a counted run besides wrk's and the target's CPU. `start` is called
 * right before the run; the function it returns, once wrk has exited and the target's CPU
 * has been read, and gives the run's figures (differences over the run), by name.
 */
export interface RunObserver {
  start(): () => Promise<Record<string, number>>;
}

export interface LoadRun {
  /** The block the run was counted in (see LoadBlock). */
  block: BlockName;
  /** The request the run sent. */
  scenario: ScenarioName;
  target: TargetName;
  /** Position in the block's alternating sequence, from 1. */
  order: number;
  requests: number;
  durationS: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  cpuMsPerReq: number | null;
  cpuTicks: number | null;
  /** wrk connections of the run. */
  connections: number;
  /** Every wrk error: connect, read, write, timeout and status (non-2xx/3xx answers). */
  errors: number;
  /** Answers with a status other than 2xx/3xx (wrk's status errors). */
  statusErrors: number;
  /** The block's observer's figures for this run (see RunObserver), when it has one. */
  observed?: Record<string, number>;
}

/** An uncounted warm-up run: only its completed requests are kept (the ledger check counts them). */
export interface WarmupRun {
  scenario: ScenarioName;
  target: TargetName;
  requests: number;
  statusErrors: number;
  connections: number;
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
  latency: Record<ComparedTargetName, SequentialStats>;
  /** Streamed: request sent to the first body chunk holding `data:`. */
  firstEvent: Record<ComparedTargetName, SequentialStats>;
  /** Streamed: request sent to the end of the stream. */
  streamComplete: Record<ComparedTargetName, SequentialStats>;
}

/** One side of a failover comparison, timed one request at a time. */
export interface PairStats {
  samples: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  /** The median of each alternated block: how much the figure moves from block to block. */
  blockMediansMs: number[];
}

export type FailoverScenarioName = "failover-503" | "failover-hang" | "breaker-open";

/** A request through an alias with a failing primary, alternated with the secondary called directly. */
export interface FailoverResult {
  scenario: FailoverScenarioName;
  /** The gateway process it ran on. */
  target: TargetName;
  /** The alias request. */
  viaAlias: PairStats;
  /** The secondary alone (`provider/model`), on the same gateway, alternated with it. */
  secondaryAlone: PairStats;
  /** viaAlias.p50Ms − secondaryAlone.p50Ms. */
  addedP50Ms: number;
  addedP99Ms: number;
  /** Max − min of secondaryAlone's block medians: the run-to-run spread of the baseline. */
  secondarySpreadMs: number;
  /** Alias answers that did not go the expected way (breaker-open: a half-open probe that fell back). */
  unexpected: number;
}

/** How a figure is held against its limit. */
export type CheckRule = "at most" | "at least" | "within ±";

export interface TargetCheck {
  name: string;
  value: number;
  limit: number;
  unit: string;
  rule: CheckRule;
  pass: boolean;
}
