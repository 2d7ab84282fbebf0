import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { buildApp } from "../../src/app.ts";
import type { Env } from "../../src/env.ts";
import { scriptMock } from "../support/mock-script.ts";

export const ADMIN_TOKEN = "test-admin-token";
export const DEV_KEY = "sk-test-dev-key";
export const MOCK = env.MOCK_UPSTREAM_URL;

/** The gateway's bindings for tests: OpenAI and DeepSeek point at the mock provider. */
export function testEnv(overrides: Record<string, string | undefined> = {}): Env {
  return {
    ...env,
    ADMIN_TOKEN,
    DEV_GATEWAY_KEY: DEV_KEY,
    OPENAI_BASE_URL: `${MOCK}/v1`,
    OPENAI_API_KEY: "mock-openai-key",
    DEEPSEEK_BASE_URL: `${MOCK}/deepseek/v1`,
    DEEPSEEK_API_KEY: "mock-deepseek-key",
    UPSTREAM_TIMEOUT_MS: "3000",
    STREAM_IDLE_TIMEOUT_MS: "1500",
    // Shared route health would carry one test's injected failures into the next (a breaker opened
    // by a fault test skips a target later): tests that are about health opt in with `withHealth`.
    ROUTE_HEALTH: undefined,
    ...overrides,
  } as unknown as Env;
}

/** The test bindings with the RouteHealth Durable Object (wrangler.toml's binding). */
export function withHealth(overrides: Record<string, string | undefined> = {}): Env {
  return { ...testEnv(overrides), ROUTE_HEALTH: env.ROUTE_HEALTH } as Env;
}

const app = buildApp();
const defaultEnv = testEnv();

/** Sends one request through the whole gateway, inside workerd. */
export async function gateway(path: string, init: RequestInit = {}, bindings: Env = defaultEnv): Promise<Response> {
  const ctx = createExecutionContext();
  const response = await app.fetch(new Request(`https://gateway.test${path}`, init), bindings, ctx);
  // Not awaited: a stream's relay runs under waitUntil until the test has read (or dropped) the body.
  waitOnExecutionContext(ctx).catch(() => {});
  return response;
}

export function json(body: unknown, key: string = DEV_KEY, extraHeaders: Record<string, string> = {}): RequestInit {
  return {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json", ...extraHeaders },
    body: typeof body === "string" ? body : JSON.stringify(body),
  };
}

export function admin(method: string, body?: unknown, token = ADMIN_TOKEN): RequestInit {
  return {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  };
}

/** What the mock provider received for requests tagged `tag` (via `mock.tag` or `user`). */
export async function upstreamSaw(tag: string): Promise<Array<{ path: string; query: string; headers: Record<string, string>; body: Record<string, unknown>; clientClosedEarly: boolean; completed: boolean; receivedAt: number }>> {
  const res = await fetch(`${MOCK}/__mock/requests?tag=${encodeURIComponent(tag)}`);
  return res.json();
}

/** Waits up to `withinMs` for the mock to see the gateway close the connection of request `tag`; returns what it saw. */
export async function upstreamClosedEarly(tag: string, withinMs = 2000): Promise<{ closed: boolean; afterMs: number; completed: boolean | undefined }> {
  const started = Date.now();
  for (;;) {
    const seen = (await upstreamSaw(tag))[0];
    if (seen?.clientClosedEarly === true || Date.now() - started >= withinMs) {
      return { closed: seen?.clientClosedEarly === true, afterMs: Date.now() - started, completed: seen?.completed };
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface OpenAIError {
  error: { message: string; type: string; param: string | null; code: string | null };
}

export function uniqueTag(prefix: string): string {
  return `${prefix}-${crypto.randomUUID()}`;
}

/**
 * Gives every upstream request whose body contains `match` these mock options
 * (for providers whose API rejects a `mock` body field). `match` also becomes the
 * request's tag for `upstreamSaw`.
 */
export const scriptUpstream = (match: string, mock: Record<string, unknown>): Promise<void> => scriptMock(MOCK, match, mock);
