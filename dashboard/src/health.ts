/**
 * /dashboard/routes: each alias with its strategy and targets (weights), and
 * beside each target what its RouteHealth knows (GET /admin/health): breaker
 * state, time-to-first-byte EWMA, weight cut after 429/503s, the provider's
 * rate-limit headroom, the last failure; a breaker can be reset from here.
 * Targets called by name but in no route are listed after the routes.
 */
import { health, resetBreaker, routes, type StoredRoute, type TargetHealth } from "./api.ts";
import { busy, button, el, localTime, ms, note } from "./dom.ts";

const HEADERS = ["Target", "Weight", "Breaker", "TTFB (EWMA)", "Weight now", "Headroom", "Last minute", "Last failure", ""];

function headroom(h: TargetHealth): string {
  const parts = [...(h.remainingRequests !== null ? [`${h.remainingRequests.toLocaleString()} requests`] : []), ...(h.remainingTokens !== null ? [`${h.remainingTokens.toLocaleString()} tokens`] : [])];
  if (parts.length === 0) return "not reported";
  return `${parts.join(", ")}${h.resetAt !== null ? ` until ${new Date(h.resetAt).toLocaleTimeString()}` : ""}`;
}

function targetRow(target: string, weight: string, h: TargetHealth | undefined, refresh: () => void): HTMLTableRowElement {
  if (h === undefined) return el("tr", {}, el("td", { textContent: target }), el("td", { textContent: weight }), el("td", { colSpan: HEADERS.length - 2, className: "muted", textContent: "no attempts yet" }));
  const problem = el("span");
  const breaker = el("span", { className: `badge ${h.breaker}`, textContent: h.breaker === "open" && h.retryAt !== null ? `open until ${new Date(h.retryAt).toLocaleTimeString()}` : h.breaker });
  const reset = h.breaker === "closed" ? "" : button("Reset", () => void busy(reset as HTMLButtonElement, problem, async () => {
    await resetBreaker(h.target);
    refresh();
  }), { className: "secondary" });
  const row = el(
    "tr",
    {},
    el("td", { textContent: target }),
    el("td", { textContent: weight }),
    el("td", {}, breaker),
    el("td", { textContent: ms(h.ttfbMs) }),
    el("td", { textContent: `${Math.round(h.weightFactor * 100)} %` }),
    el("td", { textContent: headroom(h) }),
    el("td", { textContent: `${h.window.requests} calls, ${h.window.failures} failed` }),
    el("td", { textContent: h.lastFailure === null ? "none" : `${h.lastFailure.outcome}${h.lastFailure.status !== null ? ` ${h.lastFailure.status}` : ""}, ${localTime(h.lastFailure.at)}` }),
    el("td", {}, reset, problem),
  );
  row.dataset.target = h.target;
  return row;
}

const table = (rows: HTMLTableRowElement[]): HTMLElement =>
  el("div", { className: "table" }, el("table", {}, el("thead", {}, el("tr", {}, ...HEADERS.map((h) => el("th", { scope: "col", textContent: h })))), el("tbody", {}, ...rows)));

function routeSection(r: StoredRoute, byTarget: Map<string, TargetHealth>, refresh: () => void): HTMLElement {
  const weighted = r.route.strategy === "weighted";
  const rows = r.route.targets.map((t) => targetRow(`${t.provider}/${t.model}`, weighted ? String(t.weight ?? 1) : "–", byTarget.get(`${t.provider}/${t.model}`), refresh));
  const section = el(
    "section",
    { className: "panel route" },
    el("header", {}, el("h2", { textContent: r.alias }), el("span", { className: "badge", textContent: r.route.strategy }), el("span", { className: "muted", textContent: r.source === "bundled" ? "bundled default" : "set by an admin" })),
    ...(r.route.description !== undefined ? [el("p", { className: "muted", textContent: r.route.description })] : []),
    table(rows),
  );
  section.dataset.alias = r.alias;
  return section;
}

export async function showHealth(app: HTMLElement): Promise<void> {
  const refresh = (): void => void showHealth(app).catch((err: unknown) => app.append(note(String(err), "error")));
  // Routes are configuration and health is Durable Object state: either can be missing without the other.
  const [routeList, healthList] = await Promise.allSettled([routes(), health()]);
  if (routeList.status === "rejected") throw routeList.reason;
  const healthData = healthList.status === "fulfilled" ? healthList.value.data : [];
  const byTarget = new Map(healthData.map((h) => [h.target, h]));
  const routed = new Set(routeList.value.data.flatMap((r) => r.route.targets.map((t) => `${t.provider}/${t.model}`)));
  const others = healthData.filter((h) => !routed.has(h.target));
  app.replaceChildren(
    el("h1", { textContent: "Routes & health" }),
    el("div", { className: "actions" }, button("Refresh", refresh, { className: "secondary", id: "refresh-health" })),
    ...(healthList.status === "rejected" ? [note(`Target health could not be read: ${healthList.reason instanceof Error ? healthList.reason.message : String(healthList.reason)}`, "error")] : []),
    ...(healthList.status === "fulfilled" && healthList.value.has_more ? [note("Only the first 500 targets are shown (GET /admin/health pages the rest).")] : []),
    ...(routeList.value.data.length === 0 ? [note("No routes: add one with PUT /admin/routes/<alias>.", "empty")] : routeList.value.data.map((r) => routeSection(r, byTarget, refresh))),
    el("section", { className: "panel" }, el("h2", { textContent: "Targets called by name" }), others.length > 0 ? table(others.map((h) => targetRow(h.target, "–", h, refresh))) : note("None: every target called is in a route above.", "empty")),
  );
}
