import { randomBytes } from "node:crypto";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { buildDashboard } from "./scripts/build-dashboard.ts";
import { freePort } from "./test/support/free-port.ts";

const ROOT_DIR = dirname(fileURLToPath(import.meta.url));

// The mock provider's and the Redis bridge's ports are chosen before the workers start so they
// can be bindings; test/support/global-setup.ts starts both on them.
export default defineConfig(async () => {
  // wrangler.toml's [assets] names the built dashboard: it must exist before the workers start.
  await buildDashboard();
  const mockPort = Number(process.env.MOCK_UPSTREAM_PORT ?? (await freePort()));
  process.env.MOCK_UPSTREAM_PORT = String(mockPort);
  const redisPort = Number(process.env.TEST_REDIS_PORT ?? (await freePort()));
  process.env.TEST_REDIS_PORT = String(redisPort);
  const bridgePort = Number(process.env.TEST_REDIS_BRIDGE_PORT ?? (await freePort()));
  process.env.TEST_REDIS_BRIDGE_PORT = String(bridgePort);
  process.env.TEST_REDIS_BRIDGE_TOKEN ??= randomBytes(18).toString("base64url");
  return {
    plugins: [
      cloudflareTest({
        wrangler: { configPath: "./wrangler.toml" },
        miniflare: {
          bindings: {
            MOCK_UPSTREAM_URL: `http://127.0.0.1:${mockPort}`,
            // TEST_-prefixed: the gateway reads UPSTASH_REDIS_REST_*, and a test turns rate limits on
            // by passing these under those names (test/unit/helpers.ts, testEnv overrides).
            TEST_UPSTASH_REDIS_REST_URL: `http://127.0.0.1:${bridgePort}`,
            TEST_UPSTASH_REDIS_REST_TOKEN: process.env.TEST_REDIS_BRIDGE_TOKEN,
            // The request log's D1 schema, applied by test/unit/setup-migrations.ts before each file.
            TEST_MIGRATIONS: await readD1Migrations(join(ROOT_DIR, "migrations")),
            // How many runs test/unit/fuzz.test.ts makes (its default when unset).
            ...(process.env.FUZZ_RUNS === undefined ? {} : { FUZZ_RUNS: process.env.FUZZ_RUNS }),
          },
        },
      }),
    ],
    test: {
      include: ["test/unit/**/*.test.ts"],
      globalSetup: ["test/support/global-setup.ts"],
      setupFiles: ["test/unit/setup-migrations.ts"],
      testTimeout: 20_000,
    },
  };
});
