/**
 * The overview (/dashboard): where the money went over a range (24 h, 7 d,
 * 30 d or custom), stacked by model, provider, key or end user; spend today
 * and this month against the deployment's budgets; requests, error rate,
 * latency and time to first byte; the top keys, users and models by cost; and
 * the anomalies found. The range and grouping live in the address, so a view
 * can be shared or reloaded. Each part loads on its own: one that fails says
 * so where it would have been, and the rest still shows.
 */
import { analytics, anomalies, type Analytics, budgets, keys, topGroups, usage, type Anomaly, type BudgetStatus, type TopGroup } from "./api.ts";
import { spendChart, trafficChart } from "./chart.ts";
import { el, field, link, localInput, localTime, meter, ms, note, percent, select, stat, timeParam, usd } from "./dom.ts";

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
const RANGES = { "24h": DAY_MS, "7d": 7 * DAY_MS, "30d": 30 * DAY_MS } as const;
type RangeName = keyof typeof RANGES | "custom";
const GROUPS = ["model", "provider", "key", "user"] as const;
type GroupBy = (typeof GROUPS)[number];

interface Range {
  readonly name: RangeName;
  readonly from: number;
  readonly to: number;
}

/** The range the address asks for; 24 h when it asks for none or for nonsense. */
function rangeOf(params: URLSearchParams, now: number): Range {
  const name = params.get("range");
  if (name === "custom") {
    const from = timeParam(params.get("from"));
    const to = timeParam(params.get("to"));
    if (from !== null && to !== null && from < to) return { name, from, to };
  }
  const known = name !== null && Object.hasOwn(RANGES, name) ? (name as keyof typeof RANGES) : "24h";
  return { name: known, from: now - RANGES[known], to: now };
}

/** Hours up to a week, days beyond; end users are rolled up by day only. */
const intervalFor = (range: Range, groupBy: GroupBy): "hour" | "day" => (groupBy === "user" || range.to - range.from > 7 * DAY_MS ? "day" : "hour");

function controls(range: Range, groupBy: GroupBy, navigate: (path: string) => void): HTMLElement {
  const go = (params: Record<string, string>): void => navigate(`/dashboard?${new URLSearchParams({ groupBy, range: range.name, ...params })}`);
  const presets = el("div", { className: "segmented", role: "group" });
  presets.setAttribute("aria-label", "Range");
  for (const name of Object.keys(RANGES)) {
    const b = el("button", { type: "button", textContent: name, className: name === range.name ? "selected" : "secondary" });
    b.setAttribute("aria-pressed", String(name === range.name));
    b.dataset.range = name;
    b.addEventListener("click", () => go({ range: name }));
    presets.append(b);
  }
  const from = el("input", { type: "datetime-local", name: "from", id: "range-from", value: localInput(range.from), required: true });
  const to = el("input", { type: "datetime-local", name: "to", id: "range-to", value: localInput(range.to), required: true });
  const custom = el("form", { className: "inline", id: "custom-range" }, field("From", from), field("To", to), el("button", { type: "submit", textContent: "Show", className: "secondary" }));
  custom.addEventListener("submit", (event) => {
    event.preventDefault();
    go({ range: "custom", from: String(new Date(from.value).getTime()), to: String(new Date(to.value).getTime()) });
  });
  const group = select("groupBy", GROUPS, groupBy);
  group.id = "group-by";
  group.addEventListener("change", () => navigate(`/dashboard?${new URLSearchParams({ groupBy: group.value, range: range.name, ...(range.name === "custom" && { from: String(range.from), to: String(range.to) }) })}`));
  return el("div", { className: "controls" }, presets, custom, field("Stack by", group));
}

/** Spend in a period against the global budget with that period, if there is one. */
function againstBudget(label: string, spent: number, budget: BudgetStatus | undefined, id: string): HTMLElement {
  if (budget === undefined) return stat(label, usd(spent), "no budget on the whole gateway for this period", id);
  const detail = el("div", {}, meter(budget.limitUsd, [{ value: spent, className: "spent", label: "spent" }]), el("p", { className: "muted", textContent: `of ${usd(budget.limitUsd)} (${budget.mode}), ${percent(spent, budget.limitUsd)}` }));
  return stat(label, usd(spent), detail, id);
}

