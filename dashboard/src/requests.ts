/**
 * /dashboard/requests: the request log, filtered and paged (the admin API's
 * cursor), and /dashboard/requests/<id>: one request, its cost by rate, its
 * fallback trail, timings, and its bodies when its key keeps them.
 */
import { ApiError, requestById, requests, type RequestRecord } from "./api.ts";
import { busy, el, field, link, localInput, localTime, meter, note, percent, select, timeParam, usd } from "./dom.ts";

const FILTERS = ["key", "user", "model", "provider", "status", "outcome"] as const;
const PLACEHOLDERS: Readonly<Record<(typeof FILTERS)[number], string>> = { key: "key_…", user: "end user", model: "alias or provider/model", provider: "openai", status: "402", outcome: "refused" };

const tokens = (r: RequestRecord): string => String((r.usage?.prompt_tokens ?? 0) + (r.usage?.completion_tokens ?? 0));
const cost = (r: RequestRecord): string => (r.costUsd === null ? "unpriced" : `${r.costEstimated ? "≈ " : ""}${usd(r.costUsd)}`);

export async function showRequests(app: HTMLElement, navigate: (path: string) => void, params: URLSearchParams): Promise<void> {
  const form = el("form", { id: "request-filters", className: "filters" });
  for (const name of FILTERS) {
    const input = el("input", { name, id: `filter-${name}`, value: params.get(name) ?? "", placeholder: PLACEHOLDERS[name] });
    form.append(field(name[0]?.toUpperCase() + name.slice(1), input));
  }
  const anomaly = select("anomaly", ["", "true", "false"], params.get("anomaly") ?? "");
  anomaly.id = "filter-anomaly";
  for (const [option, text] of [["", "any cost"], ["true", "anomalies only"], ["false", "no anomalies"]] as const) {
    const o = anomaly.querySelector(`option[value="${option}"]`);
    if (o !== null) o.textContent = text;
  }
  form.append(field("Cost", anomaly));
  // The time range, typed in the viewer's zone and sent as epoch milliseconds.
  for (const name of ["from", "to"] as const) {
    const given = timeParam(params.get(name));
    const input = el("input", { type: "datetime-local", name, id: `filter-${name}`, value: given === null ? "" : localInput(given) });
    form.append(field(name === "from" ? "From" : "To", input));
  }
  form.append(el("button", { type: "submit", textContent: "Filter" }));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const query = new URLSearchParams();
    for (const [name, value] of new FormData(form)) {
      if (typeof value !== "string" || value === "") continue;
      query.set(name, name === "from" || name === "to" ? String(new Date(value).getTime()) : value);
    }
    const search = query.toString();
    navigate(`/dashboard/requests${search !== "" ? `?${search}` : ""}`);
  });
  const body = el("tbody");
  const table = el(
    "table",
    { id: "requests" },
    el("thead", {}, el("tr", {}, ...["Request", "Time", "Model", "Provider", "Status", "Tokens", "Cost", "Duration"].map((h) => el("th", { scope: "col", textContent: h })))),
    body,
  );
  const more = el("button", { type: "button", id: "next-page", textContent: "Next page", hidden: true });
  // A request id from a response header or a support ticket opens that request's page.
  const id = el("input", { name: "id", id: "find-id", placeholder: "req_…", required: true, pattern: "\\S+" });
  const find = el("form", { id: "find-request", className: "inline" }, field("Request id", id), el("button", { type: "submit", textContent: "Open", className: "secondary" }));
  find.addEventListener("submit", (event) => {
    event.preventDefault();
    navigate(`/dashboard/requests/${encodeURIComponent(id.value.trim())}`);
  });
  const problem = el("div");
  app.replaceChildren(el("h1", { textContent: "Requests" }), find, form, problem, el("div", { className: "table" }, table), more);

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
          el("td", {}, link(`/dashboard/requests/${encodeURIComponent(r.id)}`, r.id, navigate)),
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
    more.onclick = () => void busy(more, problem, () => load(page.nextCursor));
  };
  // A filter the API refuses (a status that is no number, …) is said under the form, which stays to correct it.
  try {
    await load(null);
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) throw err;
    problem.replaceChildren(note(err instanceof Error ? err.message : String(err), "error"));
  }
}

/** The bill's parts in the order a price sheet lists them, in words. */
const PARTS: ReadonlyArray<[part: string, label: string]> = [
  ["input", "Input"],
  ["cachedInput", "Cached input"],
  ["cacheWrite", "Cache write (5 min)"],
  ["cacheWrite1h", "Cache write (1 h)"],
  ["audioInput", "Audio input"],
  ["output", "Output"],
  ["reasoning", "Reasoning"],
  ["audioOutput", "Audio output"],
  ["fees", "Fees (searches, pages, …)"],
];

