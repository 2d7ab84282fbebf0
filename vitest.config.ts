import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";
import { freePort } from "./test/support/free-port.ts";

// The mock provider's port is chosen before the workers start so it can be a binding.
export default defineConfig(async () => {
  const mockPort = Number(process.env.MOCK_UPSTREAM_PORT ?? (await freePort()));
  process.env.MOCK_UPSTREAM_PORT = String(mockPort);
  return {
    plugins: [
      cloudflareTest({
        wrangler: { configPath: "./wrangler.toml" },
        miniflare: {
          bindings: { MOCK_UPSTREAM_URL: `http://127.0.0.1:${mockPort}` },
        },
      }),
    ],
    test: {
      include: ["test/unit/**/*.test.ts"],
      globalSetup: ["test/support/global-setup.ts"],
      testTimeout: 20_000,
    },
  };
});
