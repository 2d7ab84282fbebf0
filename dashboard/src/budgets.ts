/**
 * /dashboard/budgets: every budget with its spent, reserved and limit as a
 * bar, its period and reset time, hard or soft, and where it degrades to; an
 * edit form per budget (PUT /admin/budgets/:scope, enforced from the ledger's
 * next reservation), a delete, and a form to set a new one.
 */
import { budgets, deleteBudget, putBudget, type Budget, type BudgetStatus } from "./api.ts";
import { busy, dangerButton, editToggle, el, field, localTime, meter, note, percent, select, usd } from "./dom.ts";

/** The form for a budget (a new one when `current` is undefined); `done` re-renders the view. */
function budgetForm(current: BudgetStatus | undefined, done: () => void): HTMLFormElement {
  const scope = el("input", { name: "scope", required: true, value: current?.scope ?? "", placeholder: "global, key:<key id> or user:<key id>:<user>", readOnly: current !== undefined });
  const limit = el("input", { name: "limitUsd", type: "number", required: true, min: "0.000001", step: "any", value: current === undefined ? "" : String(current.limitUsd) });
  const period = select("period", ["day", "month", "total"], current?.period ?? "month");
  const mode = select("mode", ["hard", "soft"], current?.mode ?? "hard");
  const alertAt = el("input", { name: "alertAtPercent", type: "number", min: "1", max: "100", step: "any", value: current?.alertAtPercent === undefined ? "" : String(current.alertAtPercent) });
  const degrade = el("input", { name: "degradeTo", value: current?.degradeTo ?? "", placeholder: "an alias, e.g. cheap (optional)" });
  const save = el("button", { type: "submit", textContent: current === undefined ? "Set budget" : "Save" });
  const problem = el("div");
  const form = el(
    "form",
    { className: "budget-form grid-form" },
    field("Scope", scope),
    field("Limit (USD)", limit),
    field("Period", period),
    field("Mode", mode),
    field("Alert at %", alertAt),
    field("Degrade to", degrade),
    el("div", { className: "actions" }, save),
    problem,
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const budget: Budget = {
      limitUsd: Number(limit.value),
      period: period.value as Budget["period"],
      mode: mode.value as Budget["mode"],
      ...(alertAt.value !== "" && { alertAtPercent: Number(alertAt.value) }),
      ...(degrade.value.trim() !== "" && { degradeTo: degrade.value.trim() }),
      // The form does not show the webhook: keep the one the budget has.
      ...(current?.alertWebhook !== undefined && { alertWebhook: current.alertWebhook }),
    };
    void busy(save, problem, async () => {
      await putBudget(scope.value.trim(), budget);
      done();
    });
  });
  return form;
}

function budgetCard(b: BudgetStatus, refresh: () => void): HTMLElement {
  const facts = [
    `${usd(b.spentUsd)} spent`,
    ...(b.reservedUsd > 0 ? [`${usd(b.reservedUsd)} reserved by requests in flight`] : []),
    `of ${usd(b.limitUsd)} (${percent(b.spentUsd + b.reservedUsd, b.limitUsd)})`,
  ].join(", ");
  const period = b.period === "total" ? "for all time" : `per ${b.period}, resets ${b.resetsAt === null ? "never" : localTime(b.resetsAt)}`;
  const card = el("article", { className: "budget panel" });
  card.dataset.scope = b.scope;
  const edit = el("div");
  const problem = el("div");
  const remove = dangerButton("Delete", `Delete the budget on ${b.scope}? Its requests are then not limited by it.`, problem, async () => {
    await deleteBudget(b.scope);
    refresh();
  });
  const toggle = editToggle(edit, () => budgetForm(b, refresh));
  card.append(
    el("header", {}, el("h2", { textContent: b.scope }), el("span", { className: `badge ${b.mode}`, textContent: b.mode })),
    meter(b.limitUsd, [{ value: b.spentUsd, className: "spent", label: "spent" }, { value: b.reservedUsd, className: "reserved", label: "reserved" }]),
    el("p", { className: "spend", textContent: facts }),
    el("p", { className: "muted", textContent: `${period}${b.degradeTo !== undefined ? ` · degrades to ${b.degradeTo}` : ""}${b.alertAtPercent !== undefined ? ` · alerts at ${b.alertAtPercent} %` : ""}` }),
    el("div", { className: "actions" }, toggle, remove),
    problem,
    edit,
  );
  return card;
}

export async function showBudgets(app: HTMLElement): Promise<void> {
  const refresh = (): void => void showBudgets(app).catch((err: unknown) => app.append(note(String(err), "error")));
  const list = await budgets();
  const adding = el("details", { className: "panel", id: "new-budget" }, el("summary", { textContent: "Set a new budget" }), budgetForm(undefined, refresh));
  app.replaceChildren(
    el("h1", { textContent: "Budgets" }),
    note("A hard budget refuses a request whose worst case does not fit (402) or serves it from its degrade alias; a soft one serves it and alerts. Periods are UTC days and months."),
    adding,
    ...(list.data.length === 0 ? [note("No budgets yet: set one above, on the whole gateway (global), a key (key:<key id>) or an end user of a key (user:<key id>:<user>).", "empty")] : list.data.map((b) => budgetCard(b, refresh))),
  );
}
