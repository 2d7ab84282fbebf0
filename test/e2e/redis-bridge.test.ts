/**
 * The real @upstash/redis client against the Upstash REST bridge and a real
 * redis-server: commands, encodings, pipelines, transactions, errors, auth,
 * and a Redis that hangs or dies and comes back.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Redis } from "@upstash/redis";
import { redisServerPath, startLocalRedis, startRedisBridge, startRedisServer, type RedisBridge, type RedisServer } from "../support/redis-bridge.ts";

let server: RedisServer;
let bridge: RedisBridge;

before(async () => {
  assert.ok(redisServerPath() !== null, "redis-server is not installed (apt-get install redis-server): the rate-limit tests need a real Redis");
  server = await startRedisServer();
  bridge = await startRedisBridge({ redisPort: server.port, token: "bridge-test-token" });
});

after(async () => {
  await bridge?.close();
  await server?.close();
});

/** The client as an application would build it (base64 responses and auto-pipelining are its defaults). */
function client(options: { token?: string; enableAutoPipelining?: boolean; responseEncoding?: false } = {}): Redis {
  return new Redis({ url: bridge.url, token: options.token ?? bridge.token, enableTelemetry: false, ...options });
}

/** One raw REST call, to check the bytes Upstash's protocol puts on the wire. */
async function rest(path: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; json: unknown }> {
  const res = await fetch(`${bridge.url}${path}`, {
    method: "POST",
    headers: { authorization: `Bearer ${bridge.token}`, "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
  return { status: res.status, json: await res.json() };
}

describe("commands through @upstash/redis", () => {
  test("SET, GET, INCR", async () => {
    const redis = client();
    assert.equal(await redis.set("basic:k", "hello"), "OK");
    assert.equal(await redis.get("basic:k"), "hello");
    assert.equal(await redis.incr("basic:n"), 1);
    assert.equal(await redis.incr("basic:n"), 2);
    assert.equal(await redis.get("basic:missing"), null);
  });

  test("the client asks for base64 strings by default, and unicode survives both encodings", async () => {
    const value = "héllo wörld 🚀 “quotes” \\ \u2028 日本語";
    for (const redis of [client(), client({ responseEncoding: false })]) {
      await redis.set("enc:k", value);
      assert.equal(await redis.get("enc:k"), value);
    }
    bridge.resetStats();
    await client().get("enc:k");
    assert.equal(bridge.stats().base64Requests, 1, "default client sends Upstash-Encoding: base64");
    bridge.resetStats();
    await client({ responseEncoding: false }).get("enc:k");
    assert.equal(bridge.stats().base64Requests, 0);
  });

  test("base64 on the wire: strings encoded, top-level OK and numbers not; invalid UTF-8 becomes U+FFFD without it", async () => {
    const b64 = { "upstash-encoding": "base64" };
    assert.deepEqual(await rest("/", ["SET", "wire:k", "bar"], b64), { status: 200, json: { result: "OK" } });
    assert.deepEqual(await rest("/", ["GET", "wire:k"], b64), { status: 200, json: { result: "YmFy" } });
    assert.deepEqual(await rest("/", ["PING"], b64), { status: 200, json: { result: "UE9ORw==" } });
    assert.deepEqual(await rest("/", ["INCR", "wire:n"], b64), { status: 200, json: { result: 1 } });
    assert.deepEqual(await rest("/", ["MGET", "wire:k", "wire:none"], b64), { status: 200, json: { result: ["YmFy", null] } });
    // BITOP NOT of "AB" is 0xBE 0xBD: not UTF-8.
    await client().set("wire:src", "AB");
    await client().bitop("not", "wire:bin", "wire:src");
    assert.deepEqual(await rest("/", ["GET", "wire:bin"], b64), { status: 200, json: { result: "vr0=" } });
    assert.deepEqual(await rest("/", ["GET", "wire:bin"]), { status: 200, json: { result: "\uFFFD\uFFFD" } });
  });

  test("a 1 MB value arrives whole", async () => {
    const big = "ü".repeat(512 * 1024) + "end";
    const redis = client();
    await redis.set("big:k", big);
    assert.equal(await redis.get("big:k"), big);
  });

  test("200 concurrent INCRs, each its own request: every reply reaches its own caller", async () => {
    const redis = client({ enableAutoPipelining: false });
    const values = await Promise.all(Array.from({ length: 200 }, () => redis.incr("conc:n")));
    assert.deepEqual([...values].sort((a, b) => a - b), Array.from({ length: 200 }, (_, i) => i + 1));
  });
});

describe("pipelines and transactions", () => {
  test("pipeline(): results in order", async () => {
    const p = client().pipeline();
    p.set("pipe:a", "1");
    p.incr("pipe:a");
    p.get("pipe:a");
    p.del("pipe:a");
    assert.deepEqual(await p.exec(), ["OK", 2, 2, 1]);
  });

  test("an error inside a pipeline: the other commands run; exec() names the failed one", async () => {
    const body = [["SET", "pipe:s", "abc"], ["INCR", "pipe:s"], ["GET", "pipe:s"]];
    assert.deepEqual(await rest("/pipeline", body), {
      status: 200,
      json: [{ result: "OK" }, { error: "ERR value is not an integer or out of range" }, { result: "abc" }],
    });
    const p = client().pipeline();
    p.set("pipe:s", "abc");
    p.incr("pipe:s");
    p.get("pipe:s");
    await assert.rejects(p.exec(), /Command 2 \[ incr \] failed: ERR value is not an integer or out of range/);
    const kept = client().pipeline().set("pipe:s", "abc").incr("pipe:s");
    const results = await kept.exec({ keepErrors: true });
    assert.equal(results[0]?.result, "OK");
    assert.equal(results[1]?.error, "ERR value is not an integer or out of range");
  });

  test("multi(): atomic, even with 20 transactions at once", async () => {
    const redis = client({ enableAutoPipelining: false });
    assert.deepEqual(await redis.multi().set("tx:a", "1").incr("tx:a").exec(), ["OK", 2]);
    const pairs = await Promise.all(Array.from({ length: 20 }, () => redis.multi().incr("tx:n").incr("tx:n").exec()));
    for (const [first, second] of pairs) assert.equal(second, (first ?? 0) + 1, "nothing ran between a transaction's commands");
  });

  test("a transaction Redis discards runs nothing and answers 400 with the cause", async () => {
    const { status, json } = await rest("/multi-exec", [["SET", "tx:x", "1"], ["NOPE"]]);
    assert.equal(status, 400);
    assert.match((json as { error: string }).error, /^ERR unknown command 'NOPE'/);
    assert.equal(await client().get("tx:x"), null);
  });

  test("auto-pipelining (on by default) sends concurrent reads as one request", async () => {
    const redis = client();
    bridge.resetStats();
    const values = await Promise.all(["ap:1", "ap:2", "ap:3", "ap:4", "ap:5"].map((k) => redis.get(k)));
    assert.deepEqual(values, [null, null, null, null, null]);
    assert.equal(bridge.stats().requests, 1);
    assert.equal(bridge.stats().commands.GET, 5);
  });
});

describe("errors", () => {
  test("a Redis error on one command: 400 {error}, thrown by the client with Redis's message", async () => {
    await client().set("err:s", "abc");
    assert.deepEqual(await rest("/", ["INCR", "err:s"]), { status: 400, json: { error: "ERR value is not an integer or out of range" } });
    await assert.rejects(client({ enableAutoPipelining: false }).incr("err:s"), (err: Error) => {
      assert.equal(err.name, "UpstashError");
      assert.match(err.message, /^ERR value is not an integer or out of range, command was: \["incr","err:s"\]/);
      return true;
    });
    await assert.rejects(client().incr("err:s"), /Command failed: ERR value is not an integer or out of range/);
  });

  test("a wrong or missing token: 401 Unauthorized, and the client throws it", async () => {
    await assert.rejects(client({ token: "wrong-token" }).get("auth:k"), /Unauthorized/);
    const res = await fetch(bridge.url, { method: "POST", body: JSON.stringify(["PING"]) });
    assert.equal(res.status, 401);
    assert.deepEqual(await res.json(), { error: "Unauthorized" });
    const byQuery = await fetch(`${bridge.url}/?_token=${bridge.token}`, { method: "POST", body: JSON.stringify(["PING"]) });
    assert.deepEqual(await byQuery.json(), { result: "PONG" });
  });

  test("commands that would change a shared connection are refused; malformed bodies are 400", async () => {
    assert.deepEqual(await rest("/", ["SELECT", "1"]), { status: 400, json: { error: "ERR Command is not available through the REST bridge: 'select'" } });
    assert.equal((await rest("/", { not: "a command" })).status, 400);
    assert.equal((await rest("/pipeline", [])).status, 400);
  });
});

describe("a Redis that hangs or dies", () => {
  test("paused (SIGSTOP): 503 after the bridge's timeout, not a hang; works again once resumed", async () => {
    const local = await startRedisServer();
    const quick = await startRedisBridge({ redisPort: local.port, token: "t", redisTimeoutMs: 500 });
    try {
      const redis = new Redis({ url: quick.url, token: "t", enableTelemetry: false, enableAutoPipelining: false });
      await redis.set("fault:k", "v");
      local.pause();
      const started = Date.now();
      await assert.rejects(redis.get("fault:k"), /Redis did not answer within 500 ms/);
      assert.ok(Date.now() - started < 3000);
      const raw = await fetch(quick.url, { method: "POST", headers: { authorization: "Bearer t" }, body: JSON.stringify(["PING"]) });
      assert.equal(raw.status, 503);
      local.resume();
      assert.equal(await redis.get("fault:k"), "v");
    } finally {
      local.resume();
      await quick.close();
      await local.close();
    }
  });

  test("killed: errors at once; after a restart the bridge reconnects", async () => {
    const local = await startRedisServer();
    const quick = await startRedisBridge({ redisPort: local.port, token: "t", redisTimeoutMs: 500 });
    try {
      const redis = new Redis({ url: quick.url, token: "t", enableTelemetry: false, enableAutoPipelining: false });
      await redis.set("fault:k", "v");
      await local.stop();
      await assert.rejects(redis.get("fault:k"), /^UpstashError: ERR could not connect to Redis at 127\.0\.0\.1:\d+: connect ECONNREFUSED/);
      const raw = await fetch(quick.url, { method: "POST", headers: { authorization: "Bearer t" }, body: JSON.stringify(["PING"]) });
      assert.equal(raw.status, 503);
      await local.start();
      assert.equal(await redis.get("fault:k"), null, "a fresh Redis, no persistence");
      assert.equal(await redis.set("fault:k", "again"), "OK");
      assert.equal(await redis.get("fault:k"), "again");
    } finally {
      await quick.close();
      await local.close();
    }
  });
});

test("without redis-server (global setup's fallback), every command fails with the reason, not a skip", async () => {
  const missing = await startRedisBridge({ redisPort: 1, token: "t", unavailable: "redis-server is not installed" });
  try {
    const redis = new Redis({ url: missing.url, token: "t", enableTelemetry: false });
    await assert.rejects(redis.get("k"), /^UpstashError: redis-server is not installed, command was/);
  } finally {
    await missing.close();
  }
});

test("startLocalRedis: redis-server and bridge together, closed together", async () => {
  const local = await startLocalRedis();
  assert.ok(local !== null);
  const redis = new Redis({ url: local.url, token: local.token, enableTelemetry: false });
  assert.equal(await redis.ping(), "PONG");
  await local.close();
  await assert.rejects(fetch(local.url, { method: "POST" }));
});
