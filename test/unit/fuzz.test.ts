/**
 * Property-based fuzzing of the whole gateway: generated requests (valid ones,
 * mutated; see test/unit/fuzz/) go through the real app and the real
 * adapters to the mock providers, and every answer must keep the contract that
 * holds whatever a client sends:
 *
 * - never a 500, and no other 5xx than the 502/503/504 of a provider's failure
 *   (and the 529 an Anthropic client gets for an overloaded provider);
 * - an error in the endpoint's own shape (OpenAI's, or Anthropic's on
 *   /v1/messages and /v1/messages/count_tokens), a success as JSON or an event
 *   stream, every header readable and the body readable to its end;
 * - Object.prototype untouched (checked after every request, so the request
 *   that changed it is the one reported);
 * - and, once background work has settled, no budget reservation left held.
 *
 * Seeded, so a CI failure replays locally. FUZZ_RUNS (vitest.config.ts passes it
 * in) sets the number of runs, 10,000 by default; each run sends one request or
 * more (round trips send up to seven):
 *
 *   FUZZ_RUNS=100000 npx vitest run test/unit/fuzz.test.ts
 *
 * A failure stops its property at once (endOnFailure: shrinking would resend
 * thousands of requests against state the earlier ones changed); the message
 * names the request (whole run, for round trips), the answer, and what the
 * gateway logged as unhandled, whose stack names the line at fault. To replay
 * just that case, add the printed `path` to the property's fc.assert options.
 */
import { env } from "cloudflare:test";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { Env } from "../../src/env.ts";
import { ADMIN_TOKEN, DEV_KEY, MOCK, gateway } from "./helpers.ts";
import { budgetOf, setBudget, withLedger, type BudgetJson } from "./ledger-helpers.ts";
import { KEY_ID, KEY_SECRET, adminRequest, chatRequest, countTokensRequest, embeddingsRequest, keyRoundTrip, messagesRequest, meteringRoundTrip, modelsRequest, routeRoundTrip, type Secrets } from "./fuzz/requests.ts";
import { describeRequest, fuzzRequest, shortText, type FuzzRequest } from "./fuzz/text-and-values.ts";

const SEED = 20_261_118;
const DEFAULT_RUNS = 10_000;
/** A request that has not answered and ended by then is a hang, reported as such rather than as the test's timeout. */
const REQUEST_DEADLINE_MS = 15_000;
const PROPERTY_TIMEOUT_MS = 120_000;

/** FUZZ_RUNS from the environment (a miniflare binding), else the default. */
function totalRuns(): number {
  const raw = (env as unknown as { FUZZ_RUNS?: unknown }).FUZZ_RUNS;
  if (typeof raw !== "string" || raw.trim() === "") return DEFAULT_RUNS;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(`FUZZ_RUNS must be a whole number above 0, not '${raw}'`);
  return n;
}
const TOTAL_RUNS = totalRuns();
/** A property's share of the runs, given per 10,000. */
const runs = (per10k: number): number => Math.max(1, Math.round((per10k * TOTAL_RUNS) / DEFAULT_RUNS));

// Anthropic points at the mock too (as in messages.test.ts), and the SpendLedger is bound so that
// budgets reserve and settle. Short deadlines: the few faults that hang cost one deadline each.
const deadlines = { ANTHROPIC_BASE_URL: `${MOCK}/v1`, ANTHROPIC_API_KEY: "mock-anthropic-key", UPSTREAM_TIMEOUT_MS: "1000", STREAM_IDLE_TIMEOUT_MS: "500" };
const API: Env = withLedger(deadlines);
/** With shared route health: /admin/health has something to list, and round trips run with breakers. */
const WITH_HEALTH: Env = { ...API, ROUTE_HEALTH: env.ROUTE_HEALTH } as Env;
const SECRETS: Secrets = { devKey: DEV_KEY, adminToken: ADMIN_TOKEN, webhook: `${MOCK}/__mock/webhook/fuzz` };
/** The budget every request of the dev key reserves on: what must be back to zero at the end. */
const DEV_SCOPE = "key:dev";

