import { buildApp } from "./app.ts";
import type { Env } from "./env.ts";
import { consumeLog } from "./observability/log-consumer.ts";
import type { RequestLogEntry } from "./observability/request-log.ts";
import { pruneBodies, pruneLog } from "./observability/retention.ts";
import { pruneOpenAIOwners, retentionDays } from "./http/responses/store.ts";

export { RouteHealth } from "./durable/route-health.ts";
export { SpendLedger } from "./durable/spend-ledger.ts";
export { KeyRevocations } from "./durable/key-revocations.ts";

const app = buildApp();

export default {
  fetch: (request, env, ctx) => app.fetch(request, env, ctx),
  // The request log's consumer: records from LOG_QUEUE into D1 (src/observability/log-consumer.ts).
  queue: (batch, env, ctx) => consumeLog(batch, env, ctx),
  // The hourly Cron Trigger: the request log's retention, and the stored responses' (whole days past RESPONSE_RETENTION_DAYS).
  scheduled: (controller, env, ctx) => {
    ctx.waitUntil(pruneLog(env, controller.scheduledTime));
    ctx.waitUntil(pruneBodies(env.RESPONSE_STORE, controller.scheduledTime - retentionDays(env) * 86_400_000));
    ctx.waitUntil(pruneOpenAIOwners(env, controller.scheduledTime));
  },
} satisfies ExportedHandler<Env, RequestLogEntry>;
