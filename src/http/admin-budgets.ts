/**
 * /admin/budgets/:scope and /admin/usage. A budget is written to KV (the
 * configuration of record, listed by GET /admin/budgets) and pushed to its
 * scope's SpendLedger, which enforces it from the next reservation on
 * (DESIGN.md: admin writes that must take effect at once go to the Durable
 * Object too). Spend and usage are read from the ledgers.
 */
import { Hono, type Context } from "hono";
import * as z from "zod";
import { KEY_ID_PATTERN } from "../auth/key-store.ts";
import { BUDGET_PREFIX, forgetScope, ledgerOf, type Ledgers } from "../budgets/ledger-client.ts";
import { markBudgetedScope } from "../budgets/budgeted-scopes.ts";
import { budgetSchema, type BudgetStatus, type UsageGroupBy, type UsageReport } from "../budgets/ledger-types.ts";
import { GLOBAL_SCOPE, endUserProblem } from "../budgets/scopes.ts";
import { listKvKeys } from "../config/kv-json.ts";
import { settingsFor } from "../config/settings.ts";
import type { AppEnv, Env } from "../env.ts";
import { nanosToUsd } from "../metering/types.ts";
import { planAttempts } from "../routing/plan.ts";
import { readJsonObject } from "./body.ts";
import { GatewayError, invalidRequest } from "./errors.ts";
import { validate } from "./validate.ts";

/** Budgets listed per page of GET /admin/budgets (each one's spend is one ledger read). */
const LIST_LIMIT = 100;

function ledgers(env: Env): Ledgers {
  const ns = env.SPEND_LEDGER;
  if (ns === undefined) {
    throw new GatewayError(503, "Budgets are not enabled on this deployment (no SPEND_LEDGER Durable Object binding).", { code: "budgets_disabled" });
  }
  return ns;
}

/** `global`, `key:<key id>` or `user:<key id>:<end user>`; anything else is a 400 that says so. */
export function parseScope(raw: string): string {
  if (raw === GLOBAL_SCOPE) return raw;
  const [kind, keyId, ...rest] = raw.split(":");
  const validKey = keyId !== undefined && (KEY_ID_PATTERN.test(keyId) || keyId === "dev");
  if (kind === "key" && validKey && rest.length === 0) return raw;
  const user = rest.join(":");
  if (kind === "user" && validKey && user.length > 0 && endUserProblem(user) === null) return raw;
  throw invalidRequest(`Invalid budget scope '${raw}': use 'global', 'key:<key id>' or 'user:<key id>:<end user>'.`, "scope", "invalid_scope");
}

/** A scope's budget and spend, in dollars, as the admin API shows it. */
export function statusJson(status: BudgetStatus): Record<string, unknown> {
  return {
    scope: status.scope,
    ...status.budget,
    spentUsd: nanosToUsd(status.spentNanos),
    reservedUsd: nanosToUsd(status.reservedNanos),
    // Slices isolates hold to admit requests without asking (issue 16): not spent, not yet anyone's.
    leasedUsd: nanosToUsd(status.leasedNanos),
    remainingUsd: Math.max(0, status.budget.limitUsd - nanosToUsd(status.spentNanos + status.reservedNanos + status.leasedNanos)),
    periodStart: status.periodStart,
    resetsAt: status.resetsAt,
    // Calls its ledger answered since it started: what admission and settling cost in round trips.
    ...(status.calls !== undefined && { ledgerCalls: status.calls }),
  };
}

const budgetNotFound = (scope: string): GatewayError =>
  new GatewayError(404, `No budget is set on '${scope}'.`, { code: "budget_not_found", param: "scope" });

/** The alias a budget degrades to must be servable now: a typo found at write time, not when the budget runs out. */
async function checkDegradeTarget(env: Env, alias: string): Promise<void> {
  try {
    await planAttempts(env, alias, "chat");
  } catch (err) {
    const why = err instanceof GatewayError ? err.message : String(err);
    throw invalidRequest(`'degradeTo' must name a model this gateway can serve: ${why}`, "degradeTo", "invalid_degrade_target");
  }
}

const scopeOf = (c: Context<AppEnv>): string => parseScope(c.req.param("scope") ?? "");

