/**
 * The dashboard (issue 14): sign in with the admin token, then its views, one
 * page routed by its path: the overview, the request log and each request,
 * budgets, routes and health, keys. Everything comes from the admin API;
 * nothing is fetched from anywhere else.
 */
import { ApiError, session, signIn, signOut } from "./api.ts";
import { showBudgets } from "./budgets.ts";
import { el, link, note } from "./dom.ts";
import { showHealth } from "./health.ts";
import { showKeys } from "./keys.ts";
import { showOverview } from "./overview.ts";
import { showRequest, showRequests } from "./requests.ts";

const app = document.getElementById("app") as HTMLElement;
const nav = document.getElementById("nav") as HTMLElement;
const signOutButton = document.getElementById("sign-out") as HTMLButtonElement;

function showSignIn(message = ""): void {
  signOutButton.hidden = true;
  nav.hidden = true;
  const input = el("input", { type: "password", id: "token", name: "token", required: true, autocomplete: "current-password" });
  const error = el("p", { className: "error", id: "sign-in-error", textContent: message, role: "alert" });
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

const VIEWS: ReadonlyArray<[path: string, title: string]> = [
  ["/dashboard", "Overview"],
  ["/dashboard/requests", "Requests"],
  ["/dashboard/budgets", "Budgets"],
  ["/dashboard/routes", "Routes & health"],
  ["/dashboard/keys", "Keys"],
];

/** Counts navigations: a view that finishes loading after the next navigation began is dropped, not shown. */
let navigations = 0;

/** Shows the view of the current path, built off-page and swapped in once loaded. */
async function route(): Promise<void> {
  const current = ++navigations;
  signOutButton.hidden = false;
  nav.hidden = false;
  const path = location.pathname.replace(/\/+$/, "");
  const section = VIEWS.slice(1).find(([p]) => path.startsWith(p))?.[0] ?? "/dashboard";
  for (const a of nav.querySelectorAll("a")) {
    if (a.getAttribute("href") === section) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  document.title = `${VIEWS.find(([p]) => p === section)?.[1] ?? "Overview"} · Switchyard`;
  app.replaceChildren(note("Loading…"));
  app.setAttribute("aria-busy", "true");
  const view = el("div");
  const request = /^\/dashboard\/requests\/([^/]+)$/.exec(path);
  const params = new URLSearchParams(location.search);
  try {
    if (request?.[1] !== undefined) await showRequest(view, navigate, decodeURIComponent(request[1]));
    else if (path === "/dashboard/requests") await showRequests(view, navigate, params);
    else if (path === "/dashboard/budgets") await showBudgets(view);
    else if (path === "/dashboard/routes") await showHealth(view);
    else if (path === "/dashboard/keys") await showKeys(view, navigate);
    else await showOverview(view, navigate, params);
  } catch (err) {
    if (current !== navigations) return;
    if (err instanceof ApiError && err.status === 401) return showSignIn("Your session has ended: sign in again.");
    view.replaceChildren(note(`Could not load this view: ${err instanceof Error ? err.message : String(err)}`, "error"), el("button", { type: "button", textContent: "Try again", onclick: () => void route() }));
  }
  if (current !== navigations) return;
  app.replaceChildren(view);
  app.removeAttribute("aria-busy");
  // Keyboard and screen-reader users land on the new view's heading, as after a page load.
  const heading = view.querySelector("h1");
  if (heading !== null) {
    heading.tabIndex = -1;
    heading.focus({ preventScroll: true });
  }
}

function navigate(path: string): void {
  history.pushState(null, "", path);
  void route();
}

window.addEventListener("popstate", () => void route());
nav.append(...VIEWS.map(([path, title]) => link(path, title, navigate)));

signOutButton.addEventListener("click", () => {
  signOut().then(() => showSignIn(), (err: unknown) => showSignIn(String(err)));
});

session()
  .then((state) => (state.signedIn ? route() : showSignIn()))
  .catch((err: unknown) => {
    app.replaceChildren(note(err instanceof ApiError && err.status === 403 ? "The dashboard is off: set the ADMIN_TOKEN secret." : `The gateway could not be reached: ${String(err)}`, "error"));
  });