// ---------------------------------------------------------------------------------------------
// What the gateway logs: the request log is silenced (one line per request); errors are kept, since
// the gateway logs an unhandled error's stack there, which names the line at fault.

const logged: string[] = [];
const keepLog = (...args: unknown[]): void => {
  logged.push(args.map((a) => (typeof a === "string" ? a : String(a))).join(" "));
};

// ---------------------------------------------------------------------------------------------
// Object.prototype, as it was before any request

const PROTOTYPE_BEFORE = new Map(Reflect.ownKeys(Object.prototype).map((key) => [key, Object.getOwnPropertyDescriptor(Object.prototype, key)]));

/** Keys added to, removed from or changed on Object.prototype since the module loaded. */
function prototypeChanges(): string[] {
  const changes: string[] = [];
  const now = Reflect.ownKeys(Object.prototype);
  for (const key of now) {
    const before = PROTOTYPE_BEFORE.get(key);
    const after = Object.getOwnPropertyDescriptor(Object.prototype, key);
    if (before === undefined) changes.push(`added ${String(key)} = ${shortText(String(after?.value), 80)}`);
    else if (before.value !== after?.value || before.get !== after?.get || before.set !== after?.set) changes.push(`changed ${String(key)}`);
  }
  for (const key of PROTOTYPE_BEFORE.keys()) if (!now.includes(key)) changes.push(`removed ${String(key)}`);
  if (({} as Record<string, unknown>).polluted !== undefined) changes.push("({}).polluted is defined");
  return changes;
}

/** Undoes a pollution once reported, so that the properties after it test the gateway and not the damage. */
function restorePrototype(): void {
  for (const key of Reflect.ownKeys(Object.prototype)) if (!PROTOTYPE_BEFORE.has(key)) Reflect.deleteProperty(Object.prototype, key);
  for (const [key, descriptor] of PROTOTYPE_BEFORE) if (descriptor !== undefined) Object.defineProperty(Object.prototype, key, descriptor);
}

// ---------------------------------------------------------------------------------------------
// One exchange, and the contract every answer keeps

interface Answer {
  readonly status: number;
  readonly headers: ReadonlyArray<readonly [string, string]>;
  readonly text: string;
}

type ErrorShape = "openai" | "anthropic";

/** Anthropic's error types (its API reference, "Errors"): what its SDKs and Claude Code act on. */
const ANTHROPIC_ERROR_TYPES = new Set([
  "invalid_request_error", "authentication_error", "billing_error", "permission_error", "not_found_error",
  "request_too_large", "rate_limit_error", "api_error", "timeout_error", "overloaded_error",
]);

/** Errors take Anthropic's shape on the two Anthropic-format endpoints (src/app.ts), OpenAI's everywhere else. */
function errorShapeOf(path: string): ErrorShape {
  const { pathname } = new URL(path, "https://gateway.test");
  return pathname === "/v1/messages" || pathname === "/v1/messages/count_tokens" ? "anthropic" : "openai";
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const stringOrNull = (v: unknown): boolean => v === null || typeof v === "string";

/** Why `body` is not the endpoint's error shape, or null when it is. */
function errorShapeProblem(body: unknown, shape: ErrorShape): string | null {
  if (!isRecord(body)) return "the error body is not a JSON object";
  if (shape === "openai") {
    const e = body.error;
    if (Object.keys(body).join() !== "error" || !isRecord(e)) return 'expected {"error":{…}} and nothing else';
    if (Object.keys(e).sort().join() !== "code,message,param,type") return `error has the keys ${Object.keys(e).join(", ")}, not message, type, param, code`;
    if (typeof e.message !== "string" || typeof e.type !== "string" || !stringOrNull(e.param) || !stringOrNull(e.code)) {
      return "error.message and error.type must be strings, error.param and error.code strings or null";
    }
    return null;
  }
  const e = body.error;
  if (body.type !== "error" || !isRecord(e)) return 'expected {"type":"error","error":{…}}';
  if (Object.keys(body).some((k) => k !== "type" && k !== "error" && k !== "request_id")) return `unexpected keys ${Object.keys(body).join(", ")}`;
  if (body.request_id !== undefined && typeof body.request_id !== "string") return "request_id must be a string";
  if (typeof e.message !== "string" || typeof e.type !== "string") return "error.type and error.message must be strings";
  if (!ANTHROPIC_ERROR_TYPES.has(e.type)) return `error.type '${e.type}' is not one of Anthropic's`;
  return null;
}

/** Why an event stream's body is broken (an event whose data is neither JSON nor [DONE]), or null. */
function streamProblem(body: string): string | null {
  for (const event of body.split(/\r?\n\r?\n/)) {
    const data = event
      .split(/\r?\n/)
      .filter((line) => line.startsWith("data:"))
      .map((line) => line.slice(line.startsWith("data: ") ? 6 : 5))
      .join("\n");
    if (data === "" || data === "[DONE]") continue;
    try {
      JSON.parse(data);
    } catch {
      return `an event's data is not JSON: ${shortText(data, 200)}`;
    }
  }
  return null;
}

const parsesAsJson = (text: string): { ok: true; value: unknown } | { ok: false } => {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    return { ok: false };
  }
};

