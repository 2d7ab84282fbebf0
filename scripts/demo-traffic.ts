/**
 * `npm run demo-traffic`: realistic traffic through the running local gateway
 * (`npm start`) for a while, so the request log, analytics and dashboard have
 * something real to show: several keys and end users, cheap and dear models,
 * streams, failovers, budget refusals (402), rate limits (429) and a few cost
 * anomalies. The mock provider behind `npm start` answers; the `mock` field of
 * a body scripts its faults.
 *
 *   npm run demo-traffic -- [--url http://127.0.0.1:8787] [--admin-token dev-admin-token] [--seconds 60] [--rps 8]
 */
import { parseArgs } from "node:util";
import { DEV_ADMIN_TOKEN } from "./local-gateway.ts";

const { values } = parseArgs({
  options: {
    url: { type: "string", default: process.env.GATEWAY_URL ?? `http://127.0.0.1:${process.env.PORT ?? 8787}` },
    "admin-token": { type: "string", default: process.env.ADMIN_TOKEN ?? DEV_ADMIN_TOKEN },
    seconds: { type: "string", default: "60" },
    rps: { type: "string", default: "8" },
    seed: { type: "string", default: "7" },
  },
});
const url = String(values.url).replace(/\/+$/, "");
const adminToken = String(values["admin-token"]);
const seconds = Number(values.seconds);
const rps = Number(values.rps);
if (!(seconds > 0) || !(rps > 0)) throw new Error("--seconds and --rps must be positive numbers");

/** A small seeded generator (mulberry32), so two runs make the same traffic. */
let state = Number(values.seed) >>> 0;
function random(): number {
  state = (state + 0x6d2b79f5) >>> 0;
  let t = state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;

async function adminCall(method: string, path: string, body?: unknown): Promise<unknown> {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: { authorization: `Bearer ${adminToken}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
  return res.json();
}

interface DemoKey {
  readonly name: string;
  readonly key: string;
  readonly users: readonly string[];
}

/** Keys of a small company: a chat app, a batch job with a tight budget, a bot with rate limits. */
async function setUp(): Promise<DemoKey[]> {
  await adminCall("PUT", "/admin/routes/demo-fallback", { strategy: "fallback", targets: [{ provider: "openai", model: "gpt-4o-mini" }, { provider: "deepseek", model: "deepseek-chat" }] });
  const make = async (name: string, extra: Record<string, unknown>, users: string[]): Promise<DemoKey> => {
    const created = (await adminCall("POST", "/admin/keys", { name: `demo-${name}`, ...extra })) as { id: string; key: string };
    if (name === "batch-jobs") await adminCall("PUT", `/admin/budgets/key:${created.id}`, { limitUsd: 0.02, period: "day", mode: "hard" });
    return { name, key: created.key, users };
  };
  return Promise.all([
    make("chat-app", { maxCostPerRequestUsd: 0.5 }, Array.from({ length: 12 }, (_, i) => `customer-${i + 1}`)),
    make("batch-jobs", {}, ["nightly-etl"]),
    make("support-bot", { limits: { rpm: 30, perUser: { rpm: 3 } } }, ["agent-ann", "agent-bo", "agent-cy"]),
  ]);
}

const CHEAP = ["openai/gpt-4o-mini", "deepseek/deepseek-chat", "gemini/gemini-2.5-flash", "anthropic/claude-haiku-4-5"];
const DEAR = ["openai/gpt-4o", "anthropic/claude-sonnet-4-5", "gemini/gemini-2.5-pro"];
const words = (n: number): string => Array.from({ length: n }, (_, i) => `word${i % 97}`).join(" ");

/** One request of the demo's mix, and the status it got. */
async function oneRequest(keys: readonly DemoKey[]): Promise<number> {
  let k = pick(keys);
  const roll = random();
  let model = roll < 0.1 ? "demo-fallback" : roll < 0.75 ? pick(CHEAP) : pick(DEAR);
  const stream = random() < 0.4;
  const mock: Record<string, unknown> = { content: words(5 + Math.floor(random() * 120)) };
  // A failover: the alias's first target is down this time.
  if (model === "demo-fallback") Object.assign(mock, { status: 503, onlyModel: "gpt-4o-mini" });
  // Now and then an answer far longer than usual: a cost anomaly once a key and model have a median.
  if (random() < 0.02) mock.content = words(4_000);
  // Rarer still, a provider bills far more than the request looked like (400k prompt tokens on gpt-4o, $1):
  // over the chat app's $0.50 cap per request, flagged at once.
  if (random() < 0.01) {
    k = keys.find((candidate) => candidate.name === "chat-app") ?? k;
    model = "openai/gpt-4o";
    mock.usage = { prompt_tokens: 400_000, completion_tokens: 1_000, total_tokens: 401_000 };
  }
  const res = await fetch(`${url}/v1/chat/completions`, {
    method: "POST",
    headers: { authorization: `Bearer ${k.key}`, "content-type": "application/json", "x-switchyard-user": pick(k.users) },
    body: JSON.stringify({ model, stream, max_tokens: 8_000, messages: [{ role: "user", content: words(10 + Math.floor(random() * 200)) }], mock }),
  });
  await res.arrayBuffer();
  return res.status;
}

const keys = await setUp();
console.log(`demo traffic: ${rps} requests/s for ${seconds} s against ${url} (keys: ${keys.map((k) => k.name).join(", ")})`);
const counts = new Map<number, number>();
const inFlight = new Set<Promise<void>>();
const end = Date.now() + seconds * 1_000;
while (Date.now() < end) {
  const started = Date.now();
  for (let i = 0; i < rps; i++) {
    const p: Promise<void> = oneRequest(keys)
      .then((status) => void counts.set(status, (counts.get(status) ?? 0) + 1))
      .catch(() => void counts.set(0, (counts.get(0) ?? 0) + 1))
      .finally(() => inFlight.delete(p));
    inFlight.add(p);
  }
  await new Promise((r) => setTimeout(r, Math.max(0, 1_000 - (Date.now() - started))));
}
await Promise.all(inFlight);
const summary = [...counts].sort((a, b) => a[0] - b[0]).map(([status, n]) => `${status === 0 ? "network error" : status}×${n}`).join(", ");
console.log(`done: ${summary}`);
console.log(`see them: curl "${url}/admin/requests?limit=20" -H "Authorization: Bearer ${adminToken}"`);
console.log(`          curl "${url}/admin/analytics?groupBy=model" -H "Authorization: Bearer ${adminToken}"`);
