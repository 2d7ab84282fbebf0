import { createExecutionContext, env, runDurableObjectAlarm, runInDurableObject, waitOnExecutionContext } from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { PERSIST_EVERY_MS, REGISTER_RETRY_MS, RouteHealth as RouteHealthClass, type RouteHealth } from "../../src/durable/route-health.ts";
import { BREAKER, type HealthState, type VersionedHealth } from "../../src/routing/health-state.ts";
import type { Env } from "../../src/env.ts";
import {
  FLUSH_AT,
  FLUSH_DEBOUNCE_MS,
  PROBE_SLOT_MS,
  REFRESH_AFTER_MS,
  REPORT_TIMEOUT_MS,
  clearRouteHealthCache,
  healthView,
  rateLimitHeaders,
  reportAttempt,
} from "../../src/routing/health.ts";
import type { AttemptOutcome, AttemptReport, TargetHealth, TargetId } from "../../src/routing/health-types.ts";
import { admin, gateway, json, testEnv, uniqueTag, upstreamSaw, withHealth, type OpenAIError } from "./helpers.ts";

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

/**
 * The real RouteHealth namespace, except that snapshot reads are answered by the
 * object at once but handed back only when the test calls `release`.
 */
function slowSnapshotEnv(): { env: Env; read: () => boolean; release: () => void } {
  const ns = realNamespace();
  let read = false;
  let release = (): void => {};
  const released = new Promise<void>((resolve) => (release = resolve));
  const slow = {
    getByName(name: string) {
      const stub = ns.getByName(name);
      return {
        snapshot: async (): Promise<VersionedHealth> => {
          const answer = await stub.snapshot();
          read = true;
          await released;
          return answer;
        },
        report: (reports: AttemptReport[]) => stub.report(reports),
      };
    },
  };
  return { env: { ...testEnv(), ROUTE_HEALTH: slow as unknown as Namespace }, read: () => read, release };
}

/** A namespace whose objects never answer (a lost connection that never errors). */
function unansweredEnv(): { env: Env; sent: number[] } {
  const sent: number[] = [];
  const silent = {
    getByName: () => ({
      snapshot: () => new Promise(() => {}),
      report: (reports: AttemptReport[]) => {
        sent.push(reports.length);
        return new Promise(() => {});
      },
    }),
  };
  return { env: { ...testEnv(), ROUTE_HEALTH: silent as unknown as Namespace }, sent };
}

