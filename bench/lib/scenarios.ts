/** The requests the targets are measured with, written to bench/out for wrk.lua. */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { OUT, STREAM_EVENTS } from "./settings.ts";
import type { ComparedScenarioName, Scenario, ScenarioName, TranslatedScenarioName } from "./types.ts";

export interface Scenarios {
  /** non-stream and stream-20: sent to every target (gateway, bare, upstream). */
  compared: Array<Scenario<ComparedScenarioName>>;
  /**
   * stream-20-anthropic: sent to the gateway only, which translates it to Anthropic's
   * Messages API (the mock's POST /v1/messages) and the events back to OpenAI chunks.
   */
  translated: Scenario<TranslatedScenarioName>;
  /** The stream-20 entry of `compared`: the translated stream's baseline. */
  passThrough: Scenario<ComparedScenarioName>;
}

function write<N extends ScenarioName>(name: N, stream: boolean, payload: object): Scenario<N> {
  const body = JSON.stringify(payload);
  const bodyFile = join(OUT, `body-${name}.json`);
  writeFileSync(bodyFile, body);
  return { name, stream, body, bodyFile };
}

export function writeScenarios(): Scenarios {
  const messages = [{ role: "user", content: "Say hello" }];
  const base = { model: "openai/mock-model", messages };
  // `mock` is passed to the upstream untouched and tells the mock how many content events to send.
  const mock = { streamEvents: STREAM_EVENTS };
  const nonStream = write("non-stream", false, base);
  const passThrough = write("stream-20", true, { ...base, stream: true, mock });
  const translated = write("stream-20-anthropic", true, {
    model: "anthropic/claude-sonnet-4-5",
    messages,
    stream: true,
    mock,
  });
  return { compared: [nonStream, passThrough], translated, passThrough };
}