function top(title: string, id: string, rows: readonly TopGroup[], name: (group: string) => Node): HTMLElement {
  const table = el(
    "table",
    { id },
    el("thead", {}, el("tr", {}, ...["", "Cost", "Requests"].map((h) => el("th", { scope: "col", textContent: h })))),
    el("tbody", {}, ...rows.map((t) => el("tr", {}, el("td", {}, name(t.group)), el("td", { textContent: usd(t.costUsd) }), el("td", { textContent: t.requests.toLocaleString() })))),
  );
  return el("section", { className: "panel" }, el("h2", { textContent: title }), rows.length > 0 ? el("div", { className: "table" }, table) : note("Nothing in this range.", "empty"));
}

function anomalyList(found: readonly Anomaly[], keyName: (id: string) => string, navigate: (path: string) => void): HTMLElement {
  const items = found.map((a) => {
    const what = a.type === "hourly_spend" ? `Key ${keyName(a.keyId)} spent ${usd(a.costUsd)} in the hour of ${localTime(a.hour ?? a.foundAt)}` : `${a.model ?? "A request"} cost ${usd(a.costUsd)} on key ${keyName(a.keyId)}`;
    const why = a.reason === "over_cap" ? "over the key's per-request cap" : a.baselineUsd !== undefined ? `${(a.costUsd / Math.max(a.baselineUsd, 1e-12)).toFixed(0)}× its usual ${usd(a.baselineUsd)}` : "";
    return el("li", {}, `${what}: ${why} `, ...(a.requestId !== undefined ? [link(`/dashboard/requests/${a.requestId}`, a.requestId, navigate)] : []), el("span", { className: "muted", textContent: ` · ${localTime(a.foundAt)}` }));
  });
  return el("section", { className: "panel wide", id: "anomalies" }, el("h2", { textContent: "Anomalies" }), items.length > 0 ? el("ul", {}, ...items) : note("No cost anomalies in this range.", "empty"));
}

/** The budgets closest to their limit. */
function nearestBudgets(list: readonly BudgetStatus[], navigate: (path: string) => void): HTMLElement {
  const used = (b: BudgetStatus): number => (b.spentUsd + b.reservedUsd) / b.limitUsd;
  const rows = [...list].sort((a, b) => used(b) - used(a)).slice(0, 4);
  const items = rows.map((b) => el("li", {}, el("span", { textContent: `${b.scope} · ${usd(b.spentUsd)} of ${usd(b.limitUsd)} (${b.period}, ${b.mode})` }), meter(b.limitUsd, [{ value: b.spentUsd, className: "spent", label: "spent" }, { value: b.reservedUsd, className: "reserved", label: "reserved" }])));
  return el("section", { className: "panel" }, el("h2", {}, link("/dashboard/budgets", "Budgets", navigate)), items.length > 0 ? el("ul", { className: "bars" }, ...items) : note("No budgets set: add one under Budgets.", "empty"));
}

const settledValue = <T>(r: PromiseSettledResult<T>): T | undefined => (r.status === "fulfilled" ? r.value : undefined);
const failure = (r: PromiseSettledResult<unknown>): string => (r.status === "rejected" ? (r.reason instanceof Error ? r.reason.message : String(r.reason)) : "");

