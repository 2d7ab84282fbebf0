// Types the `env` of "cloudflare:test" as the gateway's Env plus the test-only binding.
import type { Env as GatewayEnv } from "../src/env.ts";

declare global {
  namespace Cloudflare {
    interface Env extends GatewayEnv {
      MOCK_UPSTREAM_URL: string;
    }
  }
}
