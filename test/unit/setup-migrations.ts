// Before each unit-test file: the request log's D1 schema (migrations/), as `wrangler d1 migrations apply` makes it.
import { applyD1Migrations, env } from "cloudflare:test";

if (env.LOG_DB !== undefined) await applyD1Migrations(env.LOG_DB, env.TEST_MIGRATIONS);
