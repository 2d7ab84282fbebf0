/** `npm start`: the gateway on http://127.0.0.1:$PORT (8787) with mock providers, ready to call. */
import { PROVIDER_PRESETS } from "../src/providers/presets.ts";
import { startLocalGateway } from "./local-gateway.ts";

const port = Number(process.env.PORT ?? 8787);
const gateway = await startLocalGateway({
  port,
  mockPort: process.env.MOCK_PORT !== undefined ? Number(process.env.MOCK_PORT) : 0,
  inheritOutput: true,
  useDevVars: true,
});

const real = gateway.mocked.length === PROVIDER_PRESETS.length ? "none (add keys to .dev.vars)" : "see .dev.vars";
const rateLimits =
  gateway.redis === null ? "off (redis-server is not installed: apt-get install redis-server, or set UPSTASH_REDIS_REST_URL/TOKEN in .dev.vars)"
  : gateway.redis.source === "local" ? `on (local Redis at ${gateway.redis.url}, redis-server behind the Upstash REST bridge)`
  : `on (Upstash at ${gateway.redis.url}, from ${gateway.redis.source === "dev.vars" ? ".dev.vars" : "--var"})`;
console.log(`
Switchyard is running at ${gateway.url}
  gateway key : ${gateway.gatewayKey}
  admin token : ${gateway.adminToken}
  dashboard   : ${gateway.url}/dashboard (sign in with the admin token; \`npm run demo-traffic\` gives it something to show)
  mock provider: ${gateway.mock.url} answers for ${gateway.mocked.join(", ") || "no provider"}
  real providers: ${real}
  rate limits  : ${rateLimits}

Try it:
  curl ${gateway.url}/v1/chat/completions \\
    -H "Authorization: Bearer ${gateway.gatewayKey}" -H "Content-Type: application/json" \\
    -d '{"model":"fast","messages":[{"role":"user","content":"Hello!"}]}'
`);

const shutdown = (): void => {
  gateway.stop().then(() => process.exit(0), () => process.exit(1));
};
process.on("SIGINT", shutdown);
process.on("SIGTERM", shutdown);
