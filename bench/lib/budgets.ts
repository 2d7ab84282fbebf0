/**
 * Budgets (metering and budgets issue): the keys, price and budgets the budgets and
 * hot-ledger blocks need, their smoke check, the blocks, and, after them, what the
 * ledgers counted against what wrk saw answered.
 *
 * - off: a key with no budget anywhere. Its requests reserve nothing (the isolate has
 *   heard its scope has none) and settle in the background, batched.
 * - on: a key whose `key:<id>` scope has a hard day budget too large to refuse during
 *   the run: every request makes one `reserve` call on that SpendLedger before it is
 *   forwarded, and settles after the answer (batched, SETTLE_BATCH_MS).
 * - the ledger driver (bench/ledger-driver.js, in the gateway's process): one reserve and
 *   one settle on DRIVER_SCOPE per request, the ledger without the gateway in front.
 */
import { Agent } from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import { adminRequest } from "./admin.ts";
import { createKey } from "./gateway-key.ts";
import { BenchError, HOT_LEDGER_CONNECTIONS, LEDGER_SETTLE_WAIT_MS } from "./settings.ts";
import { timedRequestRetry } from "./timed-request.ts";
import type { BudgetScenarioName, LoadBlock, LoadRun, Scenario, ScenarioName, Target, TargetName, WarmupRun } from "./types.ts";

/** The ledger driver's scope: shaped like a key's (the admin API sets budgets on valid scopes only); no key has this id. */
export const DRIVER_SCOPE = "key:key_benchLedgerDrive";
/** `openai/mock-model` is not in the bundled price table: unpriced, a hard budget would refuse it (402). */
const MOCK_PRICE = { provider: "openai", model: "mock-model", inputPerMTok: 1, outputPerMTok: 2 };
/** Far above what the run can spend (each request reserves ~$0.066 and costs ~$0.00003): never refuses. */
const BUDGET = { limitUsd: 1_000_000, period: "day", mode: "hard" };
/** The gateway's worst case for the bench request (32,768 output tokens at $2/MTok, plus its input), for the printed note. */
export const RESERVED_PER_REQUEST_USD = 0.0656;

export interface BudgetSetup {
  /** Scopes: `key:<id>` of the key without a budget and of the one with a hard budget. */
  offScope: string;
  onScope: string;
  off: Scenario<BudgetScenarioName>;
  on: Scenario<BudgetScenarioName>;
  /** What wrk sends the ledger driver (it ignores the body). */
  driver: Scenario<"reserve-settle">;
}

/**
 * Prices `openai/mock-model` (before anything is measured, so every run meters the
 * same way), creates the two keys, and puts the hard budgets on the on-key's scope
 * and on the driver's. `nonStream` is the request both keys send.
 */
export async function setUpBudgets(gatewayPort: number, nonStream: Scenario): Promise<BudgetSetup> {
  await adminRequest(gatewayPort, "PUT", "/admin/prices", 200, MOCK_PRICE);
  const off = await createKey(gatewayPort, "bench-budget-off");
  const on = await createKey(gatewayPort, "bench-budget-on");
  const onScope = `key:${on.id}`;
  await adminRequest(gatewayPort, "PUT", `/admin/budgets/${onScope}`, 200, BUDGET);
  await adminRequest(gatewayPort, "PUT", `/admin/budgets/${DRIVER_SCOPE}`, 200, BUDGET);
  const { path, stream, body, bodyFile } = nonStream;
  return {
    offScope: `key:${off.id}`,
    onScope,
    off: { name: "non-stream-budget-off", path, stream, body, bodyFile, key: off.secret },
    on: { name: "non-stream-budget-on", path, stream, body, bodyFile, key: on.secret },
    driver: { name: "reserve-settle", path: "/", stream: false, body, bodyFile },
  };
}

/**
 * budgets: the same non-stream request on the gateway with the off key and the on key,
 * alternated like every block. hot-ledger: the on key through the gateway and the
 * ledger driver alone, with HOT_LEDGER_CONNECTIONS.
 */
export function budgetBlocks(gateway: Target, driver: Target, setup: BudgetSetup): LoadBlock[] {
  return [
    {
      name: "budgets",
      observer: ledgerCallsObserver(gateway.port, setup.onScope),
      slots: [
        { target: gateway, scenario: setup.off },
        { target: gateway, scenario: setup.on },
      ],
    },
    {
      name: "hot-ledger",
      connections: HOT_LEDGER_CONNECTIONS,
      slots: [
        { target: gateway, scenario: setup.on },
        { target: driver, scenario: setup.driver },
      ],
    },
  ];
}

interface BudgetJson {
  spentUsd?: unknown;
  reservedUsd?: unknown;
  ledgerCalls?: Record<string, unknown>;
}

/** The calls the on key's ledger has answered (reserve, settle, exchange, release), read from GET /admin/budgets/:scope. */
async function ledgerCalls(port: number, scope: string): Promise<Record<string, number>> {
  const status = (await adminRequest(port, "GET", `/admin/budgets/${scope}`, 200)) as BudgetJson;
  const calls: Record<string, number> = {};
  for (const [kind, n] of Object.entries(status.ledgerCalls ?? {})) if (typeof n === "number") calls[kind] = n;
  return calls;
}

/**
 * Around each budgets run: the calls the on key's SpendLedger answered during it (after its last
 * settles have landed), by kind: what a budgeted request costs in Durable Object round trips
 * (issue 16: leases make it a fraction of one). Runs of the off key leave them unchanged.
 */
