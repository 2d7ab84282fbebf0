/**
 * Before anything is measured: each target answers each scenario once, correctly,
 * and the gateway refuses the development key (it is not configured here), so a
 * misconfigured gateway fails loudly instead of benchmarking its error page.
 */
import { Agent } from "node:http";
import { BenchError } from "./settings.ts";
import { timedRequestRetry } from "./timed-request.ts";
import type { Scenario, Target } from "./types.ts";

export async function smokeTest(targets: Target[], scenarios: Scenario[], key: string): Promise<void> {
  for (const target of targets) {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    for (const scenario of scenarios) {
      const result = await timedRequestRetry(agent, target.port, Buffer.from(scenario.body), key, true);
      const problem =
        result.status !== 200
          ? `status ${result.status}`
          : scenario.stream && (result.firstEventMs === null || !result.body.includes("[DONE]"))
            ? "a stream without data: events or [DONE]"
            : !scenario.stream && !result.body.includes('"choices"')
              ? "a body without choices"
              : undefined;
      if (problem !== undefined) {
        throw new BenchError(`${target.name} answered ${scenario.name} with ${problem}:\n${result.body.slice(0, 2000)}`);
      }
    }
    const probe = scenarios[0];
    if (target.name === "gateway" && probe !== undefined) {
      const dev = await timedRequestRetry(agent, target.port, Buffer.from(probe.body), "sk-switchyard-dev");
      if (dev.status !== 401) {
        const why = "DEV_GATEWAY_KEY must not be bound";
        throw new BenchError(`the gateway answered the development key with ${dev.status}, not 401: ${why}`);
      }
    }
    agent.destroy();
  }
}
