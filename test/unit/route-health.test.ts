import { createExecutionContext, env, runDurableObjectAlarm, runInDurableObject, waitOnExecutionContext } from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { RouteHealth as RouteHealthClass, type RouteHealth } from "../../src/durable/route-health.ts";
import type { Env } from "../../src/env.ts";
import { FLUSH_AT, REFRESH_AFTER_MS, clearRouteHealthCache, healthView, rateLimitHeaders, reportAttempt } from "../../src/routing/health.ts";
import type { AttemptOutcome, AttemptReport, TargetHealth, TargetId } from "../../src/routing/health-types.ts";
import { admin, gateway, testEnv, uniqueTag, withHealth, type OpenAIError } from "./helpers.ts";

type Namespace = DurableObjectNamespace<RouteHealth>;
const realNamespace = (): Namespace => {
  const ns = env.ROUTE_HEALTH;
  if (ns === undefined) throw new Error("wrangler.toml binds ROUTE_HEALTH");
  return ns;
};

function report(target: TargetId, outcome: AttemptOutcome, extra: Partial<AttemptReport> = {}): AttemptReport {
  const status = outcome === "success" ? 200 : outcome === "rate_limited" ? 429 : outcome === "timeout" ? null : 502;
  return { target, at: Date.now(), startedAt: Date.now() - 100, outcome, status, ttfbMs: outcome === "success" ? 250 : null, rateLimitHeaders: {}, ...extra };
}

const newTarget = (): TargetId => `openai/${uniqueTag("health")}`;

/**
 * The real RouteHealth namespace, counting the calls isolates make through it
 * (how many snapshot reads, how many report batches of what size).
 */
function countingEnv(): { env: Env; snapshots: TargetId[]; batches: number[] } {
  const ns = realNamespace();
  const snapshots: TargetId[] = [];
  const batches: number[] = [];
  const counting = {
    getByName(name: string) {
      const stub = ns.getByName(name);
      return {
        snapshot: () => {
          snapshots.push(name);
          return stub.snapshot();
        },
        report: (reports: AttemptReport[]) => {
          batches.push(reports.length);
          return stub.report(reports);
        },
      };
    },
  };
  return { env: { ...testEnv(), ROUTE_HEALTH: counting as unknown as Namespace }, snapshots, batches };
}

beforeEach(() => clearRouteHealthCache());
afterEach(() => vi.useRealTimers());

describe("RouteHealth Durable Object", () => {
  it("opens its breaker after five failures reported over RPC, and keeps it across a restart of the object", async () => {
    const target = newTarget();
    const stub = realNamespace().getByName(target);
    const afterFour = (await stub.report([1, 2, 3, 4].map(() => report(target, "failure")))).health;
    expect(afterFour.breaker).toBe("closed");
    const afterFive = (await stub.report([report(target, "timeout", { status: null })])).health;
    expect(afterFive.breaker).toBe("open");
    expect(afterFive.retryAt).toBeGreaterThan(Date.now() + 29_000);
    expect(await runDurableObjectAlarm(stub)).toBe(true); // the deferred write (at most one a second)

    // A new instance over the same storage, as after eviction, starts from what was stored.
    const restarted = await runInDurableObject(stub, async (_instance: RouteHealth, state) => {
      const fresh = new RouteHealthClass(state, env);
      await new Promise((r) => setTimeout(r, 0));
      return fresh.state();
    });
    expect(restarted).toMatchObject({ target, breaker: "open", consecutiveFailures: 5, retryAt: afterFive.retryAt });
  });

  it("answers a snapshot for a target it has never seen as healthy, and state() as null", async () => {
    const stub = realNamespace().getByName(newTarget());
    expect((await stub.snapshot()).health).toEqual({
      breaker: "closed",
      retryAt: null,
      ttfbMs: null,
      weightFactor: 1,
      remainingRequests: null,
      remainingTokens: null,
      resetAt: null,
    } satisfies TargetHealth);
    expect(await stub.state()).toBeNull();
  });
});