function failure(why: string, request: FuzzRequest, answer: Answer | null, thrown?: unknown): Error {
  const lines = [why, `  request: ${describeRequest(request)}`];
  if (answer !== null) lines.push(`  answer:  ${answer.status} ${shortText(answer.text, 600)}`);
  if (thrown !== undefined) lines.push(`  thrown:  ${thrown instanceof Error ? (thrown.stack ?? thrown.message) : String(thrown)}`);
  for (const line of logged) lines.push(`  logged:  ${line.slice(0, 3000)}`);
  return new Error(lines.join("\n"));
}

function within<T>(ms: number, work: Promise<T>, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | null = null;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} within ${ms} ms`)), ms);
  });
  return Promise.race([work, late]).finally(() => {
    if (timer !== null) clearTimeout(timer);
  });
}

/** Counts for the summary line of each property. */
interface Tally {
  requests: number;
  readonly statuses: Map<number, number>;
}

/** Sends one request through the gateway, reads all of the answer, and checks the contract; returns the answer. */
async function exchange(request: FuzzRequest, bindings: Env, tally: Tally): Promise<Answer> {
  const headers = new Headers();
  let init: RequestInit;
  try {
    for (const [name, value] of request.headers) headers.append(name, value);
    init = request.body === null ? { method: request.method, headers } : { method: request.method, headers, body: request.body };
    new Request(`https://gateway.test${request.path}`, init);
  } catch (err) {
    // Not the gateway's doing: the generators must only make requests a client can send.
    throw failure("the fuzz generated a request fetch cannot send (a bug in fuzz-arbitraries.ts)", request, null, err);
  }
  logged.length = 0;
  tally.requests++;
  let response: Response;
  try {
    response = await within(REQUEST_DEADLINE_MS, gateway(request.path, init, bindings), "no answer");
  } catch (err) {
    throw failure("the gateway threw instead of answering (the runtime answers that with a 500)", request, null, err);
  }
  const answerHeaders: Array<readonly [string, string]> = [];
  let text: string;
  try {
    for (const [name, value] of response.headers) answerHeaders.push([name, value]);
    text = new TextDecoder().decode(await within(REQUEST_DEADLINE_MS, response.arrayBuffer(), "the body did not end"));
  } catch (err) {
    await response.body?.cancel().catch(() => {});
    throw failure("the answer could not be read to its end", request, { status: response.status, headers: answerHeaders, text: "" }, err);
  }
  const answer: Answer = { status: response.status, headers: answerHeaders, text };
  tally.statuses.set(answer.status, (tally.statuses.get(answer.status) ?? 0) + 1);
  checkAnswer(request, answer);
  return answer;
}