function costTable(r: RequestRecord): HTMLElement {
  const parts = r.costParts ?? {};
  const known = PARTS.filter(([part]) => (parts[part] ?? 0) !== 0);
  const other = Object.keys(parts).filter((part) => !PARTS.some(([p]) => p === part));
  const whole = Object.values(parts).reduce((a, b) => a + b, 0);
  const rows = [...known, ...other.map((p): [string, string] => [p, p])].map(([part, label]) =>
    el("tr", {}, el("td", { textContent: label }), el("td", { textContent: usd(parts[part] ?? 0) }), el("td", { textContent: percent(parts[part] ?? 0, whole) })),
  );
  // Calls billed without an answer are in the total but in no rate of the answer: listed so the parts add up.
  for (const b of r.billedWithoutAnswer ?? []) {
    rows.push(el("tr", {}, el("td", { textContent: `${b.target}, billed without an answer (${b.why})` }), el("td", { textContent: b.costUsd === null ? "unpriced" : usd(b.costUsd) }), el("td")));
  }
  rows.push(el("tr", { className: "total" }, el("th", { scope: "row", textContent: "Total" }), el("td", { textContent: cost(r) }), el("td")));
  if ((r.unpriced ?? []).length > 0) rows.push(el("tr", {}, el("td", { colSpan: 3, className: "muted", textContent: `Not priced, left out: ${(r.unpriced ?? []).join(", ")}` })));
  return el("table", { id: "cost-parts", className: "narrow" }, el("thead", {}, el("tr", {}, ...["Rate", "Cost", "Share"].map((h) => el("th", { scope: "col", textContent: h })))), el("tbody", {}, ...rows));
}

/** The attempts in order: each that failed (the trail, `provider/model=why`), then the one that answered. */
function trail(r: RequestRecord): HTMLElement {
  const failed = (r.fallbacks ?? "").split(", ").filter((t) => t !== "");
  const items = failed.map((t) => {
    const at = t.lastIndexOf("=");
    return el("li", { className: "failed", textContent: `${at > 0 ? t.slice(0, at) : t}: ${at > 0 ? t.slice(at + 1) : "failed"}, so the next target was tried` });
  });
  if (r.model !== null) items.push(el("li", { textContent: `${r.provider}/${r.model}: answered ${r.status}` }));
  return el("ol", { id: "trail" }, ...items);
}

export async function showRequest(app: HTMLElement, navigate: (path: string) => void, id: string): Promise<void> {
  const r = await requestById(id);
  const rows: Array<[string, string]> = [
    ["Time", localTime(r.time)],
    ["Key", r.keyId ?? "(none)"],
    ["End user", r.user ?? "(none)"],
    ["Endpoint", `${r.endpoint}${r.stream ? ", streamed" : ""}`],
    ["Model", `${r.requested ?? ""}${r.model !== null ? ` → ${r.provider}/${r.model}` : ""}${r.degradedTo !== null && r.degradedTo !== undefined ? ` (degraded to ${r.degradedTo})` : ""}`],
    ["Status", `${r.status} ${r.outcome}${r.errorCode !== null ? ` (${r.errorCode})` : ""}`],
    ["Cost", cost(r)],
    ["Tokens", `${r.usage?.prompt_tokens ?? 0} in, ${r.usage?.completion_tokens ?? 0} out`],
    ["Attempts", `${r.attempts}${r.fallbacks !== null ? `: ${r.fallbacks}` : ""}`],
    ["Anomaly", r.anomaly === "over_cap" ? "over the key's per-request cap" : r.anomaly === "over_median" ? "far over the key's usual cost on this model" : (r.anomaly ?? "none")],
  ];
  const timing = el(
    "div",
    { id: "timings" },
    el("p", { textContent: `First byte after ${r.ttfbMs === null ? "–" : `${r.ttfbMs} ms`}, done after ${r.durationMs} ms` }),
    meter(r.durationMs, [{ value: r.ttfbMs ?? 0, className: "reserved", label: "waiting for the first byte" }, { value: Math.max(0, r.durationMs - (r.ttfbMs ?? 0)), className: "spent", label: "answering" }], (n) => `${n} ms`),
  );
  app.replaceChildren(
    link("/dashboard/requests", "← Requests", navigate),
    el("h1", { id: "request-id", textContent: r.id }),
    el("dl", { className: "facts" }, ...rows.flatMap(([term, value]) => [el("dt", { textContent: term }), el("dd", { textContent: value })])),
    el("h2", { textContent: "Attempts" }),
    trail(r),
    el("h2", { textContent: "Timings" }),
    timing,
    el("h2", { textContent: r.costEstimated ? "Cost by rate (estimated: the provider reported no usage)" : "Cost by rate" }),
    costTable(r),
    ...(r.usage !== null ? [el("details", {}, el("summary", { textContent: "Usage as the provider reported it" }), el("pre", { textContent: JSON.stringify(r.usage, null, 2) }))] : []),
    ...(r.bodies !== undefined
      ? [el("h2", { textContent: `Bodies${r.bodies.truncated ? " (cut)" : ""}` }), el("h3", { textContent: "Request" }), el("pre", { textContent: r.bodies.request }), el("h3", { textContent: "Response" }), el("pre", { textContent: r.bodies.response ?? "" })]
      : []),
  );
}
