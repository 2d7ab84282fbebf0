/** Small DOM helpers shared by the views: elements built with textContent (never innerHTML), money and times. */
export function el<K extends keyof HTMLElementTagNameMap>(tag: K, props: Partial<HTMLElementTagNameMap[K]> = {}, ...children: Array<Node | string>): HTMLElementTagNameMap[K] {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children);
  return node;
}

/** USD with sensible precision: cents when it is dollars, two significant digits when it is fractions of a cent. */
export const usd = (n: number): string => (n === 0 ? "$0" : Math.abs(n) < 0.01 ? `$${Number(n.toPrecision(2))}` : `$${n.toFixed(2)}`);

/** A time in the viewer's zone. */
export const localTime = (iso: string): string => new Date(iso).toLocaleString();

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
