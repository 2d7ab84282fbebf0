/**
 * Before anything is measured: each target answers each of its requests once,
 * correctly, and the gateway refuses the development key (it is not configured
 * here), so a misconfigured gateway fails loudly instead of benchmarking its error
 * page. Each gateway-only stream must also have reached the mock as the upstream
 * call it stands for (an Anthropic or an OpenAI request, with the mock's key).
 */
import { Agent } from "node:http";
import type { Scenarios } from "./scenarios.ts";
import { BenchError, CHAT_PATH, MESSAGES_PATH, RESPONSES_PATH, STREAM_EVENTS } from "./settings.ts";
import { timedRequestRetry, type Timed } from "./timed-request.ts";
import type { GatewayStreamScenarioName, Scenario, Target } from "./types.ts";

/** The mock's last content delta (`tok0 ` … `tok19 `): seeing it shows the whole stream went through. */
const LAST_DELTA = `tok${STREAM_EVENTS - 1} `;

function problemWith(scenario: Scenario, result: Timed): string | undefined {
  if (result.status !== 200) return `status ${result.status}`;
  if (!scenario.stream) return result.body.includes('"choices"') ? undefined : "a body without choices";
  if (result.firstEventMs === null || !result.body.includes("[DONE]")) return "a stream without data: events or [DONE]";
  return undefined;
}

/** OpenAI chunks carrying every delta the mock sent, ending with `data: [DONE]`. */
function problemWithOpenAIStream(result: Timed): string | undefined {
  if (result.status !== 200) return `status ${result.status}`;
  if (!result.body.includes("chat.completion.chunk")) return "a stream without chat.completion.chunk objects";
  if (!/data: \[DONE\]\s*$/.test(result.body)) return "a stream that does not end with data: [DONE]";
  if (!result.body.includes(`"${LAST_DELTA}"`)) return `a stream without the last of ${STREAM_EVENTS} deltas`;
  return undefined;
}

/**
 * An Anthropic event stream: every event an `event:` line naming its `data:` object's
 * type, exactly STREAM_EVENTS text deltas (the last the mock's last), no error event,
 * and message_stop last.
 */
function problemWithAnthropicStream(result: Timed): string | undefined {
  if (result.status !== 200) return `status ${result.status}`;
  const events = result.body.split(/\r?\n\r?\n/).filter((e) => e.trim() !== "");
  const texts: string[] = [];
  let last = "";
  for (const event of events) {
    const name = /^event: (.*)$/m.exec(event)?.[1];
    const data = /^data: (.*)$/m.exec(event)?.[1];
    if (name === undefined || data === undefined) return `an event without event: and data: lines (${event.slice(0, 200)})`;
    let parsed: { type?: unknown; delta?: { type?: unknown; text?: unknown } };
    try {
      parsed = JSON.parse(data) as typeof parsed;
    } catch {
      return `an event ${name} whose data is not JSON`;
    }
    if (parsed.type !== name) return `an event ${name} whose data has type ${String(parsed.type)}`;
    if (name === "error") return "an error event";
    if (name === "content_block_delta" && parsed.delta?.type === "text_delta") texts.push(String(parsed.delta.text));
    last = name;
  }
  if (last !== "message_stop") return `a stream ending with ${last || "nothing"}, not message_stop`;
  if (texts.length !== STREAM_EVENTS) return `${texts.length} text deltas, not ${STREAM_EVENTS}`;
  if (texts.at(-1) !== LAST_DELTA) return `a last text delta of ${JSON.stringify(texts.at(-1))}`;
  return undefined;
}

/** A Responses event stream: exactly STREAM_EVENTS text deltas (the last the mock's last), sequence numbers in order, response.completed last. */
function problemWithResponsesStream(result: Timed): string | undefined {
  if (result.status !== 200) return `status ${result.status}`;
  const events = result.body.split(/\r?\n\r?\n/).filter((e) => e.trim() !== "");
  const texts: string[] = [];
  let last = "";
  let sequence = -1;
  for (const event of events) {
    const data = /^data: (.*)$/m.exec(event)?.[1];
    if (data === undefined) return "an event without data";
    const parsed = JSON.parse(data) as { type: string; sequence_number: number; delta?: string };
    if (!(parsed.sequence_number > sequence)) return `sequence number ${parsed.sequence_number} after ${sequence}`;
    sequence = parsed.sequence_number;
    if (parsed.type === "response.output_text.delta") texts.push(String(parsed.delta));
    last = parsed.type;
  }
  if (last !== "response.completed") return `a stream ending with ${last || "nothing"}, not response.completed`;
  if (texts.length !== STREAM_EVENTS) return `${texts.length} text deltas, not ${STREAM_EVENTS}`;
  if (texts.at(-1) !== LAST_DELTA) return `a last text delta of ${JSON.stringify(texts.at(-1))}`;
  return undefined;
}

