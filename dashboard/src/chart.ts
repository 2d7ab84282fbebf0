/**
 * The overview's chart: spend per interval stacked by group (model, provider,
 * key or user), drawn with uPlot as stacked bars. uPlot does not stack by
 * itself: each group is drawn as its running total over the groups below it,
 * the tallest first, so each bar's visible band is that group's own spend; the
 * legend shows each group's own value, not the running total. Legend entries
 * do not hide their series (CSS): hiding one band of a running total would
 * only repaint it in the colour of the next.
 */
import uPlot from "uplot";
import type { Analytics } from "./api.ts";
import { usd } from "./dom.ts";

/** Groups drawn on their own; the rest are added up as "(others)". */
const MAX_GROUPS = 8;
const PALETTE = ["#2f6fde", "#d9822b", "#2fa36b", "#c43d5c", "#7a5cc4", "#5a8f9e", "#a0862d", "#8c564b", "#9aa5b1"];

const cssVar = (name: string): string => getComputedStyle(document.documentElement).getPropertyValue(name).trim();

/** Every slot of `stepSec` from `fromSec` (aligned down) up to `toSec`: slots without spend are drawn at 0. */
function slots(fromSec: number, toSec: number, stepSec: number): number[] {
  const first = Math.floor(fromSec / stepSec) * stepSec;
  return Array.from({ length: Math.max(1, Math.ceil((toSec - first) / stepSec)) }, (_, i) => first + i * stepSec);
}

/** A tick's dollars with as many decimals as the step between ticks needs, so no two ticks read the same. */
function tick(value: number, step: number): string {
  const decimals = Math.min(10, Math.max(2, Math.ceil(-Math.log10(step))));
  return `$${value.toFixed(decimals)}`;
}

export function spendChart(host: HTMLElement, data: Analytics, fromSec: number, toSec: number): uPlot {
  const step = data.interval === "hour" ? 3600 : 86_400;
  const times = slots(fromSec, toSec, step);
  const index = new Map(times.map((t, i) => [t, i]));
  let groups = data.series.map((s) => {
    const values = times.map(() => 0);
    for (const p of s.points) {
      const i = index.get(Date.parse(p.time) / 1000);
      if (i !== undefined) values[i] = (values[i] ?? 0) + p.costUsd;
    }
    return { group: s.group, values, total: values.reduce((a, b) => a + b, 0) };
  });
  // Groups that cost nothing (refusals before any provider) add only noise to a chart of spend.
  if (groups.some((g) => g.total > 0)) groups = groups.filter((g) => g.total > 0);
  groups.sort((a, b) => b.total - a.total);
  if (groups.length > MAX_GROUPS) {
    const rest = groups.slice(MAX_GROUPS - 1);
    const values = times.map((_, i) => rest.reduce((n, g) => n + (g.values[i] ?? 0), 0));
    groups = [...groups.slice(0, MAX_GROUPS - 1), { group: `(${rest.length} others)`, values, total: values.reduce((a, b) => a + b, 0) }];
  }
  // Running totals, bottom (largest) group first; drawn top-down so the smaller stacks paint over the taller.
  const stacked: number[][] = [];
  groups.forEach((g, gi) => stacked.push(g.values.map((v, i) => v + (gi > 0 ? (stacked[gi - 1]?.[i] ?? 0) : 0))));
  const order = groups.map((_, i) => i).reverse();
  const axis = axisStyle();
  const bars = uPlot.paths.bars?.({ size: [0.8, 48], align: 1 });
  const chart = new uPlot(
    {
      width: Math.max(300, host.clientWidth || 960),
      height: 280,
      scales: { x: { time: true, range: [times[0] ?? fromSec, (times.at(-1) ?? toSec) + step] } },
      legend: { live: true },
      series: [
        {},
        ...order.map((gi) => ({
          label: groups[gi]?.group ?? "",
          stroke: PALETTE[gi % PALETTE.length],
          fill: PALETTE[gi % PALETTE.length],
          width: 0,
          ...(bars !== undefined && { paths: bars }),
          points: { show: false },
          value: (_u: uPlot, _v: number | null, _s: number, i: number | null) => (i === null ? usd(groups[gi]?.total ?? 0) : usd(groups[gi]?.values[i] ?? 0)),
        })),
      ],
      axes: [axis, { ...axis, size: 80, values: (_u: uPlot, ticks: number[], _a: number, _s: number, step: number) => ticks.map((t) => tick(t, step)) }],
    },
    [times, ...order.map((gi) => stacked[gi] ?? [])] as uPlot.AlignedData,
    host,
  );
  host.setAttribute("role", "img");
  host.setAttribute("aria-label", `Spend per ${data.interval}, stacked: ${groups.map((g) => `${g.group} ${usd(g.total)}`).join(", ")}`);
  fitWidth(host, chart);
  return chart;
}

/** Requests and errors per interval, over every group. */
export function trafficChart(host: HTMLElement, data: Analytics, fromSec: number, toSec: number): uPlot {
  const step = data.interval === "hour" ? 3600 : 86_400;
  const times = slots(fromSec, toSec, step);
  const index = new Map(times.map((t, i) => [t, i]));
  const requests = times.map(() => 0);
  const errors = times.map(() => 0);
  for (const s of data.series) {
    for (const p of s.points) {
      const i = index.get(Date.parse(p.time) / 1000);
      if (i === undefined) continue;
      requests[i] = (requests[i] ?? 0) + p.requests;
      errors[i] = (errors[i] ?? 0) + p.errors;
    }
  }
  const axis = axisStyle();
  const chart = new uPlot(
    {
      width: Math.max(300, host.clientWidth || 960),
      height: 180,
      scales: { x: { time: true, range: [times[0] ?? fromSec, (times.at(-1) ?? toSec) + step] } },
      series: [
        {},
        { label: "requests", stroke: cssVar("--accent") || "#2f6fde", width: 2, points: { show: false } },
        { label: "errors (5xx, cut streams)", stroke: cssVar("--error") || "#b3261e", width: 2, points: { show: false } },
      ],
      axes: [axis, { ...axis, size: 60 }],
    },
    [times, requests, errors] as uPlot.AlignedData,
    host,
  );
  host.setAttribute("role", "img");
  host.setAttribute("aria-label", `Requests per ${data.interval}: ${requests.reduce((a, b) => a + b, 0)} in all, ${errors.reduce((a, b) => a + b, 0)} errors`);
  fitWidth(host, chart);
  return chart;
}

function axisStyle(): uPlot.Axis {
  const line = cssVar("--line") || "#d8dee4";
  return { stroke: cssVar("--fg") || "#1b1f24", grid: { stroke: line, width: 1 }, ticks: { stroke: line, width: 1 } };
}

/** Keeps the chart as wide as its box (a window resized, a phone turned). */
function fitWidth(host: HTMLElement, chart: uPlot): void {
  new ResizeObserver(() => chart.setSize({ width: Math.max(300, host.clientWidth), height: chart.height })).observe(host);
}
