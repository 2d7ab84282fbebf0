/**
 * /dashboard/keys: the gateway keys; create one (its secret shown once, with
 * a copy button: KV keeps only its hash), revoke one, edit its name, model
 * allow-list, per-request cost cap, rate limits, body logging and whether
 * its /v1/responses answers are kept.
 */
import { createKey, keys, revokeKey, updateKey, type GatewayKey, type KeySettings } from "./api.ts";
import { busy, button, dangerButton, editToggle, el, field, link, localTime, note, select, usd } from "./dom.ts";

/** The allow-list as typed: names split on commas, spaces or lines; empty means every model. */
const modelList = (raw: string): string[] | null => {
  const names = raw.split(/[\s,]+/).filter((m) => m !== "");
  return names.length > 0 ? names : null;
};

/** Limits as typed: `{"rpm": 60, "tpm": 100000}` or the full form (per user, per model); empty means none. */
function limitsOf(raw: string): Record<string, unknown> | null {
  if (raw.trim() === "") return null;
  const parsed: unknown = JSON.parse(raw);
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new Error('Limits are a JSON object, such as {"rpm": 60, "tpm": 100000}.');
  return parsed as Record<string, unknown>;
}

/** The fields a key's form edits; a new key's when `current` is undefined. */
function keyForm(current: GatewayKey | undefined, submit: (settings: KeySettings & { name: string }) => Promise<void>): HTMLFormElement {
  const name = el("input", { name: "name", required: true, maxLength: 100, value: current?.name ?? "", placeholder: "what uses it, e.g. chat-app" });
  const models = el("textarea", { name: "models", rows: 2, value: current?.models?.join(", ") ?? "", placeholder: "every model (or: fast, openai/*, anthropic/claude-sonnet-4-5)" });
  const cap = el("input", { name: "maxCostPerRequestUsd", type: "number", min: "0.000001", step: "any", value: current?.maxCostPerRequestUsd === undefined ? "" : String(current.maxCostPerRequestUsd), placeholder: "none" });
  const limits = el("textarea", { name: "limits", rows: 2, value: current?.limits === undefined ? "" : JSON.stringify(current.limits), placeholder: '{"rpm": 60, "tpm": 100000}' });
  const bodies = select("logBodies", ["off", "anomalies", "all"], current?.logBodies ?? "off");
  const responses = select("storeResponses", ["kept", "not kept"], current?.storeResponses === false ? "not kept" : "kept");
  const save = el("button", { type: "submit", textContent: current === undefined ? "Create key" : "Save" });
  const problem = el("div");
  const form = el("form", { className: "key-form grid-form" }, field("Name", name), field("Models allowed", models), field("Max cost per request (USD)", cap), field("Rate limits (JSON)", limits), field("Keep bodies", bodies), field("Responses API answers", responses), el("div", { className: "actions" }, save), problem);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    void busy(save, problem, async () => {
      await submit({
        name: name.value.trim(),
        models: modelList(models.value),
        maxCostPerRequestUsd: cap.value === "" ? null : Number(cap.value),
        limits: limitsOf(limits.value),
        logBodies: bodies.value as KeySettings["logBodies"],
        storeResponses: responses.value === "not kept" ? false : null,
      });
    });
  });
  return form;
}

/** A new key's secret, shown this once. */
function secretBox(created: GatewayKey & { key: string }): HTMLElement {
  const secret = el("input", { id: "new-key-secret", readOnly: true, value: created.key, className: "secret" });
  secret.setAttribute("aria-label", `Secret of the key ${created.name}`);
  const copied = el("span", { className: "muted", role: "status" });
  const copy = button("Copy", () => {
    secret.select();
    const done = (): void => void (copied.textContent = "Copied.");
    // The clipboard API needs a secure context; the selection lets the viewer copy by hand otherwise.
    if (navigator.clipboard !== undefined) navigator.clipboard.writeText(created.key).then(done, () => void (copied.textContent = "Selected: press Ctrl+C to copy."));
    else copied.textContent = "Selected: press Ctrl+C to copy.";
  });
  copy.id = "copy-secret";
  return el(
    "section",
    { className: "panel notice", id: "new-key" },
    el("h2", { textContent: `Key “${created.name}” created` }),
    el("p", { textContent: "Copy its secret now: it is shown this once, and the gateway keeps only its hash." }),
    el("div", { className: "inline" }, secret, copy, copied),
  );
}

