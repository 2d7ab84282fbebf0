import { describe, expect, it } from "vitest";
import { putRoute } from "../../src/config/routes.ts";
import type { Route, RouteTarget } from "../../src/config/schemas.ts";
import type { HealthView, TargetHealth } from "../../src/routing/health-types.ts";
import { planAttempts, type PlanChoices } from "../../src/routing/plan.ts";
import { orderTargets, type OrderInputs } from "../../src/routing/route-order.ts";
import { configuredPrice } from "../../src/routing/prices.ts";
import { admin, gateway, json, testEnv, uniqueTag, type OpenAIError } from "./helpers.ts";

const NOW = 1_700_000_000_000;
const env = testEnv();

/** xorshift32: a repeatable stand-in for Math.random, so a distribution test cannot flake. */
function seededRandom(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 2 ** 32;
  };
}

const healthy: TargetHealth = {
  breaker: "closed",
  retryAt: null,
  ttfbMs: null,
  weightFactor: 1,
  remainingRequests: null,
  remainingTokens: null,
  resetAt: null,
};

/** A HealthView over `provider/model` → partial health (the rest healthy); unlisted targets are unknown. */
function healthOf(entries: Record<string, Partial<TargetHealth>>): HealthView {
  return { get: (id) => (Object.hasOwn(entries, id) ? { ...healthy, ...entries[id] } : undefined) };
}

const t = (model: string, extra: Partial<RouteTarget> = {}): RouteTarget => ({ provider: "openai", model, ...extra });

function order(strategy: Route["strategy"], targets: RouteTarget[], inputs: Partial<OrderInputs> = {}): string[] {
  const all: OrderInputs = { purpose: "chat", random: Math.random, priceOf: configuredPrice, health: undefined, now: NOW, ...inputs };
  return orderTargets(strategy, targets, all).map((target) => target.model);
}

/** Stores `route` under a fresh alias and plans it `n` times; returns how often each model came first. */
async function firstPicks(route: Route, n: number, health?: HealthView, choices: PlanChoices = {}): Promise<Record<string, number>> {
  const alias = uniqueTag("strat").slice(0, 40);
  await putRoute(env, alias, route);
  const counts: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const plan = await planAttempts(env, alias, "chat", health, choices);
    const first = plan.attempts[0]?.model ?? "none";
    counts[first] = (counts[first] ?? 0) + 1;
  }
  return counts;
}

const share = (counts: Record<string, number>, model: string, n: number): number => (counts[model] ?? 0) / n;

describe("fallback", () => {
  it("keeps the configured order, and with no health every target is tried", async () => {
    const alias = uniqueTag("fb").slice(0, 40);
    await putRoute(env, alias, {
      strategy: "fallback",
      targets: [t("c", { ttfbTimeoutMs: 900, maxAttempts: 3 }), t("a"), { provider: "deepseek", model: "b" }],
    });
    const plan = await planAttempts(env, alias, "chat");
    expect(plan.attempts.map((a) => `${a.provider.name}/${a.model}`)).toEqual(["openai/c", "openai/a", "deepseek/b"]);
    expect(plan.attempts.map((a) => [a.ttfbTimeoutMs, a.maxAttempts])).toEqual([[900, 3], [undefined, undefined], [undefined, undefined]]);
  });
});

