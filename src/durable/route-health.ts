/**
 * RouteHealth: one Durable Object per upstream target (named by its TargetId),
 * shared by every isolate. Isolates never wait on it while serving a request:
 * they send attempt reports in batches and read snapshots in the background
 * (src/routing/health.ts). The rules live in route-health-state.ts.
 *
 * State is a few hundred bytes, kept in memory and written to storage after
 * every batch that changes it, so it survives eviction and restarts.
 */
import { DurableObject } from "cloudflare:workers";
import type { Env } from "../env.ts";
import type { AttemptReport, TargetHealth } from "../routing/health-types.ts";
import { STATE_VERSION, applyReport, detailOf, initialState, resetBreaker, snapshotOf, type HealthState, type TargetHealthDetail } from "./route-health-state.ts";
import { registerTarget } from "./target-registry.ts";

const STATE_KEY = "state";

export class RouteHealth extends DurableObject<Env> {
  #state: HealthState = initialState();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    void ctx.blockConcurrencyWhile(async () => {
      const saved = await ctx.storage.get<HealthState>(STATE_KEY);
      if (saved?.v === STATE_VERSION) this.#state = saved;
    });
  }

  /** Applies a batch of attempt outcomes, in order; returns the snapshot after them (the sender caches it). */
  async report(reports: readonly AttemptReport[]): Promise<TargetHealth> {
    const now = Date.now();
    for (const r of reports) applyReport(this.#state, r, now);
    if (reports.length > 0) {
      await this.ctx.storage.put(STATE_KEY, this.#state);
      await this.#register();
    }
    return snapshotOf(this.#state, now);
  }

  snapshot(): TargetHealth {
    return snapshotOf(this.#state, Date.now());
  }

  /** The snapshot and its counters, or null when this target was never reported. */
  state(): TargetHealthDetail | null {
    const target = this.#state.target;
    return target === null ? null : detailOf(this.#state, target, Date.now());
  }

  /** Closes the breaker (an operator's decision); null when this target was never reported. */
  async reset(): Promise<TargetHealthDetail | null> {
    const target = this.#state.target;
    if (target === null) return null;
    resetBreaker(this.#state);
    await this.ctx.storage.put(STATE_KEY, this.#state);
    return detailOf(this.#state, target, Date.now());
  }

  /** Lists the target for GET /admin/health, once; a failed KV write is retried with the next batch. */
  async #register(): Promise<void> {
    const target = this.#state.target;
    if (this.#state.registered || target === null) return;
    try {
      await registerTarget(this.env.CONFIG, target);
      this.#state.registered = true;
      await this.ctx.storage.put(STATE_KEY, this.#state);
    } catch (err) {
      console.error(JSON.stringify({ msg: "route_health_register_failed", target, error: String(err) }));
    }
  }
}
