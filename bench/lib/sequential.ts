/**
 * One request at a time per target, on a keep-alive connection: the latency a single
 * client sees without queueing. Targets take turns in blocks (a, b, c, then c, b, a).
 */
import { Agent } from "node:http";
import { BenchError, type Settings } from "./settings.ts";
import { timedRequestRetry } from "./timed-request.ts";
import type { ComparedTargetName, Scenario, SequentialResult, SequentialStats, Target } from "./types.ts";

const BLOCK = 50;
const WARM_REQUESTS = 20;

/** The value at quantile q of ascending `sorted` (nearest rank below). */
export function quantile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
}

/** The median of unsorted samples. */
export function median(samples: readonly number[]): number {
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = sorted.length / 2;
  return sorted.length % 2 === 1 ? (sorted[Math.floor(mid)] ?? NaN) : ((sorted[mid - 1] ?? NaN) + (sorted[mid] ?? NaN)) / 2;
}

function stats(samples: number[]): SequentialStats {
  const sorted = [...samples].sort((a, b) => a - b);
  return { samples: sorted.length, medianMs: median(sorted), p90Ms: quantile(sorted, 0.9) };
}

export async function sequentialRuns(
  settings: Settings,
  targets: Array<Target<ComparedTargetName>>,
  scenarios: Scenario[],
  key: string,
): Promise<SequentialResult> {
  console.log(`\none at a time: ${settings.sequential} requests per target and scenario, blocks of ${BLOCK}, alternating`);
  const agents = new Map(targets.map((t) => [t.name, new Agent({ keepAlive: true, maxSockets: 1 })]));
  const empty = (): Record<ComparedTargetName, number[]> => ({ gateway: [], bare: [], upstream: [] });
  const latency = empty();
  const firstEvent = empty();
  const streamComplete = empty();
  for (const scenario of scenarios) {
    const body = Buffer.from(scenario.body);
    for (const target of targets) {
      const agent = agents.get(target.name);
      if (agent === undefined) continue;
      for (let i = 0; i < WARM_REQUESTS; i++) await timedRequestRetry(agent, target.port, scenario.path, body, key);
    }
    const blocks = Math.ceil(settings.sequential / BLOCK);
    for (let b = 0; b < blocks; b++) {
      const order = b % 2 === 0 ? targets : [...targets].reverse();
      const count = Math.min(BLOCK, settings.sequential - b * BLOCK);
      for (const target of order) {
        const agent = agents.get(target.name);
        if (agent === undefined) continue;
        for (let i = 0; i < count; i++) {
          const result = await timedRequestRetry(agent, target.port, scenario.path, body, key);
          if (result.status !== 200) {
            throw new BenchError(`${target.name} answered ${result.status} during the one-at-a-time run`);
          }
          if (!scenario.stream) {
            latency[target.name].push(result.totalMs);
          } else {
            if (result.firstEventMs === null) throw new BenchError(`${target.name} streamed no data: event`);
            firstEvent[target.name].push(result.firstEventMs);
            streamComplete[target.name].push(result.totalMs);
          }
        }
      }
    }
  }
  for (const agent of agents.values()) agent.destroy();
  const summarize = (samples: Record<ComparedTargetName, number[]>): Record<ComparedTargetName, SequentialStats> => ({
    gateway: stats(samples.gateway),
    bare: stats(samples.bare),
    upstream: stats(samples.upstream),
  });
  return { latency: summarize(latency), firstEvent: summarize(firstEvent), streamComplete: summarize(streamComplete) };
}
