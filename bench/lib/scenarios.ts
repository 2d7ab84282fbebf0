/** The requests the targets are measured with, written to bench/out for wrk.lua. */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { BenchError, CHAT_PATH, MESSAGES_PATH, OUT, RESPONSES_PATH, STREAM_EVENTS } from "./settings.ts";
import type { ComparedScenarioName, GatewayStreamScenarioName, Scenario, ScenarioName, HealthScenarioName } from "./types.ts";
import { scriptMock } from "../../test/support/mock-script.ts";
import { adminRequest } from "./admin.ts";

/**
 * messages-stream-20's upstream request is the gateway's OpenAI translation, which
 * drops the unknown `mock` field: the mock is told what to send by a script matching
 * this word in the message instead (see scriptMock).
 */
export const SCRIPT_WORD = "switchyardbenchstream";

export interface Scenarios {
  /** non-stream and stream-20: sent to every target (gateway, bare, upstream). */
  compared: Array<Scenario<ComparedScenarioName>>;
  /**
   * Sent to the gateway only: stream-20-anthropic (OpenAI client, Anthropic upstream),
   * messages-stream-20 (Anthropic client on POST /v1/messages, OpenAI upstream) and
   * messages-native-stream-20 (Anthropic client and upstream: relayed).
   */
  gatewayStreams: Array<Scenario<GatewayStreamScenarioName>>;
  /** The non-stream entry of `compared`: also what the budgets block sends with its two keys. */
  nonStream: Scenario<ComparedScenarioName>;
  /** The stream-20 entry of `compared`: the gateway-only streams' baseline. */
  passThrough: Scenario<ComparedScenarioName>;
  /** What the health block sends, with route health on and off: non-stream through a one-target alias (direct calls are not reported). */
  routed: Scenario<HealthScenarioName>;
}

function write<N extends ScenarioName>(name: N, path: string, stream: boolean, payload: object): Scenario<N> {
  const body = JSON.stringify(payload);
  const bodyFile = join(OUT, `body-${name}.json`);
  writeFileSync(bodyFile, body);
  return { name, path, stream, body, bodyFile };
}

/** The alias the health block calls: one target, openai/mock-model (created by `putRoutedAlias`). */
export const ROUTED_ALIAS = "bench-routed";

/** Creates the health block's alias (KV is shared by both gateways). */
export async function putRoutedAlias(gatewayPort: number): Promise<void> {
  await adminRequest(gatewayPort, "PUT", `/admin/routes/${ROUTED_ALIAS}`, 200, { targets: [{ provider: "openai", model: "mock-model" }] });
}

export function writeScenarios(): Scenarios {
  const messages = [{ role: "user", content: "Say hello" }];
  const base = { model: "openai/mock-model", messages };
  // `mock` is passed to the upstream untouched and tells the mock how many content events to send.
  const mock = { streamEvents: STREAM_EVENTS };
  const nonStream = write("non-stream", CHAT_PATH, false, base);
  const passThrough = write("stream-20", CHAT_PATH, true, { ...base, stream: true, mock });
  const translated = write("stream-20-anthropic", CHAT_PATH, true, {
    model: "anthropic/claude-sonnet-4-5",
    messages,
    stream: true,
    mock,
  });
  const anthropic = { max_tokens: 256, stream: true };
  const messagesTranslated = write("messages-stream-20", MESSAGES_PATH, true, {
    model: "openai/mock-model",
    ...anthropic,
    messages: [{ role: "user", content: `Say hello ${SCRIPT_WORD}` }],
  });
  const messagesNative = write("messages-native-stream-20", MESSAGES_PATH, true, {
    model: "anthropic/claude-sonnet-4-5",
    ...anthropic,
    // Without the script's word: the body's `mock`, relayed untouched, is what tells the mock what to send.
    messages,
    mock,
  });
  // /v1/responses: translated from an OpenAI-compatible provider's chat chunks (DeepSeek's preset has no Responses API),
  // and relayed from OpenAI's own Responses events.
  const responsesTranslated = write("responses-stream-20", RESPONSES_PATH, true, { model: "deepseek/mock-model", stream: true, input: `Say hello ${SCRIPT_WORD}` });
  const responsesNative = write("responses-native-stream-20", RESPONSES_PATH, true, { model: "openai/mock-model", stream: true, input: "Say hello", mock });
  const routed = write("non-stream-routed", CHAT_PATH, false, { model: ROUTED_ALIAS, messages });
  return {
    compared: [nonStream, passThrough],
    gatewayStreams: [translated, messagesTranslated, messagesNative, responsesTranslated, responsesNative],
    nonStream,
    passThrough,
    routed,
  };
}

/** Registers the script that gives messages-stream-20's upstream request its 20 content events. */
export async function scriptBenchMock(upstreamPort: number): Promise<void> {
  try {
    await scriptMock(`http://127.0.0.1:${upstreamPort}`, SCRIPT_WORD, { streamEvents: STREAM_EVENTS });
  } catch (err) {
    throw new BenchError(err instanceof Error ? err.message : String(err));
  }
}
