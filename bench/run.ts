/**
 * `npm run bench`: the gateway's cost over the floor of its runtime.
 *
 * Bundles the Worker the way a deploy does (`wrangler deploy --dry-run`), runs it
 * on the standalone `workerd` binary against the local mock upstream, and in the
 * same run a bare pass-through Worker (bench/bare-worker.js) and the mock upstream
 * directly. Every request carries a real gateway key made with POST /admin/keys.
 * Each target is driven with wrk for non-streamed and 20-event streamed chat
 * completions in alternating order (a, b, c, c, b, a), then timed one request at a
 * time. A third load block measures the gateway's other 20-event streams, alternated
 * with stream-20 on the gateway and on the bare Worker: an Anthropic stream translated
 * to OpenAI chunks (stream-20-anthropic), and on POST /v1/messages an OpenAI stream
 * translated to Anthropic events (messages-stream-20) and an Anthropic stream relayed
 * (messages-native-stream-20). The gateway runs as deployed, with its RouteHealth
 * Durable Object; the same bundle without the ROUTE_HEALTH binding runs beside it
 * (both read one in-memory KV): a fourth block compares their throughput and CPU, and
 * failover is timed first (a primary answering 503, a hanging primary with a
 * ttfbTimeoutMs, a primary whose breaker is open), each against the secondary called
 * alone. Budgets: a fifth block sends non-stream with a key without a budget and with
 * a key whose scope has a hard budget (a SpendLedger reservation per request), and a
 * sixth drives that key's ledger with more connections, through the gateway and through
 * bench/ledger-driver.js alone (one reserve + one settle per request, in the gateway's
 * process); then the ledgers' counts are checked against what wrk saw answered.
 * Rate limits: when redis-server is installed, it runs behind the Upstash REST bridge
 * (test/support/redis-bridge.ts, in this process) and the gateway gets the UPSTASH_*
 * bindings; a limits block sends non-stream with a key without limits and with one whose
 * limits never refuse (Redis calls per request), with the bridge's counters and CPU read
 * around each run, and the two are timed one at a time beside the bridge's own round trip.
 * Prints a table and writes bench/out/results.json. See bench/README.md.
 *
 * Env: BENCH_DURATION (s per counted run, 6), BENCH_CONNECTIONS (16), BENCH_THREADS (1),
 * BENCH_WARMUP (s, 2), BENCH_ROUNDS (a,b,c,c,b,a patterns per load block, 1),
 * BENCH_SEQUENTIAL (one-at-a-time requests per target and scenario, 300),
 * BENCH_BUNDLE (a prebuilt bundle directory or main file: skips the wrangler build).
 */
import { spawnSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { relative } from "node:path";
import { freePort } from "../test/support/free-port.ts";
import { buildBundle, describeBundle } from "./lib/bundle.ts";
import { budgetBlocks, countLedgers, DRIVER_SCOPE, setUpBudgets, smokeTestBudgets } from "./lib/budgets.ts";
import { budgetResults } from "./lib/budgets-report.ts";
import { failoverRuns } from "./lib/failover.ts";
import { countUnavailableLogLines, limitsBlock, limitsSequential, setUpLimits, smokeTestLimits, startBenchRedis } from "./lib/limits.ts";
import { limitsResults } from "./lib/limits-report.ts";
import { createGatewayKey, keyPrefix } from "./lib/gateway-key.ts";
import { loadBlocks, loadRuns } from "./lib/load.ts";
import { alive, startProcess, stopAll, stopChildrenOnExit, waitForHttp, wasInterrupted } from "./lib/processes.ts";
import { buildResults, countRequestLogLines, formatReport, writeResults } from "./lib/report.ts";
import { putRoutedAlias, scriptBenchMock, writeScenarios } from "./lib/scenarios.ts";
import { sequentialRuns } from "./lib/sequential.ts";
import { BenchError, LOGS, MOCK_UPSTREAM, ROOT, WORKERD, readSettings } from "./lib/settings.ts";
import { smokeTest } from "./lib/smoke-test.ts";
import type { ComparedTargetName, Target } from "./lib/types.ts";
import { readWranglerToml, writeConfigs, type Ports } from "./lib/workerd-config.ts";
import { loggingChecks, loggingReport, loggingResults } from "./lib/logging-report.ts";

/** Distinct free loopback ports: one per target (the ledger driver's in the gateway's process) and one for the KV the two gateways share. */
async function pickPorts(): Promise<Ports> {
  const ports: Ports = { gateway: 0, "gateway-no-health": 0, "gateway-no-log": 0, bare: 0, upstream: 0, "ledger-driver": 0, "log-sink": 0, kv: 0 };
  for (const name of ["upstream", "gateway", "gateway-no-health", "gateway-no-log", "bare", "ledger-driver", "log-sink", "kv"] as const) {
    let port = await freePort();
    while (Object.values(ports).includes(port)) port = await freePort();
    ports[name] = port;
  }
  return ports;
}

/** Stops the local Redis and its bridge when the run fails (redis-server is also killed when this process exits). */
let closeRedis: (() => Promise<void>) | undefined;

async function main(): Promise<void> {
  const settings = readSettings();
  mkdirSync(LOGS, { recursive: true });

  const wrangler = readWranglerToml();
  const bundle = describeBundle(await buildBundle());
  const workerdVersion = spawnSync(WORKERD, ["--version"], { encoding: "utf8" }).stdout.trim();
  const wrkVersion = (spawnSync(settings.wrk, ["-v"], { encoding: "utf8" }).stdout.split("\n")[0] ?? "").trim();

  const ports = await pickPorts();
  const redis = await startBenchRedis();
  closeRedis = redis === null ? undefined : () => redis.close();
  const configs = writeConfigs(bundle, wrangler, ports, DRIVER_SCOPE, redis);
  const upstream = startProcess("mock-upstream", process.execPath, [MOCK_UPSTREAM, "--port", String(ports.upstream)]);
  const kv = startProcess("workerd-kv", WORKERD, ["serve", configs.kv, "config"]);
  const gateway = startProcess("workerd-gateway", WORKERD, ["serve", configs.gateway, "config"]);
  const noHealth = startProcess("workerd-gateway-no-health", WORKERD, ["serve", configs.gatewayNoHealth, "config"]);
  const noLog = startProcess("workerd-gateway-no-log", WORKERD, ["serve", configs.gatewayNoLog, "config"]);
  const logSink = startProcess("workerd-log-sink", WORKERD, ["serve", configs.logSink, "config"]);
  const bare = startProcess("workerd-bare", WORKERD, ["serve", configs.bare, "config"]);
  await waitForHttp("mock upstream", ports.upstream, upstream);
  await waitForHttp("workerd (kv)", ports.kv, kv);
  await waitForHttp("workerd (gateway)", ports.gateway, gateway);
  await waitForHttp("workerd (ledger driver)", ports["ledger-driver"], gateway);
  await waitForHttp("workerd (gateway-no-health)", ports["gateway-no-health"], noHealth);
  await waitForHttp("workerd (gateway-no-log)", ports["gateway-no-log"], noLog);
  await waitForHttp("workerd (log sink)", ports["log-sink"], logSink);
  await waitForHttp("workerd (bare)", ports.bare, bare);
  console.log(
    `servers: gateway :${ports.gateway} (workerd pid ${gateway.child.pid}, route health on), ` +
      `gateway-no-health :${ports["gateway-no-health"]} (workerd pid ${noHealth.child.pid}), ` +
      `ledger driver :${ports["ledger-driver"]} (in the gateway's process), bare :${ports.bare} (workerd pid ${bare.child.pid}), upstream :${ports.upstream} (node pid ${upstream.child.pid}), ` +
      `kv :${ports.kv} (workerd pid ${kv.child.pid})` +
      (redis === null ? "" : `, Redis bridge ${redis.url} (this process, pid ${process.pid}) → redis-server :${redis.redisPort}`),
  );

  const key = await createGatewayKey(ports.gateway);
  console.log(`gateway key: ${keyPrefix(key)} (POST /admin/keys), sent to every target`);

  const gatewayTarget: Target<"gateway"> = { name: "gateway", port: ports.gateway, child: gateway.child };
  const targets: Array<Target<ComparedTargetName>> = [
    gatewayTarget,
    { name: "bare", port: ports.bare, child: bare.child },
    { name: "upstream", port: ports.upstream, child: null },
  ];
  const noHealthTarget: Target = { name: "gateway-no-health", port: ports["gateway-no-health"], child: noHealth.child };
  const noLogTarget: Target = { name: "gateway-no-log", port: ports["gateway-no-log"], child: noLog.child };
  const driverTarget: Target = { name: "ledger-driver", port: ports["ledger-driver"], child: gateway.child };
  const scenarios = writeScenarios();
  await scriptBenchMock(ports.upstream);
  await putRoutedAlias(ports.gateway);
  const budgets = await setUpBudgets(ports.gateway, scenarios.nonStream);
  console.log(`budgets: ${budgets.offScope} without a budget (off), ${budgets.onScope} and ${DRIVER_SCOPE} (ledger driver) with a hard one; openai/mock-model priced`);
  const limits = redis === null ? null : await setUpLimits(ports.gateway, redis, scenarios.nonStream);
  if (limits !== null) {
    const pid = limits.redisServerPid === null ? "pid not found: no redis-server CPU" : `pid ${limits.redisServerPid}`;
    console.log(`limits: a key without limits (off) and one with rpm/tpm that never refuse (on); redis-server ${pid}`);
  }

  await smokeTest([...targets, noHealthTarget, noLogTarget], scenarios, key);
  await smokeTestBudgets(gatewayTarget, driverTarget, budgets);
  if (limits !== null) await smokeTestLimits(gatewayTarget, limits);
  const failover = await failoverRuns(settings, { withHealth: gatewayTarget, withoutHealth: noHealthTarget }, key);
  const extraBlocks = [...(limits === null ? [] : [limitsBlock(gatewayTarget, limits)]), ...budgetBlocks(gatewayTarget, driverTarget, budgets)];
  const { runs, warmups } = await loadRuns(settings, loadBlocks(targets, scenarios, noHealthTarget, noLogTarget, extraBlocks), key);
  const sink = (await (await fetch(`http://127.0.0.1:${ports["log-sink"]}/stats`)).json()) as { calls: number; messages: number };
  const ledgers = await countLedgers(ports.gateway, budgets, runs, warmups);
  const sequential = await sequentialRuns(settings, targets, scenarios.compared, key);
  const limitsSeq = limits === null ? null : await limitsSequential(settings, gatewayTarget, limits);
  for (const server of [gateway, noHealth, noLog, logSink, bare, upstream, kv]) {
    if (!alive(server.child)) throw new BenchError(`a server exited during the benchmark: see ${relative(ROOT, LOGS)}`);
  }
  await stopAll();
  await redis?.close();
  closeRedis = undefined;

  const limitsRan = limits === null || limitsSeq === null ? null : { setup: limits, sequential: limitsSeq, unavailable: countUnavailableLogLines(gateway.log) };
  const info = {
    settings,
    wrangler,
    workerdVersion,
    wrkVersion,
    bundle,
    gatewayKey: keyPrefix(key),
    requestLogLines: countRequestLogLines(gateway.log),
  };
  const results = buildResults(
    info,
    scenarios,
    runs,
    sequential,
    failover,
    budgetResults(runs, budgets, ledgers),
    limitsResults(runs, limitsRan, sequential.latency.bare.medianMs - sequential.latency.upstream.medianMs, settings.clkTck),
  );
  const logging = loggingResults(runs, sink);
  const loggingTargets = loggingChecks(logging);
  const resultsPath = writeResults({ ...results, logging, targets: [...results.targets, ...loggingTargets] });
  console.log(formatReport(results, info, targets, scenarios, resultsPath));
  console.log(`\n${loggingReport(logging)}`);
  for (const c of loggingTargets) console.log(`  ${c.pass ? "PASS" : "MISS"}  ${c.name}: ${c.value.toFixed(3)} (limit ≥ ${c.limit})`);
}

stopChildrenOnExit();
main().then(
  () => process.exit(0),
  async (error: unknown) => {
    if (wasInterrupted()) return; // the signal handler is already stopping the children and exiting
    const message =
      error instanceof BenchError ? error.message : error instanceof Error ? (error.stack ?? error.message) : String(error);
    console.error(`\nbench failed: ${message}`);
    await stopAll();
    await closeRedis?.().catch(() => {});
    process.exit(1);
  },
);
