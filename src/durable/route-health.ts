/**
 * RouteHealth: one Durable Object per upstream target (named by its TargetId),
 * shared by every isolate. Isolates never wait on it while serving a request:
 * they send attempt reports in batches and read snapshots in the background
 * (src/routing/health.ts). The rules live in src/routing/health-state.ts.
 *
 * State is a few hundred bytes, kept in memory and written to storage at most
 * once per PERSIST_EVERY_MS (an alarm writes what the batches since the last
 * write changed), so it survives eviction and restarts; an eviction loses at
 * most the last ~second of counters. An operator's reset is written at once.
 */
import { DurableObject } from "cloudflare:workers";
import type { Env } from "../env.ts";
import type { AttemptReport } from "../routing/health-types.ts";
import {
  STATE_VERSION,
  applyReport,
  detailOf,
  initialState,
  resetBreaker,
  snapshotOf,
  type HealthState,
  type TargetHealthDetail,
  type VersionedHealth,
} from "../routing/health-state.ts";
import { registerTarget } from "../routing/target-registry.ts";

const STATE_KEY = "state";
/** How often, at most, the state is written to storage. */
export const PERSIST_EVERY_MS = 1_000;
/** After a failed registry write, how long before the next batch tries again. */
export const REGISTER_RETRY_MS = 60_000;

/**
 * Snapshot versions go up with every change and stay above every version handed
 * out before, even across an eviction that lost the last unsaved second: they
 * are floored by the clock, in thousandths of a millisecond (far more changes
 * than a Durable Object can take per millisecond fit in between).
 */
const nextVersion = (previous: number): number => Math.max(previous + 1, Date.now() * 1000);

export class RouteHealth extends DurableObject<Env> {
  #state: HealthState = initialState();
  #version = nextVersion(0);
  /** Whether an alarm is set to write the state; false also when nothing has changed since the last write. */
  #persistPending = false;
  #registerRetryAt = 0;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    void ctx.blockConcurrencyWhile(async () => {
      const saved = await ctx.storage.get<HealthState>(STATE_KEY);
      if (saved?.v === STATE_VERSION) this.#state = saved;
    });
  }

  /** Applies a batch of attempt outcomes, in order; returns the snapshot after them (the sender caches it). */
  async report(reports: readonly AttemptReport[]): Promise<VersionedHealth> {
    const now = Date.now();
    if (reports.length > 0) {
      for (const r of reports) applyReport(this.#state, r, now);
      this.#version = nextVersion(this.#version);
      await this.#register(now);
      await this.#persistSoon(now);
    }
    return { health: snapshotOf(this.#state, now), version: this.#version };
  }

  snapshot(): VersionedHealth {
    return { health: snapshotOf(this.#state, Date.now()), version: this.#version };
  }

  /** The snapshot and its counters, or null when this target was never reported. */
  state(): TargetHealthDetail | null {
    const target = this.#state.target;
    return target === null ? null : detailOf(this.#state, target, Date.now());
  }

  /**
   * Closes the breaker (an operator's decision); null when this target was never
   * reported. The versioned snapshot lets the caller's isolate take it over any older one.
   */
  async reset(): Promise<(VersionedHealth & { detail: TargetHealthDetail }) | null> {
    const target = this.#state.target;
    if (target === null) return null;
    resetBreaker(this.#state);
    this.#version = nextVersion(this.#version);
    await this.ctx.storage.put(STATE_KEY, this.#state);
    const now = Date.now();
    return { detail: detailOf(this.#state, target, now), health: snapshotOf(this.#state, now), version: this.#version };
  }

  override async alarm(): Promise<void> {
    this.#persistPending = false;
    await this.ctx.storage.put(STATE_KEY, this.#state);
  }

  async #persistSoon(now: number): Promise<void> {
    if (this.#persistPending) return;
    this.#persistPending = true;
    await this.ctx.storage.setAlarm(now + PERSIST_EVERY_MS);
  }

  /** Lists the target for GET /admin/health, once; after a failed KV write, tries again REGISTER_RETRY_MS later. */
  async #register(now: number): Promise<void> {
    const target = this.#state.target;
    if (this.#state.registered || target === null || now < this.#registerRetryAt) return;
    try {
      await registerTarget(this.env.CONFIG, target);
      this.#state.registered = true;
    } catch (err) {
      this.#registerRetryAt = now + REGISTER_RETRY_MS;
      console.error(JSON.stringify({ msg: "route_health_register_failed", target, error: String(err) }));
    }
  }
}
