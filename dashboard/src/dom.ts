/** Small DOM helpers shared by the views: elements built with textContent (never innerHTML), money, times and states. */
export function el<K extends keyof HTMLElementTagNameMap>(tag: K, props: Partial<HTMLElementTagNameMap[K]> = {}, ...children: Array<Node | string>): HTMLElementTagNameMap[K] {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children);
  return node;
}

/**
 * USD with sensible precision: cents from ten cents up, two significant digits
 * below (a cheap request's $0.000041), never in exponent notation.
 */
export function usd(n: number): string {
  if (n === 0) return "$0";
  const sign = n < 0 ? "-" : "";
  const abs = Math.abs(n);
  const digits = abs >= 0.1 ? { minimumFractionDigits: 2, maximumFractionDigits: 2 } : { maximumSignificantDigits: 2, maximumFractionDigits: 12 };
  return `${sign}$${abs.toLocaleString("en-US", digits)}`;
}

/** The latest time a Date can hold: a time from the address beyond it would throw where it is shown. */
const MAX_TIME_MS = 8.64e15;

/** Epoch milliseconds from an address parameter, or null when it is none (missing, not a number, out of a Date's range). */
export function timeParam(raw: string | null): number | null {
  if (raw === null || raw === "") return null;
  const ms = Number(raw);
  return Number.isFinite(ms) && Math.abs(ms) <= MAX_TIME_MS ? ms : null;
}

/** A time in the viewer's zone. */
export const localTime = (iso: string | number): string => new Date(iso).toLocaleString();

/** A datetime-local input's value for epoch `ms`, in the viewer's zone. */
export function localInput(ms: number): string {
  return new Date(ms - new Date(ms).getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
}

/** Milliseconds as people read them (null: not measured). */
export const ms = (n: number | null): string => (n === null ? "–" : n >= 10_000 ? `${(n / 1000).toFixed(1)} s` : `${Math.round(n)} ms`);

/** A share as a percentage with one decimal where it matters. */
export const percent = (part: number, whole: number): string => (whole === 0 ? "–" : `${((100 * part) / whole).toFixed(part * 1000 < whole && part > 0 ? 2 : 1)} %`);

/** A link that navigates inside the dashboard without reloading it. */
export function link(href: string, text: string, navigate: (path: string) => void): HTMLAnchorElement {
  const a = el("a", { href, textContent: text });
  a.addEventListener("click", (event) => {
    if (event.metaKey || event.ctrlKey || event.shiftKey) return;
    event.preventDefault();
    navigate(href);
  });
  return a;
}

/** A view's loading, empty or error state: one paragraph that says what is going on and what to do. */
export const note = (text: string, kind: "muted" | "error" | "empty" = "muted"): HTMLParagraphElement =>
  el("p", { className: kind === "empty" ? "muted empty" : kind, textContent: text, ...(kind === "error" && { role: "alert" }) });

/** A labelled control. */
export function field(label: string, control: HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement): HTMLLabelElement {
  return el("label", { className: "field" }, el("span", { textContent: label }), control);
}

export function select(name: string, options: readonly string[], value: string): HTMLSelectElement {
  const s = el("select", { name }, ...options.map((o) => el("option", { value: o, textContent: o })));
  s.value = value;
  return s;
}

export function button(text: string, onClick: (event: MouseEvent) => void, props: Partial<HTMLButtonElement> = {}): HTMLButtonElement {
  const b = el("button", { type: "button", textContent: text, ...props });
  b.addEventListener("click", onClick);
  return b;
}

/** A horizontal meter: segments as shares of `max` (over `max` is drawn full and marked). */
export function meter(max: number, parts: ReadonlyArray<{ value: number; className: string; label: string }>, unit: (n: number) => string = usd): HTMLDivElement {
  const total = parts.reduce((n, p) => n + p.value, 0);
  const bar = el("div", { className: `meter${total > max ? " over" : ""}`, role: "img" });
  bar.setAttribute("aria-label", parts.map((p) => `${p.label} ${unit(p.value)}`).join(", ") + ` of ${unit(max)}`);
  let used = 0;
  for (const p of parts) {
    const width = max > 0 ? Math.min(100 - used, (100 * p.value) / max) : 0;
    used += width;
    bar.append(el("span", { className: p.className, title: `${p.label}: ${unit(p.value)}` }));
    (bar.lastElementChild as HTMLElement).style.width = `${width}%`;
  }
  return bar;
}

/** A figure on a card: a label, a value and an optional line under it. */
export function stat(label: string, value: string, detail?: Node | string, id?: string): HTMLElement {
  const card = el("section", { className: "stat" }, el("h3", { textContent: label }), el("p", { className: "value", textContent: value }));
  if (id !== undefined) card.id = id;
  if (detail !== undefined) card.append(typeof detail === "string" ? el("p", { className: "muted", textContent: detail }) : detail);
  return card;
}

/** Runs an action from a button: disabled while it runs, its failure shown in `where`. */
export async function busy(control: HTMLButtonElement, where: HTMLElement, action: () => Promise<void>): Promise<void> {
  control.disabled = true;
  where.replaceChildren();
  try {
    await action();
  } catch (err) {
    where.replaceChildren(note(err instanceof Error ? err.message : String(err), "error"));
  } finally {
    control.disabled = false;
  }
}

/** A destructive action's button: asks first, then runs `action` with its failure shown in `where`. */
export function dangerButton(text: string, question: string, where: HTMLElement, action: () => Promise<void>): HTMLButtonElement {
  const b = button(text, () => {
    if (confirm(question)) void busy(b, where, action);
  }, { className: "danger" });
  return b;
}

/** An "Edit" button that shows and hides `panel`, building its form the first time it opens. */
export function editToggle(panel: HTMLElement, build: () => HTMLElement): HTMLButtonElement {
  panel.hidden = true;
  const b = button("Edit", () => {
    panel.hidden = !panel.hidden;
    b.setAttribute("aria-expanded", String(!panel.hidden));
    if (!panel.hidden && panel.childElementCount === 0) panel.append(build());
  }, { className: "secondary" });
  b.setAttribute("aria-expanded", "false");
  return b;
}