describe("weighted", () => {
  const split: Route = { strategy: "weighted", targets: [t("w80", { weight: 80 }), t("w15", { weight: 15 }), t("w5", { weight: 5 })] };

  it("weights 80/15/5 hold within ±5 % over 2,000 planned requests", async () => {
    const n = 2000;
    const counts = await firstPicks(split, n, undefined, { random: seededRandom(42) });
    expect(Math.abs(share(counts, "w80", n) - 0.8)).toBeLessThanOrEqual(0.05);
    expect(Math.abs(share(counts, "w15", n) - 0.15)).toBeLessThanOrEqual(0.05);
    expect(Math.abs(share(counts, "w5", n) - 0.05)).toBeLessThanOrEqual(0.05);
  });

  it("with the real Math.random too", async () => {
    const n = 2000;
    const counts = await firstPicks(split, n);
    // 80 % ± 5 points is more than 5 standard deviations at n = 2,000.
    expect(Math.abs(share(counts, "w80", n) - 0.8)).toBeLessThanOrEqual(0.05);
    expect(share(counts, "w5", n)).toBeGreaterThan(0);
  });

  it("a health weightFactor shifts the split (80×0.25 / 15 / 5 → 50 / 37.5 / 12.5)", async () => {
    const n = 2000;
    const counts = await firstPicks(split, n, healthOf({ "openai/w80": { weightFactor: 0.25 } }), { random: seededRandom(7) });
    expect(Math.abs(share(counts, "w80", n) - 0.5)).toBeLessThanOrEqual(0.05);
    expect(Math.abs(share(counts, "w15", n) - 0.375)).toBeLessThanOrEqual(0.05);
    expect(Math.abs(share(counts, "w5", n) - 0.125)).toBeLessThanOrEqual(0.05);
  });

  it("the targets not drawn follow as fallbacks, heaviest first", () => {
    const targets = [t("w5", { weight: 5 }), t("w80", { weight: 80 }), t("w15", { weight: 15 })];
    // The draw walks the weights heaviest first: [0, .80) → w80, [.80, .95) → w15, [.95, 1) → w5.
    expect(order("weighted", targets, { random: () => 0.1 })).toEqual(["w80", "w15", "w5"]);
    expect(order("weighted", targets, { random: () => 0.9 })).toEqual(["w15", "w80", "w5"]);
    expect(order("weighted", targets, { random: () => 0.99 })).toEqual(["w5", "w80", "w15"]);
  });

  it("weight defaults to 1 and weight 0 is a fallback that is never drawn first", async () => {
    const n = 500;
    const counts = await firstPicks({ strategy: "weighted", targets: [t("zero", { weight: 0 }), t("one"), t("three", { weight: 3 })] }, n, undefined, {
      random: seededRandom(3),
    });
    expect(counts["zero"]).toBeUndefined();
    expect(Math.abs(share(counts, "three", n) - 0.75)).toBeLessThanOrEqual(0.06);
    expect(order("weighted", [t("zero", { weight: 0 }), t("one")], { random: () => 0.999999 })).toEqual(["one", "zero"]);
  });

  it("when health throttles every weight to 0, targets go in configured weight order", () => {
    const health = healthOf({ "openai/a": { weightFactor: 0 }, "openai/b": { weightFactor: 0 } });
    expect(order("weighted", [t("a", { weight: 1 }), t("b", { weight: 2 })], { health, random: () => 0 })).toEqual(["b", "a"]);
  });

  it("a target on an unconfigured provider never wins the draw", async () => {
    const counts = await firstPicks(
      { strategy: "weighted", targets: [{ provider: "groq", model: "heavy", weight: 1000 }, t("light", { weight: 1 })] },
      50,
      undefined,
      { random: seededRandom(5) },
    );
    expect(counts).toEqual({ light: 50 });
  });
});

describe("cheapest", () => {
  const targets = [
    t("unpriced-1"),
    t("dear", { price: { input: 2.5, output: 10 } }), // blended (3×2.5 + 10) / 4 = 4.375
    t("cheap-in", { price: { input: 0.1, output: 12 } }), // 3.075
    t("unpriced-2"),
    t("cheap", { price: { input: 0.15, output: 0.6 } }), // 0.2625
  ];

  it("orders priced targets by blended price (3 input : 1 output), unpriced after them in configured order", () => {
    expect(order("cheapest", targets)).toEqual(["cheap", "cheap-in", "dear", "unpriced-1", "unpriced-2"]);
  });

  it("for embeddings only the input price counts", () => {
    const embedTargets = [t("a", { price: { input: 0.13, output: 0 } }), t("b", { price: { input: 0.02, output: 5 } })];
    expect(order("cheapest", embedTargets, { purpose: "embeddings" })).toEqual(["b", "a"]);
    expect(order("cheapest", embedTargets, { purpose: "chat" })).toEqual(["a", "b"]);
  });

  it("takes prices from the lookup it is given (the price table's seam)", () => {
    const table: Record<string, { input: number; output: number }> = { "unpriced-2": { input: 0, output: 0 } };
    const priceOf = (target: RouteTarget) => table[target.model] ?? target.price;
    expect(order("cheapest", targets, { priceOf })[0]).toBe("unpriced-2");
  });

  it("a chat on a cheapest route is answered by the cheapest target", async () => {
    const alias = uniqueTag("cheap").slice(0, 40);
    const put = await gateway(
      `/admin/routes/${alias}`,
      admin("PUT", {
        strategy: "cheapest",
        targets: [
          { provider: "openai", model: "gpt-4.1", price: { input: 2, output: 8 } },
          { provider: "deepseek", model: "deepseek-chat", price: { input: 0.27, output: 1.1 } },
        ],
      }),
    );
    expect(put.status).toBe(200);
    const res = await gateway("/v1/chat/completions", json({ model: alias, messages: [{ role: "user", content: "hi" }] }));
    expect(res.status).toBe(200);
    expect(res.headers.get("x-switchyard-model")).toBe("deepseek-chat");
  });
});

describe("fastest", () => {
  it("puts never-seen targets first (so they get measured), then the measured ones by TTFB, and seen-but-never-answered ones last", () => {
    const health = healthOf({ "openai/slow": { ttfbMs: 900 }, "openai/quick": { ttfbMs: 120 }, "openai/mid": { ttfbMs: 400 }, "openai/failing": {} });
    expect(order("fastest", [t("slow"), t("new-1"), t("quick"), t("mid"), t("failing")], { health })).toEqual(["new-1", "quick", "mid", "slow", "failing"]);
  });

  it("puts a target whose weight recent 429s cut below half after the others, for cheapest and fastest too", () => {
    const health = healthOf({ "openai/quick": { ttfbMs: 120, weightFactor: 0.25 }, "openai/mid": { ttfbMs: 400 } });
    expect(order("fastest", [t("quick"), t("mid")], { health })).toEqual(["mid", "quick"]);
  });
});

