/**
 * The failover scenarios: an alias whose primary target fails and whose secondary
 * (openai/mock-model) answers, timed one request at a time and alternated in blocks
 * with the secondary called directly (`openai/mock-model`) on the same gateway.
 *
 * - failover-503: the primary answers 503 at once; timed on the gateway WITHOUT route
 *   health, where every request really fails over (with health on, the primary's
 *   breaker would open after 5 failures and the primary would be skipped: that is
 *   breaker-open, below). The same run of a plan happens with health on until then.
 * - failover-hang: the primary never answers; its `ttfbTimeoutMs` ends the wait. Also
 *   without route health, for the same reason.
 * - breaker-open: on the gateway as deployed (health on), after failing requests have
 *   opened the primary's breaker (checked on GET /admin/health): the primary is skipped.
 *
 * Faults come from the body's `mock` (passed to the upstream untouched): `onlyModel`
 * aims them at the primary's model, so the secondary, given the same body, answers.
 * Every answer is checked: 200, `x-switchyard-provider: openai`, `x-switchyard-model:
 * mock-model`, and the expected `x-switchyard-fallbacks` (none for the secondary alone
 * and for a skipped primary).
 */
import { Agent } from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import { adminRequest } from "./admin.ts";
import { median, quantile } from "./sequential.ts";
import {
  BenchError,
  BREAKER_FAILURES,
  BREAKER_SETTLE_MS,
  CHAT_PATH,
  HANG_SAMPLES,
  HANG_TTFB_TIMEOUT_MS,
  type Settings,
} from "./settings.ts";
import { timedRequestRetry, type Timed } from "./timed-request.ts";
import type { FailoverResult, FailoverScenarioName, PairStats, Target } from "./types.ts";

const PROVIDER = "openai";
const SECONDARY_MODEL = "mock-model";

interface FailoverCase {
  scenario: FailoverScenarioName;
  /** The gateway it is timed on. */
  target: Target;
  alias: string;
  primaryModel: string;
  /** The primary's route target fields besides provider and model. */
  primaryOptions: Record<string, unknown>;
  /** The `mock` options of both requests' bodies, aimed at the primary with `onlyModel`. */
  fault: Record<string, unknown>;
  /** `x-switchyard-fallbacks` of an alias answer: null when the primary is skipped. */
  fallbacks: string | null;
  samples: number;
  block: number;
}

export interface FailoverTargets {
  /** The gateway as deployed: route health on. */
  withHealth: Target;
  /** The same bundle without ROUTE_HEALTH. */
  withoutHealth: Target;
}

function cases(settings: Settings, targets: FailoverTargets): FailoverCase[] {
  const sequential = { samples: settings.sequential, block: 25 };
  return [
    {
      scenario: "failover-503",
      target: targets.withoutHealth,
      alias: "bench-failover-503",
      primaryModel: "down-503",
      primaryOptions: {},
      fault: { status: 503 },
      fallbacks: `${PROVIDER}/down-503=503`,
      ...sequential,
    },
    {
      scenario: "failover-hang",
      target: targets.withoutHealth,
      alias: "bench-failover-hang",
      primaryModel: "down-hang",
      primaryOptions: { ttfbTimeoutMs: HANG_TTFB_TIMEOUT_MS },
      fault: { hang: true },
      fallbacks: `${PROVIDER}/down-hang=timeout`,
      samples: HANG_SAMPLES,
      block: 5,
    },
    {
      scenario: "breaker-open",
      target: targets.withHealth,
      alias: "bench-breaker-open",
      primaryModel: "down-breaker",
      primaryOptions: {},
      // 502, not 503: a 503 also cuts the target's weight, so a fallback route would demote it before its breaker opens.
      fault: { status: 502 },
      fallbacks: null,
      ...sequential,
    },
  ];
}

function body(model: string, c: FailoverCase): Buffer {
  const mock = { ...c.fault, onlyModel: c.primaryModel, tag: c.scenario };
  return Buffer.from(JSON.stringify({ model, messages: [{ role: "user", content: "Say hello" }], mock }));
}

/** Why an answer is not the secondary's, reached with `fallbacks` (null: no fallback header); undefined if it is. */
function problemWith(result: Timed, fallbacks: string | null): string | undefined {
  const h = result.headers;
  if (result.status !== 200) return `status ${result.status}`;
  if (h["x-switchyard-provider"] !== PROVIDER || h["x-switchyard-model"] !== SECONDARY_MODEL) {
    return `an answer from ${String(h["x-switchyard-provider"])}/${String(h["x-switchyard-model"])}, not ${PROVIDER}/${SECONDARY_MODEL}`;
  }
  const trail = h["x-switchyard-fallbacks"] ?? null;
  if (trail !== fallbacks) return `x-switchyard-fallbacks ${JSON.stringify(trail)}, expected ${JSON.stringify(fallbacks)}`;
  return undefined;
}

/** Sends one request and throws unless its answer is the expected one. */
async function expectAnswer(agent: Agent, c: FailoverCase, model: string, fallbacks: string | null, key: string): Promise<Timed> {
  const result = await timedRequestRetry(agent, c.target.port, CHAT_PATH, body(model, c), key, true);
  const problem = problemWith(result, fallbacks);
  if (problem !== undefined) {
    throw new BenchError(`${c.scenario}: ${c.target.name} answered ${model} with ${problem}:\n${result.body.slice(0, 2000)}`);
  }
  return result;
}

