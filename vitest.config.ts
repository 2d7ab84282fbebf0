import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { createServer } from "node:net";
import { defineConfig } from "vitest/config";

/** A free loopback port for the mock provider, chosen before the workers start so it can be a binding. */
async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

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
