/**
 * Budget alert delivery for a SpendLedger: one webhook POST per alert level the
 * current period has reached, remembered as sent only once delivered (a failed
 * delivery is tried again on a later settle), never two at once for one level.
 */
import type { Budget } from "../ledger-types.ts";
import type { Nanos } from "../../metering/types.ts";
import { postWebhook } from "../../observability/webhook.ts";
import { alertBody, alertKey, dueAlerts, type AlertThreshold, type PeriodWindow } from "./rules.ts";

/** The current period as the ledger keeps it in memory. */
export interface AlertPeriod {
  readonly window: PeriodWindow;
  readonly spentNanos: Nanos;
  /** Alert keys already delivered this period. */
  readonly sentAlerts: Set<string>;
}

export interface AlertContext {
  readonly scope: string;
  readonly budget: Budget;
  readonly period: AlertPeriod;
  readonly sql: SqlStorage;
  waitUntil(promise: Promise<unknown>): void;
}

export class BudgetAlerts {
  /** `<period>|<alert key>` of deliveries under way, so two settles do not send one alert twice. */
  readonly #inFlight = new Set<string>();

  /** Starts a delivery for each level reached and not yet delivered (or under way). */
  sendDue(c: AlertContext): void {
    const url = c.budget.alertWebhook;
    if (url === undefined) return;
    const { period } = c;
    const flightKey = (key: string): string => `${period.window.key}|${key}`;
    const due = dueAlerts(c.budget, period.spentNanos, (key) => period.sentAlerts.has(key) || this.#inFlight.has(flightKey(key)));
    for (const level of due) {
      const key = flightKey(alertKey(level));
      this.#inFlight.add(key);
      const body = alertBody(c.scope, c.budget, level, period.spentNanos, period.window);
      c.waitUntil(this.#deliver(c, url, body, level).finally(() => this.#inFlight.delete(key)));
    }
  }

  async #deliver(c: AlertContext, url: string, body: unknown, level: AlertThreshold): Promise<void> {
    try {
      await postWebhook(url, body);
      c.sql.exec(
        "INSERT INTO alerts_sent (period, percent, at_nanos, sent_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
        c.period.window.key, level.percent, level.atNanos, Date.now(),
      );
      c.period.sentAlerts.add(alertKey(level));
    } catch (err) {
      console.error(JSON.stringify({ msg: "budget_alert_failed", scope: c.scope, threshold: level.percent, error: String(err) }));
    }
  }
}