function checkAnswer(request: FuzzRequest, answer: Answer): void {
  const fail = (why: string): never => {
    throw failure(why, request, answer);
  };
  const changes = prototypeChanges();
  if (changes.length > 0) {
    restorePrototype();
    fail(`Object.prototype was changed: ${changes.join("; ")}`);
  }
  const shape = errorShapeOf(request.path);
  const { status } = answer;
  if (status === 500) fail("500: the gateway failed unexpectedly");
  const upstreamFailures = shape === "anthropic" ? [502, 503, 504, 529] : [502, 503, 504];
  if (status > 500 && !upstreamFailures.includes(status)) fail(`${status}: no 5xx but ${upstreamFailures.join("/")} (a provider's failure)`);
  if (status < 200 || (status >= 300 && status < 400) || status > 599) fail(`${status} is neither a success nor an error`);
  const header = (name: string): string | undefined => answer.headers.find(([n]) => n === name)?.[1];
  if (!/^req_[0-9a-f]{32}$/.test(header("x-switchyard-request-id") ?? "")) fail("no x-switchyard-request-id header");
  if (request.method === "HEAD") return; // no body to judge
  const type = header("content-type") ?? "";
  if (status >= 400) {
    if (!type.includes("application/json")) fail(`an error answered as '${type}', not JSON`);
    const parsed = parsesAsJson(answer.text);
    if (!parsed.ok) return fail("an error body that is not JSON");
    const problem = errorShapeProblem(parsed.value, shape);
    if (problem !== null) fail(`not the ${shape === "openai" ? "OpenAI" : "Anthropic"} error shape: ${problem}`);
    return;
  }
  if (type.includes("text/event-stream")) {
    const problem = streamProblem(answer.text);
    if (problem !== null) fail(`a broken event stream: ${problem}`);
  } else if (type.includes("application/json")) {
    if (!parsesAsJson(answer.text).ok) fail("a success whose JSON body does not parse");
  } else {
    fail(`a success answered as '${type}', neither JSON nor an event stream`);
  }
}

// ---------------------------------------------------------------------------------------------
// Properties

/** The key a round trip created, put in place of KEY_SECRET and KEY_ID in the requests after it. */
function withCreatedKey(request: FuzzRequest, key: { secret: string; id: string }): FuzzRequest {
  const fill = (s: string): string => s.split(KEY_SECRET).join(key.secret).split(KEY_ID).join(key.id);
  if (![request.path, request.body ?? "", ...request.headers.map(([, v]) => v)].some((s) => s.includes(KEY_SECRET) || s.includes(KEY_ID))) return request;
  return fuzzRequest(request.method, fill(request.path), request.headers.map(([n, v]): readonly [string, string] => [n, fill(v)]), request.body === null ? null : fill(request.body));
}

/** A created key's secret and id, from the 201 of POST /admin/keys; placeholders that match no key otherwise. */
function createdKey(request: FuzzRequest, answer: Answer): { secret: string; id: string } | null {
  if (request.path !== "/admin/keys" || request.method !== "POST") return null;
  const parsed = answer.status === 201 ? parsesAsJson(answer.text) : { ok: false as const };
  if (parsed.ok && isRecord(parsed.value) && typeof parsed.value.key === "string" && typeof parsed.value.id === "string") {
    return { secret: parsed.value.key, id: parsed.value.id };
  }
  return { secret: "sk-sy-never-created", id: "key_nevercreated0000" };
}

/** Runs a property whose every run sends `steps` in order, each checked; logs a summary line. */
async function fuzz(name: string, numRuns: number, steps: fc.Arbitrary<FuzzRequest[]>, bindings: Env): Promise<void> {
  const tally: Tally = { requests: 0, statuses: new Map() };
  const started = Date.now();
  try {
    await fc.assert(
      fc.asyncProperty(steps, async (list) => {
        let key: { secret: string; id: string } = { secret: "sk-sy-never-created", id: "key_nevercreated0000" };
        for (const step of list) {
          const request = withCreatedKey(step, key);
          const answer = await exchange(request, bindings, tally);
          key = createdKey(request, answer) ?? key;
        }
      }),
      { seed: SEED, numRuns, endOnFailure: true },
    );
  } finally {
    const statuses = [...tally.statuses].sort(([a], [b]) => a - b).map(([s, n]) => `${s}×${n}`).join(" ");
    console.info(`fuzz ${name}: ${numRuns} runs, ${tally.requests} requests in ${((Date.now() - started) / 1000).toFixed(1)} s; ${statuses}`);
  }
}

