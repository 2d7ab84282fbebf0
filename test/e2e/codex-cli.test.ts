/**
 * Codex CLI itself through the gateway (issue 15): `@openai/codex` from npm
 * with its native binary, `codex exec` non-interactive, a fresh CODEX_HOME
 * whose custom provider is the gateway (`wire_api = "responses"`, as Codex
 * requires). It answers through Anthropic (translated from the Responses API,
 * with one tool call that Codex runs and whose output goes back) and through
 * OpenAI natively.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { ROOT, type LocalGateway } from "../../scripts/local-gateway.ts";
import { scriptMock } from "../support/mock-script.ts";
import { startTestGateway } from "../support/test-gateway.ts";

const CODEX = join(ROOT, "node_modules/.bin/codex");
const skip = existsSync(CODEX) ? false : "Codex CLI is not installed (npm ci installs @openai/codex)";

let gw: LocalGateway;
let home: string;

before(async () => {
  if (skip !== false) return;
  gw = await startTestGateway({});
  home = mkdtempSync(join(tmpdir(), "switchyard-codex-"));
  mkdirSync(join(home, "work"));
  writeFileSync(join(home, "config.toml"), [
    `model_provider = "switchyard"`,
    ``,
    `[model_providers.switchyard]`,
    `name = "Switchyard"`,
    `base_url = "${gw.url}/v1"`,
    `env_key = "SWITCHYARD_API_KEY"`,
    `wire_api = "responses"`,
    ``,
  ].join("\n"));
});

after(async () => {
  await gw?.stop();
  if (home !== undefined) rmSync(home, { recursive: true, force: true });
});

/** Runs `codex exec` (stdin closed: with a pipe it would wait for more input); its output, or a failure with it. */
async function codex(model: string, prompt: string): Promise<string> {
  const child = spawn(CODEX, ["exec", "--skip-git-repo-check", "-m", model, prompt], {
    cwd: join(home, "work"),
    env: { ...process.env, CODEX_HOME: home, SWITCHYARD_API_KEY: gw.gatewayKey },
    stdio: ["ignore", "pipe", "pipe"],
    timeout: 120_000,
  });
  let out = "";
  child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (out += chunk.toString()));
  const [code] = (await once(child, "exit")) as [number | null];
  assert.equal(code, 0, out);
  return out;
}

test("codex exec through Anthropic (translated): it answers, runs the tool call the model asks for, and sends its output back", { skip }, async () => {
  const word = `codex-tool-${crypto.randomUUID()}`;
  await scriptMock(gw.mock.url, word, { toolCall: { name: "exec_command", input: { cmd: "echo codex-ran-the-tool" } } });
  const out = await codex("anthropic/claude-sonnet-4-5", `${word}: run echo`);
  assert.match(out, /codex-ran-the-tool/, out);
  assert.match(out, /Hello from the mock upstream\./, out);
  const seen = gw.mock.requests.filter((r) => r.tag === word);
  assert.deepEqual(seen.map((r) => r.path), ["/v1/messages", "/v1/messages"], "two turns, both translated to Anthropic's API");
  // Codex's namespaced tools (its sub-agents) reach Anthropic as functions; only its web_search, which OpenAI runs, is left out.
  const offered = ((seen[0]?.body as { tools?: Array<{ name: string; type?: string }> }).tools ?? []).map((t) => t.name);
  assert.ok(offered.includes("exec_command") && offered.includes("multi_agent_v1__spawn_agent"), offered.join(", "));
  assert.ok(!offered.some((name) => /web_search/.test(name)), offered.join(", "));
  const lastTurn = JSON.stringify(seen[1]?.body);
  assert.match(lastTurn, /tool_result/);
  assert.match(lastTurn, /codex-ran-the-tool/);
});

test("codex exec through OpenAI natively: the Responses request reaches OpenAI as Codex sent it", { skip }, async () => {
  const word = `codex-native-${crypto.randomUUID()}`;
  await scriptMock(gw.mock.url, word, {});
  const out = await codex("openai/gpt-4.1", `${word}: say hi`);
  assert.match(out, /Hello from the mock upstream\./, out);
  const [seen] = gw.mock.requests.filter((r) => r.tag === word);
  assert.equal(seen?.path, "/v1/responses");
  const body = seen?.body as Record<string, unknown>;
  assert.equal(body.model, "gpt-4.1");
  assert.equal(body.store, false);
  assert.ok(Array.isArray(body.tools) && body.tools.some((t) => (t as { type: string }).type === "namespace"), "Codex's namespace tool passes to OpenAI");
});
