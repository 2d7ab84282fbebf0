import { buildApp } from "./app.ts";
import type { Env } from "./env.ts";

export { RouteHealth } from "./durable/route-health.ts";
export { SpendLedger } from "./durable/spend-ledger.ts";
export { KeyRevocations } from "./durable/key-revocations.ts";

const app = buildApp();

export default {
  fetch: (request, env, ctx) => app.fetch(request, env, ctx),
} satisfies ExportedHandler<Env>;
