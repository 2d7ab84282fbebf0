/**
 * Starts what the in-workerd unit tests call over the network (ports chosen in vitest.config.ts):
 * the mock provider, and redis-server behind the Upstash REST bridge for the rate-limit tests.
 */
import { startMockUpstream, type MockUpstream } from "./mock-upstream.ts";
import { redisServerPath, startRedisBridge, startRedisServer, type RedisBridge, type RedisServer } from "./redis-bridge.ts";

let mock: MockUpstream | undefined;
let redis: RedisServer | undefined;
let bridge: RedisBridge | undefined;

const MISSING_REDIS = "redis-server is not installed on this machine (Debian/Ubuntu: apt-get install redis-server); the rate-limit tests need a real Redis";

export async function setup(): Promise<void> {
  mock = await startMockUpstream({ port: Number(process.env.MOCK_UPSTREAM_PORT) });
  const redisPort = Number(process.env.TEST_REDIS_PORT);
  const bridgeOptions = { redisPort, port: Number(process.env.TEST_REDIS_BRIDGE_PORT), token: process.env.TEST_REDIS_BRIDGE_TOKEN ?? "" };
  if (redisServerPath() !== null) {
    redis = await startRedisServer({ port: redisPort });
    bridge = await startRedisBridge(bridgeOptions);
  } else {
    // Not skipped: every rate-limit test fails with this message, which says what to install.
    console.warn(`\n*** ${MISSING_REDIS}: the rate-limit tests will fail. ***\n`);
    bridge = await startRedisBridge({ ...bridgeOptions, unavailable: MISSING_REDIS });
  }
}

export async function teardown(): Promise<void> {
  await bridge?.close();
  await redis?.close();
  await mock?.close();
}