function ledgerCallsObserver(port: number, scope: string) {
  return {
    start() {
      const before = ledgerCalls(port, scope);
      return async (): Promise<Record<string, number>> => {
        await sleep(LEDGER_SETTLE_WAIT_MS);
        const [was, now] = [await before, await ledgerCalls(port, scope)];
        const figures: Record<string, number> = {};
        let total = 0;
        for (const [kind, n] of Object.entries(now)) {
          const delta = n - (was[kind] ?? 0);
          figures[`ledgerCalls:${kind}`] = delta;
          total += delta;
        }
        return { ...figures, ledgerCalls: total };
      };
    },
  };
}

/**
 * Each key answers once, priced (`x-switchyard-cost-usd`); the off key's scope has no
 * budget (404), the on key's has one that counted the answer once its settle landed,
 * with nothing left reserved; the driver reserves and settles once.
 */
export async function smokeTestBudgets(gateway: Target, driver: Target, setup: BudgetSetup): Promise<void> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  for (const scenario of [setup.off, setup.on]) {
    const result = await timedRequestRetry(agent, gateway.port, scenario.path, Buffer.from(scenario.body), scenario.key ?? "", true);
    const cost = Number(result.headers["x-switchyard-cost-usd"]);
    if (result.status !== 200 || !(cost > 0)) {
      throw new BenchError(`${scenario.name}: the gateway answered ${result.status} with cost ${String(result.headers["x-switchyard-cost-usd"])}:\n${result.body.slice(0, 2000)}`);
    }
  }
  const probe = await timedRequestRetry(agent, driver.port, "/", Buffer.from("{}"), "", true);
  agent.destroy();
  if (probe.status !== 200) throw new BenchError(`the ledger driver answered ${probe.status}: ${probe.body.slice(0, 500)}`);
  await adminRequest(gateway.port, "GET", `/admin/budgets/${setup.offScope}`, 404);
  await sleep(LEDGER_SETTLE_WAIT_MS);
  const status = (await adminRequest(gateway.port, "GET", `/admin/budgets/${setup.onScope}`, 200)) as BudgetJson;
  if (!(Number(status.spentUsd) > 0) || status.reservedUsd !== 0) {
    throw new BenchError(`${setup.onScope} after one request: spent ${String(status.spentUsd)}, reserved ${String(status.reservedUsd)} (expected > 0 and 0)`);
  }
}

/** One scope's ledger after the load runs, against what wrk saw answered with 2xx. */
export interface LedgerCount {
  scope: string;
  /** Whose requests these are: the off key, the on key, or the driver. */
  label: string;
  /** Requests the ledger counted today (GET /admin/usage?scope=…&period=day&groupBy=model, all rows). */
  counted: number;
  /** Requests answered 2xx: the smoke check's one, and every wrk run's (warm-ups included). */
  answered: number;
  /** Runs that sent them (warm-ups included) × their connections: how many may have been in flight when wrk stopped (served, counted, but not seen by wrk). */
  inFlightAllowance: number;
  /** answered − counted, when positive: answers the ledger never counted. */
  missing: number;
  /** USD still reserved (requests not settled); null for a scope without a budget. */
  reservedUsd: number | null;
  spentUsd: number | null;
}

/** Requests answered 2xx by wrk for `scenario` on `target`, and the allowance for those in flight at each run's end. */
function answeredBy(runs: readonly LoadRun[], warmups: readonly WarmupRun[], target: TargetName, scenario: ScenarioName) {
  const all = [...runs, ...warmups].filter((r) => r.target === target && r.scenario === scenario);
  return {
    answered: all.reduce((n, r) => n + r.requests - r.statusErrors, 0),
    inFlightAllowance: all.reduce((n, r) => n + r.connections, 0),
  };
}

async function countScope(
  port: number,
  scope: string,
  label: string,
  hasBudget: boolean,
  answered: { answered: number; inFlightAllowance: number },
): Promise<LedgerCount> {
  const usage = (await adminRequest(port, "GET", `/admin/usage?scope=${encodeURIComponent(scope)}&period=day&groupBy=model`, 200)) as {
    data?: Array<{ requests?: unknown }>;
  };
  const counted = (usage.data ?? []).reduce((n, row) => n + (typeof row.requests === "number" ? row.requests : 0), 0);
  const budget = hasBudget ? ((await adminRequest(port, "GET", `/admin/budgets/${scope}`, 200)) as BudgetJson) : null;
  const usd = (v: unknown): number | null => (typeof v === "number" ? v : null);
  // The smoke check sent one request per scope before the load runs.
  const total = answered.answered + 1;
  return {
    scope,
    label,
    counted,
    answered: total,
    inFlightAllowance: answered.inFlightAllowance,
    missing: Math.max(0, total - counted),
    reservedUsd: usd(budget?.reservedUsd),
    spentUsd: usd(budget?.spentUsd),
  };
}

/**
 * After the last load run (the budgets and hot-ledger blocks run last), waits for the
 * last settle batches, then reads each scope's day usage and budget. A run crossing
 * UTC midnight would split the counts between two days (not handled: rerun).
 */
export async function countLedgers(
  gatewayPort: number,
  setup: BudgetSetup,
  runs: readonly LoadRun[],
  warmups: readonly WarmupRun[],
): Promise<LedgerCount[]> {
  await sleep(LEDGER_SETTLE_WAIT_MS);
  return [
    await countScope(gatewayPort, setup.offScope, "key without a budget (off)", false, answeredBy(runs, warmups, "gateway", setup.off.name)),
    await countScope(gatewayPort, setup.onScope, "key with a hard budget (on)", true, answeredBy(runs, warmups, "gateway", setup.on.name)),
    await countScope(gatewayPort, DRIVER_SCOPE, "ledger driver (reserve + settle)", true, answeredBy(runs, warmups, "ledger-driver", setup.driver.name)),
  ];
}