describe("health", () => {
  const targets = [t("a"), t("b"), t("c")];

  it("skips a target whose breaker is open, keeps a half-open one as a probe", () => {
    const health = healthOf({ "openai/a": { breaker: "open", retryAt: NOW + 30_000 }, "openai/b": { breaker: "half-open", retryAt: NOW - 1 } });
    expect(order("fallback", targets, { health })).toEqual(["b", "c"]);
  });

  it("an open breaker whose retryAt has passed is tried (the snapshot is older than the cooldown)", () => {
    const health = healthOf({ "openai/a": { breaker: "open", retryAt: NOW - 1 } });
    expect(order("fallback", targets, { health })).toEqual(["a", "b", "c"]);
  });

  it("when every breaker is open, tries them all anyway, soonest retryAt first", () => {
    const health = healthOf({
      "openai/a": { breaker: "open", retryAt: NOW + 50_000 },
      "openai/b": { breaker: "open", retryAt: null },
      "openai/c": { breaker: "open", retryAt: NOW + 5_000 },
    });
    expect(order("weighted", targets, { health })).toEqual(["c", "a", "b"]);
  });

  it("an open breaker never wins the weighted draw", async () => {
    const health = healthOf({ "openai/w80": { breaker: "open", retryAt: NOW + 60_000 } });
    const counts = await firstPicks({ strategy: "weighted", targets: [t("w80", { weight: 80 }), t("w20", { weight: 20 })] }, 200, health, {
      random: seededRandom(11),
      now: NOW,
    });
    expect(counts).toEqual({ w20: 200 });
  });

  it("puts a target out of rate-limit headroom last, until its window resets", () => {
    const out = { remainingRequests: 0, resetAt: NOW + 10_000 };
    expect(order("fallback", targets, { health: healthOf({ "openai/a": out }) })).toEqual(["b", "c", "a"]);
    expect(order("fallback", targets, { health: healthOf({ "openai/a": { remainingTokens: 0, resetAt: NOW + 10_000 } }) })).toEqual(["b", "c", "a"]);
    expect(order("fallback", targets, { health: healthOf({ "openai/a": { ...out, resetAt: NOW - 1 } }) })).toEqual(["a", "b", "c"]);
    expect(order("fallback", targets, { health: healthOf({ "openai/a": { remainingRequests: 3, resetAt: NOW + 10_000 } }) })).toEqual(["a", "b", "c"]);
    // The fastest target, but the provider would refuse it now.
    const fast = healthOf({ "openai/a": { ...out, ttfbMs: 10 }, "openai/b": { ttfbMs: 300 }, "openai/c": { ttfbMs: 200 } });
    expect(order("fastest", targets, { health: fast })).toEqual(["c", "b", "a"]);
  });

  it("a direct provider/model is planned whatever its health: it is the only choice", async () => {
    const health = healthOf({ "openai/gpt-4o": { breaker: "open", retryAt: Date.now() + 60_000 } });
    const plan = await planAttempts(env, "openai/gpt-4o", "chat", health);
    expect(plan.attempts.map((a) => [a.model, a.maxAttempts])).toEqual([["gpt-4o", undefined]]);
  });
});

describe("route validation (PUT /admin/routes/:alias)", () => {
  const put = (body: unknown) => gateway(`/admin/routes/${uniqueTag("v").slice(0, 40)}`, admin("PUT", body));

  it("refuses a weighted route without a positive weight, naming the fix", async () => {
    const res = await put({ strategy: "weighted", targets: [t("a", { weight: 0 }), t("b", { weight: 0 })] });
    expect(res.status).toBe(400);
    const { error } = await res.json<OpenAIError>();
    expect(error.param).toBe("targets");
    expect(error.message).toContain("'weighted' route needs at least one target with a positive weight");
  });

  it("accepts weight 0 beside a positive or default weight", async () => {
    expect((await put({ strategy: "weighted", targets: [t("a", { weight: 0 }), t("b")] })).status).toBe(200);
  });

  it("checks prices strictly and lets cheapest targets go without one", async () => {
    const negative = await put({ strategy: "cheapest", targets: [t("a", { price: { input: -1, output: 2 } })] });
    expect(negative.status).toBe(400);
    expect((await negative.json<OpenAIError>()).error.param).toBe("targets[0].price.input");

    const missing = await put({ targets: [t("a"), { provider: "openai", model: "b", price: { input: 1 } }] });
    expect(missing.status).toBe(400);
    expect((await missing.json<OpenAIError>()).error.param).toBe("targets[1].price.output");

    const extra = await put({ targets: [{ provider: "openai", model: "a", price: { input: 1, output: 2, currency: "EUR" } }] });
    expect(extra.status).toBe(400);
    const extraError = (await extra.json<OpenAIError>()).error;
    expect(extraError.param).toBe("targets[0].price");
    expect(extraError.message).toContain("currency");

    const partly = await put({ strategy: "cheapest", targets: [t("a", { price: { input: 0.5, output: 1.5 } }), t("b")] });
    expect(partly.status).toBe(200);
    const stored = await partly.json<{ route: Route }>();
    expect(stored.route.targets[0]?.price).toEqual({ input: 0.5, output: 1.5 });
  });
});