/** Waits for the background settles and releases, then expects no reservation left on the dev key's budget. */
async function expectNothingHeld(): Promise<void> {
  let status: BudgetJson = await budgetOf(DEV_SCOPE);
  for (let i = 0; i < 100 && status.reservedUsd !== 0; i++) {
    await new Promise((r) => setTimeout(r, 100));
    status = await budgetOf(DEV_SCOPE);
  }
  expect(status.reservedUsd, `reservations still held after 10 s: ${JSON.stringify(status)}`).toBe(0);
}

const one = (arb: fc.Arbitrary<FuzzRequest>): fc.Arbitrary<FuzzRequest[]> => arb.map((r) => [r]);

describe("fuzzing the gateway with generated requests", () => {
  beforeAll(async () => {
    vi.spyOn(console, "log").mockImplementation(() => {});
    vi.spyOn(console, "error").mockImplementation(keepLog);
    vi.spyOn(console, "warn").mockImplementation(keepLog);
    // A soft budget reserves like a hard one but refuses nothing: requests still reach the providers.
    const res = await setBudget(DEV_SCOPE, { limitUsd: 1_000_000, period: "total", mode: "soft" });
    expect(res.status).toBe(200);
  });

  afterAll(async () => {
    await gateway(`/admin/budgets/${DEV_SCOPE}`, { method: "DELETE", headers: { authorization: `Bearer ${ADMIN_TOKEN}` } }, API);
    vi.restoreAllMocks();
  });

  it("POST /v1/chat/completions", { timeout: PROPERTY_TIMEOUT_MS }, async () => {
    await fuzz("chat", runs(2300), one(chatRequest(SECRETS)), API);
    await expectNothingHeld();
  });

  it("POST /v1/messages", { timeout: PROPERTY_TIMEOUT_MS }, async () => {
    await fuzz("messages", runs(1600), one(messagesRequest(SECRETS)), API);
    await expectNothingHeld();
  });

  it("POST /v1/messages/count_tokens", { timeout: PROPERTY_TIMEOUT_MS }, async () => {
    await fuzz("count_tokens", runs(800), one(countTokensRequest(SECRETS)), API);
  });

  it("POST /v1/embeddings", { timeout: PROPERTY_TIMEOUT_MS }, async () => {
    await fuzz("embeddings", runs(700), one(embeddingsRequest(SECRETS)), API);
    await expectNothingHeld();
  });

  it("GET /v1/models", { timeout: PROPERTY_TIMEOUT_MS }, async () => {
    await fuzz("models", runs(900), one(modelsRequest(SECRETS)), API);
  });

  it("the admin API: routes, keys, budgets, usage, prices, health", { timeout: PROPERTY_TIMEOUT_MS }, async () => {
    await fuzz("admin", runs(2880), one(adminRequest(SECRETS)), WITH_HEALTH);
  });

  it("a route written, then called through its alias", { timeout: PROPERTY_TIMEOUT_MS }, async () => {
    await fuzz("route round trip", runs(400), routeRoundTrip(SECRETS), WITH_HEALTH);
    await expectNothingHeld();
  });

  it("a price and an end user's budget written, then that model called as that user", { timeout: PROPERTY_TIMEOUT_MS }, async () => {
    await fuzz("metering round trip", runs(220), meteringRoundTrip(SECRETS), API);
    await expectNothingHeld();
  });

  it("a key created, called with, changed and revoked", { timeout: PROPERTY_TIMEOUT_MS }, async () => {
    await fuzz("key round trip", runs(200), keyRoundTrip(SECRETS), API);
  });

  it("holds no reservation and leaves Object.prototype as it was, after all of it", { timeout: PROPERTY_TIMEOUT_MS }, async () => {
    await expectNothingHeld();
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(prototypeChanges()).toEqual([]);
  });
});