/** What each gateway-only stream's answer must be, and the upstream call it must have made. */
const GATEWAY_STREAMS: Record<
  GatewayStreamScenarioName,
  { problem: (result: Timed) => string | undefined; upstream: { path: string; header: string; value: string } }
> = {
  "stream-20-anthropic": {
    problem: problemWithOpenAIStream,
    upstream: { path: MESSAGES_PATH, header: "x-api-key", value: "mock-key" },
  },
  "messages-stream-20": {
    problem: problemWithAnthropicStream,
    upstream: { path: CHAT_PATH, header: "authorization", value: "Bearer mock-key" },
  },
  "messages-native-stream-20": {
    problem: problemWithAnthropicStream,
    upstream: { path: MESSAGES_PATH, header: "x-api-key", value: "mock-key" },
  },
  "responses-stream-20": {
    problem: problemWithResponsesStream,
    upstream: { path: CHAT_PATH, header: "authorization", value: "Bearer mock-key" },
  },
  "responses-native-stream-20": {
    problem: problemWithResponsesStream,
    upstream: { path: RESPONSES_PATH, header: "authorization", value: "Bearer mock-key" },
  },
};

/** The last request the mock recorded must be the gateway's call for `scenario`: POST to `path` with the mock key. */
async function checkUpstreamCall(upstream: Target, scenario: GatewayStreamScenarioName): Promise<void> {
  const { path, header, value } = GATEWAY_STREAMS[scenario].upstream;
  const response = await fetch(`http://127.0.0.1:${upstream.port}/__mock/requests`);
  type Recorded = { method: string; path: string; headers: Record<string, string> };
  const last = ((await response.json()) as Recorded[]).at(-1);
  const ok = last?.method === "POST" && last.path === path && last.headers[header] === value;
  if (!ok) {
    const seen = last === undefined ? "nothing" : `${last.method} ${last.path}`;
    throw new BenchError(
      `${scenario} did not reach the mock as POST ${path} with ${header}: ${value} (last request: ${seen})`,
    );
  }
}

export async function smokeTest(targets: Target[], scenarios: Scenarios, key: string): Promise<void> {
  const upstream = targets.find((t) => t.name === "upstream");
  for (const target of targets) {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const answer = (scenario: Scenario, bearer = key): Promise<Timed> =>
      timedRequestRetry(agent, target.port, scenario.path, Buffer.from(scenario.body), bearer, true);
    for (const scenario of scenarios.compared) {
      const result = await answer(scenario);
      const problem = problemWith(scenario, result);
      if (problem !== undefined) {
        throw new BenchError(`${target.name} answered ${scenario.name} with ${problem}:\n${result.body.slice(0, 2000)}`);
      }
    }
    if (target.name === "gateway") {
      for (const scenario of scenarios.gatewayStreams) {
        const result = await answer(scenario);
        const problem = GATEWAY_STREAMS[scenario.name].problem(result);
        if (problem !== undefined) {
          throw new BenchError(`${target.name} answered ${scenario.name} with ${problem}:\n${result.body.slice(0, 2000)}`);
        }
        if (upstream !== undefined) await checkUpstreamCall(upstream, scenario.name);
      }
      const probe = scenarios.compared[0];
      if (probe !== undefined) {
        const dev = await answer(probe, "sk-switchyard-dev");
        if (dev.status !== 401) {
          const why = "DEV_GATEWAY_KEY must not be bound";
          throw new BenchError(`the gateway answered the development key with ${dev.status}, not 401: ${why}`);
        }
      }
    }
    agent.destroy();
  }
}