export async function showOverview(app: HTMLElement, navigate: (path: string) => void, params: URLSearchParams): Promise<void> {
  const groupParam = params.get("groupBy");
  const groupBy: GroupBy = GROUPS.find((g) => g === groupParam) ?? "model";
  const range = rangeOf(params, Date.now());
  app.replaceChildren(el("h1", { textContent: "Overview" }), controls(range, groupBy, navigate), note("Loading…"));
  const span = `from=${range.from}&to=${range.to}`;
  const ranked = (g: GroupBy): Promise<{ data: TopGroup[] }> => topGroups(`groupBy=${g}&limit=5&interval=${intervalFor(range, g)}&${span}`);
  // The rest of the page is asked for at once, beside the main series, and shown as it can be.
  const rest = Promise.allSettled([ranked("model"), ranked("key"), ranked("user"), usage("global", "day"), usage("global", "month"), budgets(), anomalies(`${span}&limit=20`), keys()]);
  // The chart needs each point's cost and counts only: the totals carry the percentiles.
  const series = (g: GroupBy): Promise<Analytics> => analytics(`groupBy=${g}&interval=${intervalFor(range, g)}&latency=false&${span}`);
  // End users are rolled up by UTC day and without latencies: the figures and traffic come from the per-model series then.
  const [main, overall]: [Analytics, Analytics] = groupBy === "user" ? await Promise.all([series("user"), series("model")]) : await series(groupBy).then((m) => [m, m]);
  const [byModel, byKey, byUser, today, month, budgetList, found, keyList] = await rest;
  const budgetsNow = settledValue(budgetList)?.data ?? [];
  const globalBudget = (period: string): BudgetStatus | undefined => budgetsNow.find((b) => b.scope === "global" && b.period === period);
  const names = new Map((settledValue(keyList)?.data ?? []).map((k) => [k.id, k.name]));
  // Each top entry opens the request log filtered to it; "(none)" (refused before a key or provider was known) has nothing to filter by.
  const toRequests = (filter: string, value: string, text: string): Node => {
    if (value === "(none)") return document.createTextNode(text);
    const a = link(`/dashboard/requests?${new URLSearchParams({ [filter]: value })}`, text, navigate);
    a.title = value;
    return a;
  };

  const t = overall.totals;
  const total = stat(range.name === "custom" ? "Spend in range" : `Spend, last ${range.name}`, usd(t.costUsd), `${t.requests.toLocaleString()} requests`, "spend-total");
  total.dataset.totalUsd = String(t.costUsd);
  const cards = el(
    "div",
    { className: "stats" },
    total,
    today.status === "fulfilled" ? againstBudget("Today (UTC)", today.value.totalUsd, globalBudget("day"), "spend-today") : stat("Today (UTC)", "–", failure(today)),
    month.status === "fulfilled" ? againstBudget("This month (UTC)", month.value.totalUsd, globalBudget("month"), "spend-month") : stat("This month (UTC)", "–", failure(month)),
    stat("Error rate", percent(t.errors, t.requests), `${t.errors} errors, ${t.refused} refused of ${t.requests}`, "error-rate"),
    stat("Latency p50 / p95", `${ms(t.latencyP50Ms)} / ${ms(t.latencyP95Ms)}`, "upper edge of its histogram bucket"),
    stat("First byte p50 / p95", `${ms(t.ttfbP50Ms)} / ${ms(t.ttfbP95Ms)}`, "time to first byte"),
  );
  const chartPanel = el("section", { className: "panel wide" }, el("h2", { textContent: `Spend by ${groupBy} per ${main.interval}` }));
  const host = el("div", { id: "spend-chart", className: "chart" });
  const traffic = el("div", { id: "traffic-chart", className: "chart" });
  if (groupBy === "user") chartPanel.append(note(`End users are counted by whole UTC days: ${localTime(main.from)} to ${localTime(main.to)}.`));
  if (main.series.length === 0) {
    chartPanel.append(note("No requests in this range yet: send one with a gateway key (for instance `curl $GATEWAY/v1/chat/completions -H \"Authorization: Bearer $KEY\" -d '{\"model\":\"fast\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}'`), or run `npm run demo-traffic` locally.", "empty"));
  } else chartPanel.append(host, el("h2", { textContent: `Requests and errors per ${overall.interval}` }), traffic);
  const failed = (r: PromiseSettledResult<unknown>, title: string): HTMLElement | null => (r.status === "rejected" ? el("section", { className: "panel" }, el("h2", { textContent: title }), note(failure(r), "error")) : null);
  app.replaceChildren(
    el("h1", { textContent: "Overview" }),
    controls(range, groupBy, navigate),
    cards,
    el(
      "div",
      { className: "panels" },
      chartPanel,
      failed(byKey, "Top keys") ?? top("Top keys", "top-keys", settledValue(byKey)?.data ?? [], (id) => toRequests("key", id, names.get(id) ?? id)),
      failed(byUser, "Top end users") ?? top("Top end users", "top-users", settledValue(byUser)?.data ?? [], (u) => toRequests("user", u, u)),
      failed(byModel, "Top models") ?? top("Top models", "top-models", settledValue(byModel)?.data ?? [], (m) => toRequests("model", m, m)),
      failed(budgetList, "Budgets") ?? nearestBudgets(budgetsNow, navigate),
      failed(found, "Anomalies") ?? anomalyList(settledValue(found)?.data ?? [], (id) => names.get(id) ?? id, navigate),
    ),
  );
  if (main.series.length > 0) {
    spendChart(host, main, Date.parse(main.from) / 1000, range.to / 1000);
    trafficChart(traffic, overall, Date.parse(overall.from) / 1000, range.to / 1000);
  }
}