describe("the isolate's health view", () => {
  it("answers at once from the cache and refreshes a target at most once per period, however many requests ask", async () => {
    const target = newTarget();
    await realNamespace().getByName(target).report([1, 2, 3, 4, 5].map(() => report(target, "failure")));
    const { env: counted, snapshots } = countingEnv();

    // Nothing cached yet: healthy for now, and a single refresh for three concurrent requests.
    const ctxs = [createExecutionContext(), createExecutionContext(), createExecutionContext()];
    const views = ctxs.map((ctx) => healthView(counted, ctx, [target]));
    expect(views.map((v) => v.get(target))).toEqual([undefined, undefined, undefined]);
    await Promise.all(ctxs.map((ctx) => waitOnExecutionContext(ctx)));
    expect(snapshots).toEqual([target]);

    // Now cached: the open breaker is served with no further call.
    const ctx = createExecutionContext();
    expect(healthView(counted, ctx, [target]).get(target)?.breaker).toBe("open");
    await waitOnExecutionContext(ctx);
    expect(snapshots).toHaveLength(1);

    // Once the period has passed, the next request (still served at once) triggers one refresh.
    vi.useFakeTimers({ toFake: ["Date"], now: Date.now() + REFRESH_AFTER_MS + 1 });
    const later = createExecutionContext();
    expect(healthView(counted, later, [target]).get(target)?.breaker).toBe("open");
    healthView(counted, later, [target]);
    await waitOnExecutionContext(later);
    expect(snapshots).toHaveLength(2);
  });

  it("sends reports from concurrent requests to each target in one batch, after a short wait", async () => {
    const a = newTarget();
    const b = newTarget();
    const { env: counted, batches } = countingEnv();
    const ctxs = [createExecutionContext(), createExecutionContext(), createExecutionContext()];
    reportAttempt(counted, ctxs[0]!, report(a, "success"));
    reportAttempt(counted, ctxs[1]!, report(a, "failure"));
    reportAttempt(counted, ctxs[2]!, report(b, "success", { ttfbMs: 400 }));
    reportAttempt(counted, ctxs[2]!, report(a, "success", { ttfbMs: 100 }));
    expect(batches).toEqual([]);
    await Promise.all(ctxs.map((ctx) => waitOnExecutionContext(ctx)));
    expect(batches.sort()).toEqual([1, 3]);
    expect(await realNamespace().getByName(a).state()).toMatchObject({ totals: { success: 2, failure: 1 }, ttfbMs: 220 });
  });

  it("sends at once when enough reports are waiting", async () => {
    const target = newTarget();
    const { env: counted, batches } = countingEnv();
    const ctx = createExecutionContext();
    for (let i = 0; i < FLUSH_AT; i++) reportAttempt(counted, ctx, report(target, "success"));
    await new Promise((r) => setTimeout(r, 0));
    expect(batches).toEqual([FLUSH_AT]);
    await waitOnExecutionContext(ctx);
  });

  it("applies its own unacknowledged failures at once: five in a row open the breaker locally", async () => {
    const target = newTarget();
    const ctx = createExecutionContext();
    const view = healthView(env, ctx, [target]);
    for (let i = 0; i < 4; i++) reportAttempt(env, ctx, report(target, "failure"));
    expect(view.get(target)?.breaker).toBe("closed");
    reportAttempt(env, ctx, report(target, "failure"));
    expect(view.get(target)?.breaker).toBe("open");
    await waitOnExecutionContext(ctx);
    // Acknowledged: the Durable Object's own verdict, now cached.
    expect(view.get(target)?.breaker).toBe("open");
    expect((await realNamespace().getByName(target).state())?.consecutiveFailures).toBe(5);
  });

  it("sees a breaker go half-open after the cooldown, and close when this isolate's probe succeeds", async () => {
    const target = newTarget();
    const ctx = createExecutionContext();
    for (let i = 0; i < 5; i++) reportAttempt(env, ctx, report(target, "failure"));
    await waitOnExecutionContext(ctx);
    const view = healthView(env, createExecutionContext(), [target]);
    const retryAt = view.get(target)?.retryAt ?? Number.NaN;
    expect(view.get(target)?.breaker).toBe("open");

    vi.useFakeTimers({ toFake: ["Date"], now: retryAt + 1 });
    const probeCtx = createExecutionContext();
    const probeView = healthView(env, probeCtx, [target]);
    await waitOnExecutionContext(probeCtx);
    expect(probeView.get(target)?.breaker).toBe("half-open");
    reportAttempt(env, probeCtx, report(target, "success", { startedAt: Date.now() }));
    // Closed locally at once, and by the Durable Object once the report lands.
    expect(probeView.get(target)?.breaker).toBe("closed");
    await waitOnExecutionContext(probeCtx);
    expect((await realNamespace().getByName(target).snapshot()).health).toMatchObject({ breaker: "closed", retryAt: null });
  });

  it("neither throws nor loses the request when the Durable Object cannot be reached", async () => {
    const target = newTarget();
    const broken = {
      getByName: () => ({
        snapshot: () => Promise.reject(new Error("network connection lost")),
        report: () => Promise.reject(new Error("network connection lost")),
      }),
    };
    const bindings = { ...testEnv(), ROUTE_HEALTH: broken as unknown as Namespace };
    const ctx = createExecutionContext();
    expect(healthView(bindings, ctx, [target]).get(target)).toBeUndefined();
    reportAttempt(bindings, ctx, report(target, "failure"));
    await waitOnExecutionContext(ctx);
    expect(healthView(bindings, createExecutionContext(), [target]).get(target)).toBeUndefined();
  });

  it("without the binding, reads every target as healthy and drops reports", async () => {
    const bindings = { ...testEnv(), ROUTE_HEALTH: undefined };
    const target = newTarget();
    const ctx = createExecutionContext();
    reportAttempt(bindings, ctx, report(target, "failure"));
    expect(healthView(bindings, ctx, [target]).get(target)).toBeUndefined();
    await waitOnExecutionContext(ctx);
    expect(await realNamespace().getByName(target).state()).toBeNull();
  });
});

