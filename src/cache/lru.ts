// LruCache: a Map in recency order, with an entry limit and a time-to-live.

interface Entry<V> {
  value: V;
  expires: number;
}

export class LruCache<V> {
  readonly #map = new Map<string, Entry<V>>();
  readonly maxEntries: number;
  readonly ttlMs: number;

  constructor(maxEntries: number, ttlMs: number) {
    this.maxEntries = maxEntries;
    this.ttlMs = ttlMs;
  }

  get size(): number {
    return this.#map.size;
  }

  get(key: string, now = Date.now()): V | undefined {
    const entry = this.#map.get(key);
    if (!entry) return undefined;
    if (entry.expires <= now) {
      this.#map.delete(key);
      return undefined;
    }
    // Re-insert to mark as most recently used.
    this.#map.delete(key);
    this.#map.set(key, entry);
    return entry.value;
  }

  set(key: string, value: V, now = Date.now()): void {
    if (this.maxEntries <= 0) return;
    this.#map.delete(key);
    this.#map.set(key, { value, expires: this.ttlMs > 0 ? now + this.ttlMs : Number.POSITIVE_INFINITY });
    while (this.#map.size > this.maxEntries) {
      const oldest = this.#map.keys().next().value as string;
      this.#map.delete(oldest);
    }
  }

  clear(): void {
    this.#map.clear();
  }
}
