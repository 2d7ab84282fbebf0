/**
 * The budgets block (on vs off), the hot-ledger block and the ledgers' counts:
 * figures for results.json, their PASS/MISS lines and their part of the printed report.
 */
import type { BudgetSetup, LedgerCount } from "./budgets.ts";
import { RESERVED_PER_REQUEST_USD } from "./budgets.ts";
import { fmt, fmtInt, signed, table } from "./format.ts";
import { aggregateOf } from "./load.ts";
import { HOT_LEDGER_CONNECTIONS, LIMITS } from "./settings.ts";
import type { BlockName, CheckRule, LoadAggregate, LoadRun, ScenarioName, TargetCheck, TargetName } from "./types.ts";

/** A block's aggregate plus the non-2xx answers wrk counted in its runs. */
export type Measured = LoadAggregate & { statusErrors: number };

export function measured(runs: LoadRun[], block: BlockName, scenario: ScenarioName, target: TargetName): Measured {
  const statusErrors = runs
    .filter((r) => r.block === block && r.scenario === scenario && r.target === target)
    .reduce((n, r) => n + r.statusErrors, 0);
  return { ...aggregateOf(runs, block, scenario, target), statusErrors };
}

/** Two sides of an on/off block: both aggregates, the ratios and differences (on over or minus off). */
export function onOff(off: Measured, on: Measured) {
  const cpu = (a: LoadAggregate): number => a.cpuMsPerReq ?? NaN;
  return {
    off,
    on,
    throughputRatio: on.rps / off.rps,
    p50DeltaMs: on.p50Ms - off.p50Ms,
    p99DeltaMs: on.p99Ms - off.p99Ms,
    cpuDeltaMs: cpu(on) - cpu(off),
    cpuRatio: cpu(on) / cpu(off),
  };
}

export function budgetResults(runs: LoadRun[], setup: BudgetSetup, ledgers: LedgerCount[]) {
  const off = measured(runs, "budgets", setup.off.name, "gateway");
  const on = measured(runs, "budgets", setup.on.name, "gateway");
  const hotGateway = measured(runs, "hot-ledger", setup.on.name, "gateway");
  const hotDriver = measured(runs, "hot-ledger", setup.driver.name, "ledger-driver");
  return {
    budgets: {
      block: "budgets" as const,
      offScope: setup.offScope,
      onScope: setup.onScope,
      ...onOff(off, on),
    },
    hotLedger: {
      block: "hot-ledger" as const,
      connections: HOT_LEDGER_CONNECTIONS,
      /** The on key through the gateway: reserve per request, batched settles. */
      gateway: hotGateway,
      /** bench/ledger-driver.js: one reserve + one settle RPC per request; CPU is the gateway process's. */
      driver: hotDriver,
    },
    ledgers,
  };
}

export type BudgetResults = ReturnType<typeof budgetResults>;

function check(name: string, value: number, limit: number, unit: string, rule: CheckRule): TargetCheck {
  const pass = rule === "at most" ? value <= limit : value >= limit;
  return { name, value, limit, unit, rule, pass };
}

export function budgetChecks(b: BudgetResults): TargetCheck[] {
  const on = b.ledgers.find((l) => l.scope === b.budgets.onScope);
  return [
    check("throughput, budgets on / off (non-stream, budgets block)", b.budgets.throughputRatio, LIMITS.budgetsThroughputRatio, "×", "at least"),
    check("p99 added, budgets on − off (non-stream, budgets block)", b.budgets.p99DeltaMs, LIMITS.budgetsP99AddedMs, "ms", "at most"),
    check(
      "budgeted requests answered but not counted by their key's ledger (settles kept up)",
      on?.missing ?? NaN,
      LIMITS.ledgerMissingRequests,
      "requests",
      "at most",
    ),
  ];
}

/** The printed part: on vs off, the hot ledger, the ledgers' counts. */
export function formatBudgets(b: BudgetResults): string[] {
  const { budgets, hotLedger, ledgers } = b;
  const lines = [
    `Budgets on (${budgets.onScope}: hard budget, a reservation per request, ~$${RESERVED_PER_REQUEST_USD} each, then a batched settle) ` +
      `vs off (${budgets.offScope}: no budget, batched settles only), non-stream on gateway, same block`,
  ];
  const row = (label: string, off: string, on: string, ratio: string, delta: string): string[] => [label, off, on, ratio, delta];
  lines.push(
    table(
      [
        ["", "off", "on", "on/off", "on − off"],
        row("req/s", fmtInt(budgets.off.rps), fmtInt(budgets.on.rps), budgets.throughputRatio.toFixed(3), signed(budgets.on.rps - budgets.off.rps, 0)),
        row("p50 ms", fmt(budgets.off.p50Ms, 2), fmt(budgets.on.p50Ms, 2), (budgets.on.p50Ms / budgets.off.p50Ms).toFixed(3), signed(budgets.p50DeltaMs, 2)),
        row("p99 ms", fmt(budgets.off.p99Ms, 2), fmt(budgets.on.p99Ms, 2), (budgets.on.p99Ms / budgets.off.p99Ms).toFixed(3), signed(budgets.p99DeltaMs, 2)),
        row("CPU ms/req", fmt(budgets.off.cpuMsPerReq, 3), fmt(budgets.on.cpuMsPerReq, 3), `${budgets.cpuRatio.toFixed(2)}×`, signed(budgets.cpuDeltaMs, 3)),
        row("non-2xx answers", String(budgets.off.statusErrors), String(budgets.on.statusErrors), "", ""),
      ],
      1,
    ),
    "",
    `Hot ledger: one key's SpendLedger driven with wrk -c${hotLedger.connections} (CPU = the gateway's workerd process, where the object runs)`,
    table(
      [
        ["", "req/s", "p50 ms", "p99 ms", "CPU ms/req", "non-2xx"],
        ...(
          [
            ["gateway, on key (reserve + batched settle)", hotLedger.gateway],
            ["ledger driver alone (1 reserve + 1 settle RPC)", hotLedger.driver],
          ] as const
        ).map(([label, m]) => [label, fmtInt(m.rps), fmt(m.p50Ms, 2), fmt(m.p99Ms, 2), fmt(m.cpuMsPerReq, 3), String(m.statusErrors)]),
      ],
      1,
    ),
    "",
    "Ledgers after the load runs: day usage counted vs requests answered 2xx (smoke check + every wrk run, warm-ups included)",
    table(
      [
        ["scope", "whose", "counted", "answered", "counted − answered", "in flight allowance", "reserved USD", "spent USD"],
        ...ledgers.map((l) => [
          l.scope,
          l.label,
          fmtInt(l.counted),
          fmtInt(l.answered),
          signed(l.counted - l.answered, 0),
          `≤ ${fmtInt(l.inFlightAllowance)}`,
          l.reservedUsd === null ? "—" : String(l.reservedUsd),
          l.spentUsd === null ? "—" : l.spentUsd.toFixed(6),
        ]),
      ],
      2,
    ),
    "",
  );
  return lines;
}
