/**
 * Before anything is measured: each target answers each of its requests once,
 * correctly, and the gateway refuses the development key (it is not configured
 * here), so a misconfigured gateway fails loudly instead of benchmarking its error
 * page. The translated stream must also have gone to the mock as an Anthropic call.
 */
import { Agent } from "node:http";
import type { Scenarios } from "./scenarios.ts";
import { BenchError, STREAM_EVENTS } from "./settings.ts";
import { timedRequestRetry, type Timed } from "./timed-request.ts";
import type { Scenario, Target } from "./types.ts";

function problemWith(scenario: Scenario, result: Timed): string | undefined {
  if (result.status !== 200) return `status ${result.status}`;
  if (!scenario.stream) return result.body.includes('"choices"') ? undefined : "a body without choices";
  if (result.firstEventMs === null || !result.body.includes("[DONE]")) return "a stream without data: events or [DONE]";
  return undefined;
}

/** The translated stream: OpenAI chunks carrying every delta the mock sent, ending with `data: [DONE]`. */
function problemWithTranslated(result: Timed): string | undefined {
  if (result.status !== 200) return `status ${result.status}`;
  if (!result.body.includes("chat.completion.chunk")) return "a stream without chat.completion.chunk objects";
  if (!/data: \[DONE\]\s*$/.test(result.body)) return "a stream that does not end with data: [DONE]";
  // The mock's deltas are `tok0 ` … `tok19 `: the last one shows the whole stream was translated.
  if (!result.body.includes(`"tok${STREAM_EVENTS - 1} "`)) return `a stream without the last of ${STREAM_EVENTS} deltas`;
  return undefined;
}

/** The last request the mock recorded must be the gateway's Anthropic call: POST …/messages with the mock key. */
async function checkAnthropicCall(upstream: Target): Promise<void> {
  const response = await fetch(`http://127.0.0.1:${upstream.port}/__mock/requests`);
  type Recorded = { method: string; path: string; headers: Record<string, string> };
  const last = ((await response.json()) as Recorded[]).at(-1);
  const ok = last?.method === "POST" && last.path === "/v1/messages" && last.headers["x-api-key"] === "mock-key";
  if (!ok) {
    const seen = last === undefined ? "nothing" : `${last.method} ${last.path}`;
    throw new BenchError(
      `the translated stream did not reach the mock as POST /v1/messages with x-api-key mock-key (last request: ${seen})`,
    );
  }
}

export async function smokeTest(targets: Target[], scenarios: Scenarios, key: string): Promise<void> {
  for (const target of targets) {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    for (const scenario of scenarios.compared) {
      const result = await timedRequestRetry(agent, target.port, Buffer.from(scenario.body), key, true);
      const problem = problemWith(scenario, result);
      if (problem !== undefined) {
        throw new BenchError(`${target.name} answered ${scenario.name} with ${problem}:\n${result.body.slice(0, 2000)}`);
      }
    }
    if (target.name === "gateway") {
      const { translated } = scenarios;
      const result = await timedRequestRetry(agent, target.port, Buffer.from(translated.body), key, true);
      const problem = problemWithTranslated(result);
      if (problem !== undefined) {
        throw new BenchError(`${target.name} answered ${translated.name} with ${problem}:\n${result.body.slice(0, 2000)}`);
      }
      const upstream = targets.find((t) => t.name === "upstream");
      if (upstream !== undefined) await checkAnthropicCall(upstream);
      const probe = scenarios.compared[0];
      if (probe !== undefined) {
        const dev = await timedRequestRetry(agent, target.port, Buffer.from(probe.body), "sk-switchyard-dev");
        if (dev.status !== 401) {
          const why = "DEV_GATEWAY_KEY must not be bound";
          throw new BenchError(`the gateway answered the development key with ${dev.status}, not 401: ${why}`);
        }
      }
    }
    agent.destroy();
  }
}
