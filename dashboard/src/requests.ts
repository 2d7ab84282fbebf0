/**
 * /dashboard/requests: the request log, filtered and paged (the admin API's
 * cursor), and /dashboard/requests/<id>: one request, its cost by rate, its
 * fallback trail, timings, and its bodies when its key keeps them.
 */
import { requestById, requests, type RequestRecord } from "./api.ts";
import { el, link, localTime, usd } from "./dom.ts";

const FILTERS = ["key", "user", "model", "provider", "status", "outcome"] as const;

const tokens = (r: RequestRecord): string => String((r.usage?.prompt_tokens ?? 0) + (r.usage?.completion_tokens ?? 0));
const cost = (r: RequestRecord): string => (r.costUsd === null ? "unpriced" : `${r.costEstimated ? "≈ " : ""}${usd(r.costUsd)}`);

export async function showRequests(app: HTMLElement, navigate: (path: string) => void, params: URLSearchParams): Promise<void> {
  const form = el("form", { id: "request-filters", className: "filters" });
  for (const name of FILTERS) {
    const input = el("input", { name, id: `filter-${name}`, value: params.get(name) ?? "", placeholder: name });
    form.append(el("label", { htmlFor: input.id, className: "visually-hidden", textContent: name }), input);
  }
  form.append(el("button", { type: "submit", textContent: "Filter" }));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const query = new URLSearchParams();
    for (const [name, value] of new FormData(form)) if (typeof value === "string" && value !== "") query.set(name, value);
    navigate(`/dashboard/requests${query.size > 0 ? `?${query}` : ""}`);
  });
  const body = el("tbody");
  const table = el(
    "table",
    { id: "requests" },
    el("thead", {}, el("tr", {}, ...["Request", "Time", "Model", "Provider", "Status", "Tokens", "Cost", "Duration"].map((h) => el("th", { scope: "col", textContent: h })))),
    body,
  );
  const more = el("button", { type: "button", id: "next-page", textContent: "Next page", hidden: true });
  app.replaceChildren(el("h1", { textContent: "Requests" }), form, el("div", { className: "table" }, table), more);

  const query = new URLSearchParams(params);
  query.set("limit", "50");
  const load = async (cursor: string | null): Promise<void> => {
    if (cursor !== null) query.set("cursor", cursor);
    const page = await requests(query.toString());
    if (page.data.length === 0 && cursor === null) {
      body.append(el("tr", {}, el("td", { colSpan: 8, className: "muted", textContent: "No requests match: send one with a gateway key, or run `npm run demo-traffic`." })));
    }
    for (const r of page.data) {
      body.append(
        el(
          "tr",
          { className: r.status >= 400 ? "failed" : "" },
          el("td", {}, link(`/dashboard/requests/${r.id}`, r.id, navigate)),
          el("td", { textContent: localTime(r.time) }),
          el("td", { textContent: r.model ?? r.requested ?? "" }),
          el("td", { textContent: r.provider ?? "" }),
          el("td", { textContent: `${r.status}${r.anomaly !== null ? " ⚠" : ""}` }),
          el("td", { textContent: tokens(r) }),
          el("td", { textContent: cost(r) }),
          el("td", { textContent: `${r.durationMs} ms` }),
        ),
      );
    }
    more.hidden = page.nextCursor === null;
    more.onclick = () => void load(page.nextCursor);
  };
  await load(null);
}

export async function showRequest(app: HTMLElement, navigate: (path: string) => void, id: string): Promise<void> {
  const r = await requestById(id);
  const rows: Array<[string, string]> = [
    ["Time", localTime(r.time)],
    ["Key", r.keyId ?? "(none)"],
    ["End user", r.user ?? "(none)"],
    ["Model", `${r.requested ?? ""}${r.model !== null ? ` → ${r.provider}/${r.model}` : ""}`],
    ["Status", `${r.status} ${r.outcome}${r.errorCode !== null ? ` (${r.errorCode})` : ""}`],
    ["Cost", cost(r)],
    ["Tokens", `${r.usage?.prompt_tokens ?? 0} in, ${r.usage?.completion_tokens ?? 0} out`],
    ["Time to first byte", r.ttfbMs === null ? "" : `${r.ttfbMs} ms`],
    ["Duration", `${r.durationMs} ms`],
    ["Attempts", `${r.attempts}${r.fallbacks !== null ? `: ${r.fallbacks}` : ""}`],
    ["Anomaly", r.anomaly ?? "none"],
  ];
  const parts = Object.entries(r.costParts ?? {}).map(([part, value]) => el("li", { textContent: `${part}: ${usd(value)}` }));
  app.replaceChildren(
    link("/dashboard/requests", "← Requests", navigate),
    el("h1", { id: "request-id", textContent: r.id }),
    el("dl", { className: "facts" }, ...rows.flatMap(([term, value]) => [el("dt", { textContent: term }), el("dd", { textContent: value })])),
    ...(parts.length > 0 ? [el("h2", { textContent: "Cost by rate" }), el("ul", {}, ...parts)] : []),
    ...(r.bodies !== undefined
      ? [el("h2", { textContent: `Bodies${r.bodies.truncated ? " (cut)" : ""}` }), el("pre", { textContent: r.bodies.request }), el("pre", { textContent: r.bodies.response ?? "" })]
      : []),
  );
}
