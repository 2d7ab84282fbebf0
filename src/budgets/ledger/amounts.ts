/**
 * Amounts held until they expire, by id, with their exact sum: a SpendLedger's
 * live reservations (reservations.ts) and its leases (leases.ts). The sum is a
 * BigInt: many large amounts pass 2^53 together, where a number would round.
 */
import type { Nanos } from "../../metering/types.ts";

export interface Held {
  readonly nanos: Nanos;
  readonly expiresAt: number;
}

export class HeldAmounts<V extends Held> {
  readonly #byId = new Map<string, V>();
  #total = 0n;

  get total(): bigint {
    return this.#total;
  }

  get size(): number {
    return this.#byId.size;
  }

  get(id: string): V | undefined {
    return this.#byId.get(id);
  }

  has(id: string): boolean {
    return this.#byId.has(id);
  }

  ids(): string[] {
    return [...this.#byId.keys()];
  }

  /** Sets (or, with null, removes) `id`'s amount, keeping the sum exact. */
  set(id: string, value: V | null): void {
    const before = this.#byId.get(id);
    if (before !== undefined) this.#total -= BigInt(before.nanos);
    if (value === null) this.#byId.delete(id);
    else {
      this.#byId.set(id, value);
      this.#total += BigInt(value.nanos);
    }
  }

  /** Those expired at `now`. */
  expiredAt(now: number): Array<[string, V]> {
    return [...this.#byId].filter(([, v]) => v.expiresAt <= now);
  }

  /** The earliest expiry, Infinity with none. */
  nextExpiry(): number {
    let next = Infinity;
    for (const v of this.#byId.values()) next = Math.min(next, v.expiresAt);
    return next;
  }
}
