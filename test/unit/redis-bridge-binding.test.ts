/**
 * The Redis the rate-limit tests get, seen from inside workerd: the bindings
 * reach the Upstash REST bridge, and the real @upstash/ratelimit runs there.
 */
import { env } from "cloudflare:test";
import { Ratelimit } from "@upstash/ratelimit";
import { Redis } from "@upstash/redis/cloudflare";
import { describe, expect, it } from "vitest";

function redis(): Redis {
  return new Redis({ url: env.TEST_UPSTASH_REDIS_REST_URL, token: env.TEST_UPSTASH_REDIS_REST_TOKEN, enableTelemetry: false });
}

describe("TEST_UPSTASH_REDIS_REST_* bindings", () => {
  it("reach a real Redis through the bridge", async () => {
    const key = `binding:${crypto.randomUUID()}`;
    expect(await redis().set(key, "ü 🚀")).toBe("OK");
    expect(await redis().get(key)).toBe("ü 🚀");
    expect(await redis().incr(`${key}:n`)).toBe(1);
  });

  it("run @upstash/ratelimit inside workerd: exactly the limit passes", async () => {
    const rl = new Ratelimit({
      redis: redis(),
      limiter: Ratelimit.slidingWindow(3, "1 h"),
      ephemeralCache: false,
      prefix: `binding:${crypto.randomUUID()}`,
      enableTelemetry: false,
    });
    const results = await Promise.all(Array.from({ length: 6 }, () => rl.limit("key")));
    expect(results.filter((r) => r.success)).toHaveLength(3);
  });
});