export function budgetRoutes(): Hono<AppEnv> {
  const routes = new Hono<AppEnv>();

  routes.get("/", async (c) => {
    const ns = ledgers(c.env);
    const listed = (await listKvKeys(c.env.CONFIG, BUDGET_PREFIX)).slice(0, LIST_LIMIT);
    const statuses = await Promise.all(listed.map(({ name }) => ledgerOf(ns, name.slice(BUDGET_PREFIX.length)).status(name.slice(BUDGET_PREFIX.length))));
    return c.json({ object: "list", data: statuses.flatMap((s) => (s === null ? [] : [statusJson(s)])) });
  });

  routes.put("/:scope", async (c) => {
    const scope = scopeOf(c);
    const ns = ledgers(c.env);
    const budget = validate(budgetSchema, await readJsonObject(c.req.raw, settingsFor(c.env)));
    if (budget.degradeTo !== undefined) await checkDegradeTarget(c.env, budget.degradeTo);
    // The ledger first: once KV lists a budget, it is enforced (and, for an end user, isolates start reserving on it).
    await markBudgetedScope(c.env, scope);
    const status = await ledgerOf(ns, scope).setBudget(scope, budget);
    await c.env.CONFIG.put(BUDGET_PREFIX + scope, JSON.stringify(budget));
    forgetScope(scope);
    if (status === null) throw new Error("the ledger did not keep the budget");
    return c.json(statusJson(status));
  });

  routes.get("/:scope", async (c) => {
    const scope = scopeOf(c);
    const status = await ledgerOf(ledgers(c.env), scope).status(scope);
    if (status === null) throw budgetNotFound(scope);
    return c.json(statusJson(status));
  });

  routes.delete("/:scope", async (c) => {
    const scope = scopeOf(c);
    const ns = ledgers(c.env);
    const had = (await c.env.CONFIG.get(BUDGET_PREFIX + scope)) !== null;
    const status = await ledgerOf(ns, scope).status(scope);
    if (!had && status === null) throw budgetNotFound(scope);
    await ledgerOf(ns, scope).setBudget(scope, null);
    await c.env.CONFIG.delete(BUDGET_PREFIX + scope);
    forgetScope(scope);
    return c.json({ scope, deleted: true });
  });

  return routes;
}

function reportJson(report: UsageReport, groupBy: UsageGroupBy): Record<string, unknown> {
  let total = 0;
  const rows = report.rows.map((row) => {
    total += row.costNanos;
    return {
      [groupBy]: row.key,
      costUsd: nanosToUsd(row.costNanos),
      requests: row.requests,
      promptTokens: row.promptTokens,
      completionTokens: row.completionTokens,
      estimatedRequests: row.estimatedRequests,
      unpricedRequests: row.unpricedRequests,
    };
  });
  return { scope: report.scope, period: report.period, periodStart: report.periodStart, groupBy, totalUsd: nanosToUsd(total), data: rows };
}

/** The start of the period `YYYY-MM-DD` or `YYYY-MM` names (epoch ms; NaN when it names none). */
const periodStart = (raw: string): number => Date.parse(raw.length === 7 ? `${raw}-01T00:00:00Z` : `${raw}T00:00:00Z`);

/** GET /admin/usage's query (also in /admin/openapi.json). */
export const usageQuerySchema = z.strictObject({
  scope: z.string().default(GLOBAL_SCOPE).describe("a budget scope: `global`, `key:<key id>` or `user:<key id>:<end user>`"),
  period: z.enum(["day", "month"]).default("day"),
  groupBy: z.enum(["model", "user"]).default("model"),
  date: z
    .string()
    .regex(/^\d{4}-\d{2}(-\d{2})?$/, "use YYYY-MM-DD or YYYY-MM")
    .refine((raw) => !Number.isNaN(periodStart(raw)), "not a date")
    .optional()
    .describe("YYYY-MM-DD or YYYY-MM: the period to report; the current one by default"),
});

/** GET /admin/usage?scope=…&period=day|month&groupBy=model|user[&date=…] */
export async function usageReport(c: Context<AppEnv>): Promise<Response> {
  const q = validate(usageQuerySchema, c.req.query());
  const scope = parseScope(q.scope);
  const { period, groupBy } = q;
  const at = q.date === undefined ? undefined : periodStart(q.date);
  const report = await ledgerOf(ledgers(c.env), scope).usage(scope, { period, groupBy, at });
  return c.json(reportJson(report, groupBy));
}
