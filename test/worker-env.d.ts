// Types the `env` of "cloudflare:test" as the gateway's Env plus the test-only bindings.
import type { Env as GatewayEnv } from "../src/env.ts";

declare global {
  namespace Cloudflare {
    interface Env extends GatewayEnv {
      MOCK_UPSTREAM_URL: string;
      /** The Upstash REST bridge to a local redis-server; given to the gateway as UPSTASH_REDIS_REST_* by the tests that want rate limits. */
      TEST_UPSTASH_REDIS_REST_URL: string;
      TEST_UPSTASH_REDIS_REST_TOKEN: string;
      /** migrations/, read by vitest.config.ts for test/unit/setup-migrations.ts. */
      TEST_MIGRATIONS: import("cloudflare:test").D1Migration[];
    }
  }
}
