/**
 * The dashboard (issue 14): sign in with the admin token, then its views
 * (the overview's spend by model, drawn with uPlot; the request log and each
 * request), one page routed by its path. Everything comes from the admin API;
 * nothing is fetched from anywhere else.
 */
import uPlot from "uplot";
import { ApiError, analytics, session, signIn, signOut, type Analytics } from "./api.ts";
import { el, link, usd } from "./dom.ts";
import { showRequest, showRequests } from "./requests.ts";

const app = document.getElementById("app") as HTMLElement;
const signOutButton = document.getElementById("sign-out") as HTMLButtonElement;

function showSignIn(message = ""): void {
  signOutButton.hidden = true;
  nav.hidden = true;
  const input = el("input", { type: "password", id: "token", name: "token", required: true, autocomplete: "current-password" });
  const error = el("p", { className: "error", id: "sign-in-error", textContent: message });
  const form = el("form", { id: "sign-in" }, el("label", { htmlFor: "token", textContent: "Admin token" }), input, el("button", { type: "submit", textContent: "Sign in" }), error);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    signIn(input.value)
      .then(() => route())
      .catch((err: unknown) => showSignIn(err instanceof ApiError && err.status === 401 ? "That is not this gateway's admin token." : String(err)));
  });
  app.replaceChildren(el("h1", { textContent: "Sign in" }), form);
  input.focus();
}

/** Spend per model per hour over [from, to] (seconds), every hour drawn, an hour without spend at 0. */
function chart(data: Analytics, host: HTMLElement, from: number, to: number): void {
  const first = Math.floor(from / 3600) * 3600;
  const times = Array.from({ length: Math.ceil((to - first) / 3600) }, (_, i) => first + i * 3600);
  const columns: number[][] = [times];
  for (const s of data.series) {
    const byTime = new Map(s.points.map((p) => [Date.parse(p.time) / 1000, p.costUsd]));
    columns.push(times.map((t) => byTime.get(t) ?? 0));
  }
  const palette = ["#2f6fde", "#d9822b", "#2fa36b", "#c43d5c", "#7a5cc4", "#5a8f9e", "#a0862d"];
  new uPlot(
    {
      width: Math.min(960, host.clientWidth || 960),
      height: 280,
      scales: { x: { time: true, range: [first, to] } },
      series: [
        {},
        ...data.series.map((s, i) => ({
          label: s.group,
          stroke: palette[i % palette.length],
          width: 2,
          points: { show: true, size: 5 },
          value: (_u: uPlot, v: number | null) => (v === null ? "" : usd(v)),
        })),
      ],
      axes: [{}, { size: 80, values: (_u: uPlot, ticks: number[]) => ticks.map(usd) }],
    },
    columns as uPlot.AlignedData,
    host,
  );
}

async function showOverview(): Promise<void> {
  app.replaceChildren(el("p", { className: "muted", textContent: "Loading…" }));
  const to = Date.now();
  const data = await analytics(`groupBy=model&interval=hour&from=${to - 86_400_000}&to=${to}`);
  const total = data.series.reduce((sum, s) => sum + s.points.reduce((n, p) => n + p.costUsd, 0), 0);
  const requests = data.series.reduce((sum, s) => sum + s.points.reduce((n, p) => n + p.requests, 0), 0);
  const heading = el("h1", { textContent: "Overview: the last 24 hours" });
  const summary = el("p", { id: "spend-total", textContent: `${usd(total)} spent on ${requests} requests` });
  summary.dataset.totalUsd = String(total);
  if (data.series.length === 0) {
    app.replaceChildren(heading, summary, el("p", { className: "muted", textContent: "No requests yet: send one with a gateway key (POST /v1/chat/completions), or run `npm run demo-traffic`." }));
    return;
  }
  const host = el("div", { id: "spend-chart", className: "chart" });
  app.replaceChildren(heading, summary, el("h2", { textContent: "Spend by model" }), host);
  chart(data, host, (to - 86_400_000) / 1000, to / 1000);
}

const nav = document.getElementById("nav") as HTMLElement;

/** Shows the view of the current path (`/dashboard`, `/dashboard/requests`, `/dashboard/requests/<id>`). */
async function route(): Promise<void> {
  signOutButton.hidden = false;
  nav.hidden = false;
  const path = location.pathname.replace(/\/+$/, "");
  const request = /^\/dashboard\/requests\/([^/]+)$/.exec(path);
  try {
    if (request?.[1] !== undefined) await showRequest(app, navigate, decodeURIComponent(request[1]));
    else if (path === "/dashboard/requests") await showRequests(app, navigate, new URLSearchParams(location.search));
    else await showOverview();
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return showSignIn();
    app.replaceChildren(el("p", { className: "error", textContent: `Could not load this view: ${String(err)}` }));
  }
}

function navigate(path: string): void {
  history.pushState(null, "", path);
  void route();
}

window.addEventListener("popstate", () => void route());
nav.append(link("/dashboard", "Overview", navigate), link("/dashboard/requests", "Requests", navigate));

signOutButton.addEventListener("click", () => {
  signOut().then(() => showSignIn(), (err: unknown) => showSignIn(String(err)));
});

session()
  .then((state) => (state.signedIn ? route() : showSignIn()))
  .catch((err: unknown) => {
    app.replaceChildren(el("p", { className: "error", textContent: err instanceof ApiError && err.status === 403 ? "The dashboard is off: set the ADMIN_TOKEN secret." : `The gateway could not be reached: ${String(err)}` }));
  });
