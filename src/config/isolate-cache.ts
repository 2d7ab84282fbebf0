/**
 * A small time-bounded cache for configuration read from KV. Isolates serve
 * many requests, so a KV read per request would be pure overhead; entries live
 * `ttlMs` and the map is bounded (least recently used out first) so a flood of
 * distinct lookups cannot grow memory without limit or push out the hot entries.
 */
export class IsolateCache<V> {
  readonly #entries = new Map<string, { value: V; expiresAt: number }>();
  readonly #ttlMs: number;
  readonly #maxEntries: number;

  constructor(ttlMs: number, maxEntries = 10_000) {
    this.#ttlMs = ttlMs;
    this.#maxEntries = maxEntries;
  }

  get(key: string): V | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    this.#entries.delete(key);
    if (entry.expiresAt <= Date.now()) return undefined;
    // Re-inserted on every hit, so eviction (oldest first) drops the least recently used.
    this.#entries.set(key, entry);
    return entry.value;
  }

  set(key: string, value: V, ttlMs = this.#ttlMs): void {
    if (this.#entries.size >= this.#maxEntries) {
      // Maps iterate in insertion order: drop the oldest entry.
      const oldest = this.#entries.keys().next();
      if (oldest.done !== true) this.#entries.delete(oldest.value);
    }
    this.#entries.set(key, { value, expiresAt: Date.now() + ttlMs });
  }

  delete(key: string): void {
    this.#entries.delete(key);
  }

  /** Drops every entry whose value matches (admin paths only: it walks the whole map). */
  deleteWhere(matches: (value: V) => boolean): void {
    for (const [key, entry] of this.#entries) if (matches(entry.value)) this.#entries.delete(key);
  }

  clear(): void {
    this.#entries.clear();
  }
}

/**
 * A Map that holds at most `maxEntries`, dropping the oldest insertion first:
 * for maps a library keeps on the isolate's behalf (@upstash/ratelimit's
 * ephemeral cache gains an entry per blocked identifier, which a client
 * chooses, and removes one only when it is looked up again after its reset).
 */
export class BoundedMap<K, V> extends Map<K, V> {
  readonly #maxEntries: number;

  constructor(maxEntries: number) {
    super();
    this.#maxEntries = maxEntries;
  }

  override set(key: K, value: V): this {
    if (!this.has(key) && this.size >= this.#maxEntries) {
      const oldest = this.keys().next();
      if (oldest.done !== true) this.delete(oldest.value);
    }
    return super.set(key, value);
  }
}
