// LruCache: a Map in recency order, with an entry limit, a time-to-live and, optionally, a weight limit (e.g. bytes).

interface Entry<V> {
  value: V;
  expires: number;
  weight: number;
}

export interface LruWeights<V> {
  /** Most total weight kept; an entry heavier than this alone is not kept at all. */
  maxWeight: number;
  weigh: (value: V) => number;
}

export class LruCache<V> {
  readonly #map = new Map<string, Entry<V>>();
  readonly maxEntries: number;
  readonly ttlMs: number;
  readonly #weights: LruWeights<V> | undefined;
  #weight = 0;

  constructor(maxEntries: number, ttlMs: number, weights?: LruWeights<V>) {
    this.maxEntries = maxEntries;
    this.ttlMs = ttlMs;
    this.#weights = weights;
  }

  get size(): number {
    return this.#map.size;
  }

  /** The total weight of the entries kept (0 without weights). */
  get weight(): number {
    return this.#weight;
  }

  get(key: string, now = Date.now()): V | undefined {
    const entry = this.#map.get(key);
    if (!entry) return undefined;
    if (entry.expires <= now) {
      this.#delete(key, entry);
      return undefined;
    }
    // Re-insert to mark as most recently used.
    this.#map.delete(key);
    this.#map.set(key, entry);
    return entry.value;
  }

  /** Keeps `value` (most recent) and returns whether it was kept: not when it alone outweighs maxWeight. */
  set(key: string, value: V, now = Date.now()): boolean {
    const old = this.#map.get(key);
    if (old) this.#delete(key, old);
    const weight = this.#weights ? this.#weights.weigh(value) : 0;
    if (this.maxEntries <= 0 || (this.#weights && weight > this.#weights.maxWeight)) return false;
    this.#map.set(key, { value, expires: this.ttlMs > 0 ? now + this.ttlMs : Number.POSITIVE_INFINITY, weight });
    this.#weight += weight;
    while (this.#map.size > this.maxEntries || (this.#weights && this.#weight > this.#weights.maxWeight)) {
      const [oldest, entry] = this.#map.entries().next().value as [string, Entry<V>];
      this.#delete(oldest, entry);
    }
    return true;
  }

  clear(): void {
    this.#map.clear();
    this.#weight = 0;
  }

  #delete(key: string, entry: Entry<V>): void {
    this.#map.delete(key);
    this.#weight -= entry.weight;
  }
}
