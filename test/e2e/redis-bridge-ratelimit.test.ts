/**
 * The real @upstash/ratelimit (its Lua scripts, EVALSHA with EVAL fallback)
 * through the Upstash REST bridge to a real redis-server.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Ratelimit } from "@upstash/ratelimit";
import { Redis } from "@upstash/redis";
import { redisServerPath, startRedisBridge, startRedisServer, type RedisBridge, type RedisServer } from "../support/redis-bridge.ts";
import { RedisPool, RespError } from "../support/redis/resp.ts";
import { sha1Hex } from "../support/redis/scripts.ts";

let server: RedisServer;
let bridge: RedisBridge;
let redis: Redis;
/** Straight to redis-server, past the bridge: what Redis itself holds. */
let direct: RedisPool;

before(async () => {
  assert.ok(redisServerPath() !== null, "redis-server is not installed (apt-get install redis-server): the rate-limit tests need a real Redis");
  server = await startRedisServer();
  bridge = await startRedisBridge({ redisPort: server.port, token: "ratelimit-test-token" });
  redis = new Redis({ url: bridge.url, token: bridge.token, enableTelemetry: false });
  direct = new RedisPool({ port: server.port, timeoutMs: 2000 });
});

after(async () => {
  direct?.close();
  await bridge?.close();
  await server?.close();
});

const HOUR = 3_600_000;
let idCounter = 0;
const uniqueId = (name: string): string => `${name}-${Date.now()}-${idCounter++}`;

function limiter(algorithm: ReturnType<typeof Ratelimit.fixedWindow>, prefix = uniqueId("rl")): Ratelimit {
  return new Ratelimit({ redis, limiter: algorithm, ephemeralCache: false, prefix, enableTelemetry: false });
}

async function cachedScripts(): Promise<number> {
  const [info] = await direct.run([["INFO", "memory"]]);
  const match = /number_of_cached_scripts:(\d+)/.exec(Buffer.isBuffer(info) ? info.toString() : "");
  assert.ok(match?.[1] !== undefined, "INFO memory reports number_of_cached_scripts");
  return Number(match[1]);
}

describe("algorithms", () => {
  test("slidingWindow: exactly 5 of 12 concurrent calls pass; remaining counts down; reset is the window's end", async () => {
    const rl = limiter(Ratelimit.slidingWindow(5, "1 h"));
    const before = Date.now();
    const results = await Promise.all(Array.from({ length: 12 }, () => rl.limit("user")));
    const passed = results.filter((r) => r.success);
    assert.equal(passed.length, 5);
    assert.deepEqual(passed.map((r) => r.remaining).sort(), [0, 1, 2, 3, 4]);
    for (const r of results) {
      assert.equal(r.limit, 5);
      if (!r.success) assert.equal(r.remaining, 0);
      assert.equal(r.reset, (Math.floor(before / HOUR) + 1) * HOUR);
    }
  });

  test("fixedWindow: 5 of 12 concurrent; `rate` weighs a call", async () => {
    const rl = limiter(Ratelimit.fixedWindow(5, "1 h"));
    const results = await Promise.all(Array.from({ length: 12 }, () => rl.limit("user")));
    assert.equal(results.filter((r) => r.success).length, 5);

    const weighted = limiter(Ratelimit.fixedWindow(10, "1 h"));
    assert.deepEqual(pick(await weighted.limit("u", { rate: 4 })), { success: true, remaining: 6 });
    assert.deepEqual(pick(await weighted.limit("u", { rate: 6 })), { success: true, remaining: 0 });
    assert.deepEqual(pick(await weighted.limit("u")), { success: false, remaining: 0 });
  });

  test("tokenBucket: 10 of 15 concurrent; a call heavier than what is left fails without spending it", async () => {
    const rl = limiter(Ratelimit.tokenBucket(1, "1 h", 10));
    const before = Date.now();
    const results = await Promise.all(Array.from({ length: 15 }, () => rl.limit("user")));
    assert.equal(results.filter((r) => r.success).length, 10);
    for (const r of results) assert.ok(r.reset >= before + HOUR && r.reset <= Date.now() + HOUR, "reset: refill time + interval");

    const weighted = limiter(Ratelimit.tokenBucket(1, "1 h", 10));
    assert.deepEqual(pick(await weighted.limit("u", { rate: 8 })), { success: true, remaining: 2 });
    assert.deepEqual(pick(await weighted.limit("u", { rate: 4 })), { success: false, remaining: 0 });
    assert.deepEqual(pick(await weighted.limit("u", { rate: 2 })), { success: true, remaining: 0 });
  });

  test("getRemaining and resetUsedTokens", async () => {
    for (const algorithm of [Ratelimit.slidingWindow(5, "1 h"), Ratelimit.fixedWindow(5, "1 h"), Ratelimit.tokenBucket(1, "1 h", 5)]) {
      const rl = limiter(algorithm);
      for (let i = 0; i < 3; i++) assert.equal((await rl.limit("user")).success, true);
      assert.equal((await rl.getRemaining("user")).remaining, 2);
      await rl.resetUsedTokens("user");
      assert.equal((await rl.getRemaining("user")).remaining, 5);
      assert.deepEqual(pick(await rl.limit("user")), { success: true, remaining: 4 });
    }
  });
});