describe("rateLimitHeaders", () => {
  it("keeps only the providers' rate-limit headers of an answer", () => {
    const headers = new Headers({
      "content-type": "application/json",
      "X-RateLimit-Remaining-Requests": "59",
      "anthropic-ratelimit-tokens-reset": "2026-11-20T12:00:05Z",
      "retry-after": "3",
      "x-request-id": "req_1",
    });
    expect(rateLimitHeaders(headers)).toEqual({
      "x-ratelimit-remaining-requests": "59",
      "anthropic-ratelimit-tokens-reset": "2026-11-20T12:00:05Z",
    });
  });
});

interface AdminTarget {
  target: string;
  provider: string;
  model: string;
  breaker: string;
  consecutiveFailures: number;
  totals: Record<string, number>;
}

describe("/admin/health", () => {
  it("lists every reported target's state, shows one, and resets a breaker (model names may contain '/')", async () => {
    const model = `accounts/fireworks/models/${uniqueTag("m")}`;
    const target = `openai/${model}`;
    const healthy = newTarget();
    await realNamespace().getByName(target).report([1, 2, 3, 4, 5].map(() => report(target, "failure")));
    await realNamespace().getByName(healthy).report([report(healthy, "success")]);

    const listed = await (await gateway("/admin/health", admin("GET"), withHealth())).json<{ object: string; data: AdminTarget[] }>();
    expect(listed.object).toBe("list");
    expect(listed.data.find((t) => t.target === target)).toMatchObject({ provider: "openai", model, breaker: "open", consecutiveFailures: 5 });
    expect(listed.data.find((t) => t.target === healthy)).toMatchObject({ breaker: "closed", totals: { success: 1 } });

    const one = await gateway(`/admin/health/${target}`, admin("GET"), withHealth());
    expect(one.status).toBe(200);
    expect((await one.json<AdminTarget>()).breaker).toBe("open");

    const reset = await gateway(`/admin/health/${target}/reset`, admin("POST"), withHealth());
    expect(reset.status).toBe(200);
    expect(await reset.json<AdminTarget>()).toMatchObject({ target, breaker: "closed", consecutiveFailures: 0, totals: { failure: 5 } });
    expect((await realNamespace().getByName(target).snapshot()).health.breaker).toBe("closed");
  });

  it("answers 404 for a target never reported or an unknown provider, and needs the admin token", async () => {
    const unseen = await gateway(`/admin/health/${newTarget()}/reset`, admin("POST"), withHealth());
    expect(unseen.status).toBe(404);
    expect((await unseen.json<OpenAIError>()).error.code).toBe("target_not_found");
    const unknown = await gateway("/admin/health/nosuchprovider/x", admin("GET"), withHealth());
    expect(unknown.status).toBe(404);
    expect((await unknown.json<OpenAIError>()).error.code).toBe("provider_not_found");
    expect((await gateway("/admin/health", { method: "GET" }, withHealth())).status).toBe(401);
  });

  it("says plainly when the deployment has no ROUTE_HEALTH binding", async () => {
    const res = await gateway("/admin/health", admin("GET"), { ...testEnv(), ROUTE_HEALTH: undefined });
    expect(res.status).toBe(503);
    expect((await res.json<OpenAIError>()).error.code).toBe("route_health_disabled");
  });
});