/** PUT /admin/routes/<alias>: the failing primary, then the secondary. */
async function putRoute(c: FailoverCase): Promise<void> {
  const targets = [
    { provider: PROVIDER, model: c.primaryModel, ...c.primaryOptions },
    { provider: PROVIDER, model: SECONDARY_MODEL },
  ];
  await adminRequest(c.target.port, "PUT", `/admin/routes/${c.alias}`, 200, { targets });
}

/** Fails the primary until its breaker opens, lets the batched reports land, and checks GET /admin/health says open. */
async function openBreaker(agent: Agent, c: FailoverCase, key: string): Promise<void> {
  for (let i = 0; i < BREAKER_FAILURES; i++) {
    const result = await timedRequestRetry(agent, c.target.port, CHAT_PATH, body(c.alias, c), key, true);
    // The isolate applies its own unsent reports: the last sends may already skip the primary.
    const fellBack = problemWith(result, `${PROVIDER}/${c.primaryModel}=${String(c.fault.status)}`) === undefined;
    if (!fellBack && problemWith(result, null) !== undefined) {
      throw new BenchError(`${c.scenario}: opening the breaker, ${c.alias} answered with ${problemWith(result, null)}`);
    }
  }
  await sleep(BREAKER_SETTLE_MS);
  const health = (await adminRequest(c.target.port, "GET", "/admin/health", 200)) as {
    data?: Array<{ target?: string; breaker?: string }>;
  };
  const primary = health.data?.find((t) => t.target === `${PROVIDER}/${c.primaryModel}`);
  if (primary?.breaker !== "open") {
    throw new BenchError(`${c.scenario}: after ${BREAKER_FAILURES} failures the primary's breaker is ${primary?.breaker ?? "unknown"}, not open`);
  }
}

export function pairStats(samples: number[], blocks: number[][]): PairStats {
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    samples: sorted.length,
    p50Ms: median(sorted),
    p90Ms: quantile(sorted, 0.9),
    p99Ms: quantile(sorted, 0.99),
    blockMediansMs: blocks.map(median),
  };
}

/**
 * The alias and the secondary alone, one request at a time on one keep-alive
 * connection each, taking turns in blocks (alias first, then the secondary first).
 */
async function timeCase(c: FailoverCase, key: string): Promise<FailoverResult> {
  const alias = new Agent({ keepAlive: true, maxSockets: 1 });
  const direct = new Agent({ keepAlive: true, maxSockets: 1 });
  const secondary = `${PROVIDER}/${SECONDARY_MODEL}`;
  await putRoute(c);
  if (c.scenario === "breaker-open") await openBreaker(alias, c, key);
  // The smoke check, then the warm-up: both answers as they will be measured.
  for (let i = 0; i < Math.min(10, c.block); i++) {
    await expectAnswer(alias, c, c.alias, c.fallbacks, key);
    await expectAnswer(direct, c, secondary, null, key);
  }
  const viaAlias: number[][] = [];
  const alone: number[][] = [];
  let unexpected = 0;
  const blocks = Math.ceil(c.samples / c.block);
  for (let b = 0; b < blocks; b++) {
    const count = Math.min(c.block, c.samples - b * c.block);
    const aliasBlock: number[] = [];
    const aloneBlock: number[] = [];
    const runAlias = async (): Promise<void> => {
      for (let i = 0; i < count; i++) {
        const result = await timedRequestRetry(alias, c.target.port, CHAT_PATH, body(c.alias, c), key);
        const problem = problemWith(result, c.fallbacks);
        // A breaker whose cooldown ran out lets one probe through, which fails over: counted, not fatal.
        if (problem !== undefined && (c.fallbacks !== null || result.status !== 200)) {
          throw new BenchError(`${c.scenario}: ${c.target.name} answered ${c.alias} with ${problem}`);
        }
        if (problem !== undefined) unexpected++;
        aliasBlock.push(result.totalMs);
      }
    };
    const runAlone = async (): Promise<void> => {
      for (let i = 0; i < count; i++) aloneBlock.push((await expectAnswer(direct, c, secondary, null, key)).totalMs);
    };
    if (b % 2 === 0) {
      await runAlias();
      await runAlone();
    } else {
      await runAlone();
      await runAlias();
    }
    viaAlias.push(aliasBlock);
    alone.push(aloneBlock);
  }
  alias.destroy();
  direct.destroy();
  const a = pairStats(viaAlias.flat(), viaAlias);
  const s = pairStats(alone.flat(), alone);
  return {
    scenario: c.scenario,
    target: c.target.name,
    viaAlias: a,
    secondaryAlone: s,
    addedP50Ms: a.p50Ms - s.p50Ms,
    addedP99Ms: a.p99Ms - s.p99Ms,
    secondarySpreadMs: Math.max(...s.blockMediansMs) - Math.min(...s.blockMediansMs),
    unexpected,
  };
}

/** Each failover scenario: its route, its smoke check, then the alternated timing. */
export async function failoverRuns(settings: Settings, targets: FailoverTargets, key: string): Promise<FailoverResult[]> {
  const all = cases(settings, targets);
  console.log(`\nfailover: alias vs ${PROVIDER}/${SECONDARY_MODEL} alone, one at a time, alternating blocks`);
  const results: FailoverResult[] = [];
  for (const c of all) {
    const result = await timeCase(c, key);
    results.push(result);
    console.log(
      `  ${c.scenario.padEnd(13)} on ${c.target.name}: p50 ${result.viaAlias.p50Ms.toFixed(3)} ms via ${c.alias}, ` +
        `${result.secondaryAlone.p50Ms.toFixed(3)} ms alone (${result.viaAlias.samples} each, blocks of ${c.block})`,
    );
  }
  return results;
}
