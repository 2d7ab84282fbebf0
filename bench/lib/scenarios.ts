/** The two requests every target is measured with, written to bench/out for wrk.lua. */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { OUT, STREAM_EVENTS } from "./settings.ts";
import type { Scenario, ScenarioName } from "./types.ts";

export function writeScenarios(): Scenario[] {
  const base = { model: "openai/mock-model", messages: [{ role: "user", content: "Say hello" }] };
  const list: Array<[ScenarioName, boolean, object]> = [
    ["non-stream", false, base],
    // `mock` is passed to the upstream untouched and tells the mock how many content events to send.
    ["stream-20", true, { ...base, stream: true, mock: { streamEvents: STREAM_EVENTS } }],
  ];
  return list.map(([name, stream, payload]) => {
    const body = JSON.stringify(payload);
    const bodyFile = join(OUT, `body-${name}.json`);
    writeFileSync(bodyFile, body);
    return { name, stream, body, bodyFile };
  });
}