/** Only non-default settings, in words. */
function summary(k: GatewayKey): string {
  const parts = [k.models === null ? "every model" : `models: ${k.models.join(", ")}`];
  if (k.maxCostPerRequestUsd !== undefined) parts.push(`at most ${usd(k.maxCostPerRequestUsd)} a request`);
  if (k.limits !== undefined) parts.push(`limits ${JSON.stringify(k.limits)}`);
  if (k.logBodies !== undefined && k.logBodies !== "off") parts.push(`keeps bodies: ${k.logBodies}`);
  if (k.storeResponses === false) parts.push("keeps no responses");
  return parts.join(" · ");
}

function keyRow(k: GatewayKey, refresh: (created?: GatewayKey & { key: string }) => void, navigate: (path: string) => void): HTMLElement {
  const problem = el("div");
  const edit = el("div");
  const revoke = dangerButton("Revoke", `Revoke “${k.name}” (${k.id})? Requests with it are refused from now on; this cannot be undone.`, problem, async () => {
    await revokeKey(k.id);
    refresh();
  });
  const toggle = editToggle(edit, () =>
    keyForm(k, async (settings) => {
      await updateKey(k.id, settings);
      refresh();
    }),
  );
  const row = el(
    "article",
    { className: "key panel" },
    el("header", {}, el("h2", { textContent: k.name }), el("code", { textContent: `${k.id} · ${k.prefix}…` })),
    el("p", { className: "muted", textContent: `created ${localTime(k.createdAt)} · ${summary(k)}` }),
    el("div", { className: "actions" }, toggle, revoke, link(`/dashboard/requests?key=${encodeURIComponent(k.id)}`, "Its requests", navigate)),
    problem,
    edit,
  );
  row.dataset.keyId = k.id;
  return row;
}

export async function showKeys(app: HTMLElement, navigate: (path: string) => void, created?: GatewayKey & { key: string }): Promise<void> {
  const refresh = (made?: GatewayKey & { key: string }): void => void showKeys(app, navigate, made).catch((err: unknown) => app.append(note(String(err), "error")));
  // A new key's secret first, whatever happens next: were the list to fail, it could not be shown again.
  const heading = el("h1", { textContent: "Keys" });
  const secret = created !== undefined ? [secretBox(created)] : [];
  if (created !== undefined) app.replaceChildren(heading, ...secret);
  let list: { data: GatewayKey[] };
  try {
    list = await keys();
  } catch (err) {
    if (created === undefined) throw err;
    app.append(note(`The key list could not be loaded: ${err instanceof Error ? err.message : String(err)}`, "error"));
    return;
  }
  const adding = el(
    "details",
    { className: "panel", id: "create-key" },
    el("summary", { textContent: "Create a key" }),
    keyForm(undefined, async (settings) => refresh(await createKey({ ...settings, models: settings.models ?? undefined, maxCostPerRequestUsd: settings.maxCostPerRequestUsd ?? undefined, limits: settings.limits ?? undefined, logBodies: settings.logBodies ?? undefined, storeResponses: settings.storeResponses ?? undefined }))),
  );
  app.replaceChildren(
    heading,
    ...secret,
    adding,
    ...(list.data.length === 0 ? [note("No gateway keys yet: create one above, then call the gateway with it as the Bearer token.", "empty")] : list.data.map((k) => keyRow(k, refresh, navigate))),
  );
}