function pick(r: { success: boolean; remaining: number }): { success: boolean; remaining: number } {
  return { success: r.success, remaining: r.remaining };
}

describe("scripts", () => {
  const flagged = '#!lua flags=allow-key-locking\nreturn redis.call("INCR", KEYS[1])\n';

  test("real Redis refuses Upstash's shebang flag: the bridge is what makes the library's scripts run", async () => {
    const [reply] = await direct.run([["EVAL", flagged, "1", "script:direct"]]);
    assert.ok(reply instanceof RespError);
    assert.match(reply.message, /Unexpected flag in script shebang: allow-key-locking/);
  });

  test("first limit(): EVALSHA gets NOSCRIPT and the library falls back to EVAL; the next limit() uses the hash", async () => {
    await redis.scriptFlush();
    assert.equal(await cachedScripts(), 0);
    const rl = limiter(Ratelimit.fixedWindow(5, "1 h"));
    bridge.resetStats();
    assert.equal((await rl.limit("user")).remaining, 4);
    assert.deepEqual(bridge.stats().commands, { EVALSHA: 1, EVAL: 1 });
    assert.equal(bridge.stats().noscriptReplies, 1);
    assert.equal(await cachedScripts(), 1);
    assert.equal((await rl.limit("user")).remaining, 3);
    assert.deepEqual(bridge.stats().commands, { EVALSHA: 2, EVAL: 1 });
    assert.equal(bridge.stats().noscriptReplies, 1);
  });

  test("an unknown hash: Redis's own NOSCRIPT error, as Upstash sends it", async () => {
    const { status, body } = await post("/", ["EVALSHA", "0".repeat(40), "0"]);
    assert.equal(status, 400);
    assert.deepEqual(body, { error: "NOSCRIPT No matching script. Please use EVAL." });
  });

  test("SCRIPT LOAD answers the hash of the text sent; EVALSHA and SCRIPT EXISTS take it", async () => {
    const sha = await redis.scriptLoad(flagged);
    assert.equal(sha, sha1Hex(flagged));
    assert.deepEqual(await redis.scriptExists(sha, "0".repeat(40)), [1, 0]);
    assert.equal(await redis.evalsha(sha, ["script:n"], []), 1);
    assert.equal(await redis.evalsha(sha, ["script:n"], []), 2);
  });
});

async function post(path: string, command: unknown): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${bridge.url}${path}`, { method: "POST", headers: { authorization: `Bearer ${bridge.token}` }, body: JSON.stringify(command) });
  return { status: res.status, body: await res.json() };
}

describe("failure and cost", () => {
  test("with Redis down, limit() rejects (it does not pass the request); it works again once Redis is back", async () => {
    const local = await startRedisServer();
    const quick = await startRedisBridge({ redisPort: local.port, token: "t", redisTimeoutMs: 500 });
    try {
      const client = new Redis({ url: quick.url, token: "t", enableTelemetry: false });
      const rl = new Ratelimit({ redis: client, limiter: Ratelimit.slidingWindow(5, "1 h"), ephemeralCache: false, enableTelemetry: false });
      assert.equal((await rl.limit("user")).success, true);
      await local.stop();
      await assert.rejects(rl.limit("user"), /could not connect to Redis/);
      await local.start();
      assert.deepEqual(pick(await rl.limit("user")), { success: true, remaining: 4 });
    } finally {
      await quick.close();
      await local.close();
    }
  });

  test("latency of one limit() through the bridge (sequential calls, scripts cached)", async (t) => {
    for (const [name, algorithm] of [
      ["slidingWindow", Ratelimit.slidingWindow(1000, "1 h")],
      ["fixedWindow", Ratelimit.fixedWindow(1000, "1 h")],
      ["tokenBucket", Ratelimit.tokenBucket(1, "1 h", 1000)],
    ] as const) {
      const rl = limiter(algorithm);
      await rl.limit("warm");
      const calls = 100;
      const started = performance.now();
      for (let i = 0; i < calls; i++) await rl.limit("user");
      const mean = (performance.now() - started) / calls;
      t.diagnostic(`${name}: ${mean.toFixed(2)} ms per limit()`);
      assert.ok(mean < 250, `${name} took ${mean} ms per call`);
    }
  });
});
