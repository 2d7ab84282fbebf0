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

/** Calls the on key's ledger answered per request of its runs in the budgets block (the observer's figures over wrk's requests). */
function ledgerCallsPerRequest(runs: LoadRun[], scenario: ScenarioName): Record<string, number> {
  const counted = runs.filter((r) => r.block === "budgets" && r.scenario === scenario && r.observed !== undefined);
  const requests = counted.reduce((n, r) => n + r.requests, 0);
  const perRequest: Record<string, number> = {};
  for (const run of counted) for (const [name, n] of Object.entries(run.observed ?? {})) perRequest[name] = (perRequest[name] ?? 0) + n;
  for (const name of Object.keys(perRequest)) perRequest[name] = requests === 0 ? NaN : (perRequest[name] ?? 0) / requests;
  return perRequest;
}

export function budgetResults(runs: LoadRun[], setup: BudgetSetup, ledgers: LedgerCount[]) {
  const off = measured(runs, "budgets", setup.off.name, "gateway");
  const on = measured(runs, "budgets", setup.on.name, "gateway");
  const calls = ledgerCallsPerRequest(runs, setup.on.name);
  const hotGateway = measured(runs, "hot-ledger", setup.on.name, "gateway");
  const hotDriver = measured(runs, "hot-ledger", setup.driver.name, "ledger-driver");
  return {
    budgets: {
      block: "budgets" as const,
      offScope: setup.offScope,
      onScope: setup.onScope,
      ...onOff(off, on),
      /** The on key's ledger calls per request (leases: a fraction of one; by kind under `ledgerCalls:<kind>`). */
      ledgerCallsPerRequest: calls,
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
    check("hot key through the gateway / the ledger alone (reserve + settle per request), hot-ledger block", b.hotLedger.gateway.rps / b.hotLedger.driver.rps, LIMITS.hotKeyOverLedgerRatio, "×", "at least"),
    check("Durable Object calls per budgeted request (the on key's ledger, budgets block)", b.budgets.ledgerCallsPerRequest.ledgerCalls ?? NaN, LIMITS.ledgerCallsPerRequest, "calls", "at most"),
    check(
      "budgeted requests answered but not counted by their key's ledger (settles kept up)",
      on?.missing ?? NaN,
      LIMITS.ledgerMissingRequests,
      "requests",
      "at most",
    ),
  ];
}

/**
 * What the hot-key ratio cannot show here, where the gateway and the ledger share one workerd process:
 * the ledger's load from a busy isolate is its exchanges (one per 40 ms window at most, whatever its
 * request rate) plus the reservations that did not fit, so a ledger keeps up with about
 * (its reserve + settle rate) / (one isolate's calls per second) such isolates. An exchange books many
 * records, so "costs what a pair does" is an assumption, said as one.
 */
function ledgerLoadLine(onRps: number, callsPerRequest: number | undefined, driverRps: number): string {
  const callsPerSecond = onRps * (callsPerRequest ?? NaN);
  if (!(Number.isFinite(callsPerSecond) && callsPerSecond > 0 && Number.isFinite(driverRps) && driverRps > 0)) {
    return "Ledger load from one busy isolate: n/a (the budgets block or the ledger driver has no data)";
  }
  return (
    `Ledger load from the one busy isolate (budgets block): ${callsPerSecond.toFixed(1)} calls/s at ${fmtInt(onRps)} req/s. ` +
    `At the driver's ${fmtInt(driverRps)} reserve + settle pairs/s, one ledger keeps up with about ${fmtInt(driverRps / callsPerSecond)} such isolates, ` +
    `at any request rate each, if an exchange costs the ledger what a pair does (each books ~${fmtInt(1 / (callsPerRequest ?? NaN))} requests' records; not measured apart)`
  );
}

/** The printed part: on vs off, the hot ledger, the ledgers' counts. */
export function formatBudgets(b: BudgetResults): string[] {
  const { budgets, hotLedger, ledgers } = b;
  const lines = [
    `Budgets on (${budgets.onScope}: hard budget, admitted on the isolate's lease (a reservation of its own only when it does not fit), ~$${RESERVED_PER_REQUEST_USD} worst case each, batched exchanges) ` +
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
        row(
          "ledger calls/req",
          "",
          fmt(budgets.ledgerCallsPerRequest.ledgerCalls ?? NaN, 4),
          "",
          Object.entries(budgets.ledgerCallsPerRequest).filter(([k, v]) => k.includes(":") && v > 0).map(([k, v]) => `${k.split(":")[1]} ${v.toFixed(4)}`).join(", "),
        ),
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
            ["gateway, on key (lease; batched exchanges)", hotLedger.gateway],
            ["ledger driver alone (1 reserve + 1 settle RPC)", hotLedger.driver],
          ] as const
        ).map(([label, m]) => [label, fmtInt(m.rps), fmt(m.p50Ms, 2), fmt(m.p99Ms, 2), fmt(m.cpuMsPerReq, 3), String(m.statusErrors)]),
      ],
      1,
    ),
    ledgerLoadLine(budgets.on.rps, budgets.ledgerCallsPerRequest.ledgerCalls, hotLedger.driver.rps),
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
