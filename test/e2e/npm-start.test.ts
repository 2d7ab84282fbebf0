/** `npm start` (scripts/dev.ts) brings up a gateway that answers the README's snippet with no set-up. */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { test } from "node:test";
import { ROOT } from "../../scripts/local-gateway.ts";
import { freePort } from "../support/free-port.ts";
import { redisServerPath } from "../support/redis-bridge.ts";

test("npm start serves the README snippet with the development key", async () => {
  const port = await freePort();
  const child = spawn(process.execPath, ["scripts/dev.ts"], {
    cwd: ROOT,
    env: { ...process.env, PORT: String(port) },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.on("data", (d: Buffer) => (output += d.toString()));
  child.stderr.on("data", (d: Buffer) => (output += d.toString()));
  try {
    const deadline = Date.now() + 60_000;
    while (!output.includes("Switchyard is running")) {
      assert.ok(Date.now() < deadline, `npm start did not come up:\n${output}`);
      assert.equal(child.exitCode, null, `npm start exited:\n${output}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.match(output, /gateway key : sk-switchyard-dev/);
    // .dev.vars may name a real Upstash database; otherwise the banner says whether local Redis runs.
    if (!/rate limits {2}: on \(Upstash at /.test(output)) {
      assert.match(output, redisServerPath() !== null ? /rate limits {2}: on \(local Redis at http:\/\/127\.0\.0\.1:\d+/ : /rate limits {2}: off \(redis-server is not installed/);
    }
    const res = await fetch(`http://127.0.0.1:${port}/v1/chat/completions`, {
      method: "POST",
      headers: { Authorization: "Bearer sk-switchyard-dev", "Content-Type": "application/json" },
      body: JSON.stringify({ model: "fast", messages: [{ role: "user", content: "Hello!" }] }),
    });
    assert.equal(res.status, 200);
    const body = (await res.json()) as { choices: Array<{ message: { content: string } }> };
    assert.equal(body.choices[0]?.message.content, "Hello from the mock upstream.");
  } finally {
    child.kill("SIGTERM");
    if (child.exitCode === null) await once(child, "exit");
  }
});