/** Opens `target`'s breaker in its RouteHealth, caches that in this isolate, and moves the clock to just after the cooldown. */
async function cooledDownTarget(target: TargetId): Promise<void> {
  const opened = await realNamespace().getByName(target).report([1, 2, 3, 4, 5].map(() => report(target, "failure")));
  vi.useFakeTimers({ toFake: ["Date"], now: (opened.health.retryAt ?? Number.NaN) + 1 });
  const ctx = createExecutionContext();
  healthView(env, ctx, [target]);
  await waitOnExecutionContext(ctx);
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

  it("writes its state to storage at most once a second, from an alarm, not on every batch", async () => {
    const target = newTarget();
    const stub = realNamespace().getByName(target);
    await stub.report([report(target, "failure")]);
    await stub.report([report(target, "failure")]);
    const before = await runInDurableObject(stub, async (_instance: RouteHealth, state) => ({
      saved: await state.storage.get<HealthState>("state"),
      alarm: await state.storage.getAlarm(),
    }));
    expect(before.saved).toBeUndefined();
    expect(before.alarm).toBeGreaterThan(Date.now());
    expect(before.alarm).toBeLessThanOrEqual(Date.now() + PERSIST_EVERY_MS);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    const saved = await runInDurableObject(stub, (_instance: RouteHealth, state) => state.storage.get<HealthState>("state"));
    expect(saved?.totals.failure).toBe(2);
  });

  it("after a failed registry write, tries again a minute later, not with every batch", async () => {
    const target = newTarget();
    let writes = 0;
    const failingKv = {
      put: () => {
        writes += 1;
        return Promise.reject(new Error("KV unavailable"));
      },
    } as unknown as KVNamespace;
    await runInDurableObject(realNamespace().getByName(target), async (_instance: RouteHealth, state) => {
      const object = new RouteHealthClass(state, { ...env, CONFIG: failingKv } as Env);
      await new Promise((r) => setTimeout(r, 0));
      await object.report([report(target, "success")]);
      await object.report([report(target, "success")]);
      expect(writes).toBe(1);
      vi.useFakeTimers({ toFake: ["Date"], now: Date.now() + REGISTER_RETRY_MS });
      await object.report([report(target, "success")]);
      expect(writes).toBe(2);
    });
  });

  it("versions its answers: every batch and every reset raises the version, a read repeats it", async () => {
    const target = newTarget();
    const stub = realNamespace().getByName(target);
    const first = await stub.report([report(target, "success")]);
    expect((await stub.snapshot()).version).toBe(first.version);
    const second = await stub.report([report(target, "failure")]);
    expect(second.version).toBeGreaterThan(first.version);
    const reset = await stub.reset();
    expect(reset?.version).toBeGreaterThan(second.version);
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

  it("hands a cooled-down target to one caller as a probe; the others see it open until the slot ends or the probe reports", async () => {
    const target = newTarget();
    await cooledDownTarget(target);
    const get = () => healthView(env, createExecutionContext(), []).get(target);
    expect(get()?.breaker).toBe("half-open");
    const slotEnds = Date.now() + PROBE_SLOT_MS;
    expect(get()).toMatchObject({ breaker: "open", retryAt: slotEnds });
    expect(get()).toMatchObject({ breaker: "open", retryAt: slotEnds });

    // That probe never reported (its request went elsewhere): once the slot ends, one more caller may probe.
    vi.setSystemTime(slotEnds);
    expect(get()?.breaker).toBe("half-open");
    expect(get()?.breaker).toBe("open");

    // The probe fails: the slot is free again, and the breaker is open locally for the doubled cooldown.
    const ctx = createExecutionContext();
    reportAttempt(env, ctx, report(target, "failure", { startedAt: Date.now() }));
    expect(get()).toMatchObject({ breaker: "open", retryAt: Date.now() + 2 * BREAKER.cooldownMs });
    await waitOnExecutionContext(ctx);
  });

  it("after the cooldown, one request probes the target while concurrent ones skip it", async () => {
    const flaky = uniqueTag("probe");
    const alias = uniqueTag("probe-route");
    const bindings = withHealth();
    await gateway(`/admin/routes/${alias}`, admin("PUT", { targets: [{ provider: "openai", model: flaky }, { provider: "deepseek", model: "steady" }] }), bindings);
    await cooledDownTarget(`openai/${flaky}`);
    const ask = (user: string, mock: Record<string, unknown> = {}) =>
      gateway("/v1/chat/completions", json({ model: alias, messages: [{ role: "user", content: "hi" }], user, mock }), bindings);

    const probeTag = uniqueTag("probe");
    const probe = ask(probeTag, { onlyModel: flaky, delayMs: 500 });
    await vi.waitFor(async () => expect(await upstreamSaw(probeTag)).toHaveLength(1));
    for (const tag of [uniqueTag("meanwhile"), uniqueTag("meanwhile")]) {
      const res = await ask(tag);
      expect(res.headers.get("x-switchyard-provider")).toBe("deepseek");
      expect((await upstreamSaw(tag)).map((r) => r.body.model)).toEqual(["steady"]);
    }
    expect((await probe).headers.get("x-switchyard-provider")).toBe("openai");
  });

  it("applies each unacknowledged report once, parsing its rate-limit headers once, however often planning reads", async () => {
    const target = newTarget();
    let headerReads = 0;
    const limited: AttemptReport = {
      ...report(target, "rate_limited"),
      get rateLimitHeaders() {
        headerReads += 1;
        return { "x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "20s" };
      },
    };
    const ctx = createExecutionContext();
    const view = healthView(env, ctx, []);
    reportAttempt(env, ctx, limited);
    for (let i = 0; i < 100; i++) expect(view.get(target)?.remainingRequests).toBe(0);
    expect(headerReads).toBe(1);
    await waitOnExecutionContext(ctx);
  });

  it("gives up on a batch RouteHealth does not answer within 10 s: its reports stop counting, the background work ends", async () => {
    vi.useFakeTimers({ toFake: ["Date", "setTimeout", "clearTimeout"] });
    const target = newTarget();
    const { env: silent, sent } = unansweredEnv();
    const ctx = createExecutionContext();
    const view = healthView(silent, ctx, []);
    for (let i = 0; i < 5; i++) reportAttempt(silent, ctx, report(target, "failure"));
    await vi.advanceTimersByTimeAsync(FLUSH_DEBOUNCE_MS);
    expect(sent).toEqual([5]);
    expect(view.get(target)?.breaker).toBe("open"); // still counted while the batch is on its way
    await vi.advanceTimersByTimeAsync(REPORT_TIMEOUT_MS);
    expect(view.get(target)).toBeUndefined();
    await waitOnExecutionContext(ctx);
  });

  it("forgets a batch older than 10 s when reading, even if its give-up timer has not run", async () => {
    const target = newTarget();
    const { env: silent, sent } = unansweredEnv();
    const view = healthView(silent, createExecutionContext(), []);
    for (let i = 0; i < 5; i++) reportAttempt(silent, createExecutionContext(), report(target, "failure"));
    await vi.waitFor(() => expect(sent).toEqual([5]));
    expect(view.get(target)?.breaker).toBe("open");
    vi.useFakeTimers({ toFake: ["Date"], now: Date.now() + REPORT_TIMEOUT_MS });
    expect(view.get(target)).toBeUndefined();
  });

  it("sets a new flush timer when the last one never fired (its request's context was cancelled)", async () => {
    vi.useFakeTimers({ toFake: ["Date", "setTimeout", "clearTimeout"] });
    const target = newTarget();
    const { env: counted, batches } = countingEnv();
    reportAttempt(counted, createExecutionContext(), report(target, "success"));
    vi.clearAllTimers();
    vi.setSystemTime(Date.now() + 6_000);
    const ctx = createExecutionContext();
    reportAttempt(counted, ctx, report(target, "success"));
    await vi.advanceTimersByTimeAsync(FLUSH_DEBOUNCE_MS);
    await waitOnExecutionContext(ctx);
    expect(batches).toEqual([2]);
  });

  it("keeps the newest snapshot: an answer read before a batch landed does not overwrite the batch's", async () => {
    const target = newTarget();
    const { env: slow, read, release } = slowSnapshotEnv();
    const ctx = createExecutionContext();
    const view = healthView(slow, ctx, [target]); // reads "closed", held back
    await vi.waitFor(() => expect(read()).toBe(true));
    for (let i = 0; i < 5; i++) reportAttempt(slow, ctx, report(target, "failure"));
    await vi.waitFor(async () => expect((await realNamespace().getByName(target).state())?.breaker).toBe("open"));
    await new Promise((r) => setTimeout(r, 50)); // the batch's answer reaches the cache
    release();
    await waitOnExecutionContext(ctx);
    expect(view.get(target)?.breaker).toBe("open");
  });

  it("after an admin reset, the reset's snapshot wins over an older answer still on its way", async () => {
    const target = newTarget();
    await realNamespace().getByName(target).report([1, 2, 3, 4, 5].map(() => report(target, "failure")));
    const { env: slow, read, release } = slowSnapshotEnv();
    const ctx = createExecutionContext();
    const view = healthView(slow, ctx, [target]); // reads "open", held back
    await vi.waitFor(() => expect(read()).toBe(true));
    expect((await gateway(`/admin/health/${target}/reset`, admin("POST"), withHealth())).status).toBe(200);
    expect(view.get(target)?.breaker).toBe("closed");
    release();
    await waitOnExecutionContext(ctx);
    expect(view.get(target)?.breaker).toBe("closed");
  });

  it("does not report a target id over 300 bytes (RouteHealth could not list it in KV)", async () => {
    const fits = `openai/${"m".repeat(293)}`;
    const tooLong = `openai/${"m".repeat(294)}`;
    const tooManyBytes = `openai/${"€".repeat(98)}`; // 105 characters, 301 bytes
    const { env: counted, batches } = countingEnv();
    const ctx = createExecutionContext();
    const view = healthView(counted, ctx, []);
    for (const target of [fits, tooLong, tooManyBytes]) reportAttempt(counted, ctx, report(target, "rate_limited"));
    await waitOnExecutionContext(ctx);
    expect(batches).toEqual([1]);
    expect(view.get(fits)?.weightFactor).toBeLessThan(1);
    expect(view.get(tooLong)).toBeUndefined();
    expect(view.get(tooManyBytes)).toBeUndefined();
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

  it("lists targets a page at a time (?limit, ?cursor), reading at most 10 objects at once", async () => {
    const ours = Array.from({ length: 25 }, () => newTarget());
    await Promise.all(ours.map((t) => realNamespace().getByName(t).report([report(t, "success")])));
    const ns = realNamespace();
    let reading = 0;
    let most = 0;
    const counting = {
      getByName: (name: string) => ({
        state: async () => {
          reading += 1;
          most = Math.max(most, reading);
          try {
            await new Promise((r) => setTimeout(r, 5));
            return await ns.getByName(name).state();
          } finally {
            reading -= 1;
          }
        },
      }),
    };
    const bindings = { ...withHealth(), ROUTE_HEALTH: counting as unknown as Namespace };
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const query: string = cursor === null ? "" : `&cursor=${encodeURIComponent(cursor)}`;
      const page = await (await gateway(`/admin/health?limit=20${query}`, admin("GET"), bindings)).json<{ data: AdminTarget[]; has_more: boolean; next_cursor: string | null }>();
      expect(page.data.length).toBeLessThanOrEqual(20);
      expect(page.has_more).toBe(page.next_cursor !== null);
      seen.push(...page.data.map((t) => t.target));
      cursor = page.next_cursor;
      pages += 1;
    } while (cursor !== null);
    expect(pages).toBeGreaterThan(1);
    expect(seen).toEqual(expect.arrayContaining(ours));
    expect(new Set(seen).size).toBe(seen.length);
    expect(most).toBe(10);
  });

  it("refuses a list limit outside 1-500 with a 400 naming the parameter", async () => {
    for (const limit of ["0", "501", "ten", "-1"]) {
      const res = await gateway(`/admin/health?limit=${limit}`, admin("GET"), withHealth());
      expect(res.status).toBe(400);
      expect((await res.json<OpenAIError>()).error).toMatchObject({ param: "limit", code: "invalid_value" });
    }
    expect((await gateway("/admin/health?limit=500", admin("GET"), withHealth())).status).toBe(200);
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
