// The cache layer: embeddings kept by recipe fingerprint and text, in memory (L1) and in a store (L2: LMDB, Redis).
// It imports only its own files: no model, engine or service code.
//
// EmbeddingCache: L1 in-memory LRU in front of an optional L2 store (LMDB on disk, or Redis shared by replicas).
// Keys hash the recipe's fingerprint (model and tokenizer files by content, quantization, pooling, max length) with
// the exact text embedded (prefix included), so no other model or recipe can ever be served from a shared store.
// Entries are compact copies, and callers get copies of them: nothing a caller does to a vector reaches the cache.
import { createHash } from 'node:crypto';
import { LruCache } from './lru.js';
import type { EmbeddingStore } from './store.js';

export interface CacheStats {
  size: number;
  hits: number;
  misses: number;
  hitRate: number;
  l1Hits: number;
  l2Hits: number;
  l2Errors: number;
  l2: string | undefined;
}

export class EmbeddingCache {
  readonly #l1: LruCache<Float32Array>;
  readonly #l2: EmbeddingStore | undefined;
  readonly #recipe: string;
  #l1Hits = 0;
  #l2Hits = 0;
  #misses = 0;
  #l2Errors = 0;

  /** `recipe`: what decides a vector besides its text (Embedder.fingerprint). */
  constructor(options: { recipe: string; maxEntries: number; ttlMs: number; l2?: EmbeddingStore }) {
    this.#recipe = options.recipe;
    this.#l1 = new LruCache(options.maxEntries, options.ttlMs);
    this.#l2 = options.l2;
  }

  key(text: string): string {
    return createHash('sha256').update(this.#recipe).update('\0').update(text).digest('base64url');
  }

  /** Cached vectors for `keys` (undefined where missing); L2 hits are promoted to L1. */
  async getMany(keys: string[]): Promise<Array<Float32Array | undefined>> {
    const out: Array<Float32Array | undefined> = keys.map((k) => {
      const v = this.#l1.get(k);
      return v?.slice();
    });
    const missing = keys.flatMap((_, i) => (out[i] ? [] : [i]));
    this.#l1Hits += keys.length - missing.length;
    const l2 = this.#l2;
    if (l2 && missing.length > 0) {
      let found: Array<Float32Array | undefined> = [];
      try {
        const wanted = missing.map((i) => keys[i]);
        found = l2.getMany ? await l2.getMany(wanted) : await Promise.all(wanted.map((k) => l2.get(k)));
      } catch {
        this.#l2Errors++; // an unavailable L2 is a miss, never an error for the caller
      }
      missing.forEach((i, j) => {
        const v = found[j];
        if (!v) return;
        this.#l2Hits++;
        this.#l1.set(keys[i], v);
        out[i] = v.slice();
      });
    }
    this.#misses += out.filter((v) => v === undefined).length;
    return out;
  }

  /** Stores complete vectors only (callers pass finished results), in L1 then L2. */
  async setMany(entries: Array<[string, Float32Array]>): Promise<void> {
    // slice(): a compact copy, never a view that would pin (or share) the caller's batch buffer.
    for (const [k, v] of entries) this.#l1.set(k, v.slice());
    const l2 = this.#l2;
    if (!l2 || entries.length === 0) return;
    try {
      if (l2.setMany) await l2.setMany(entries);
      else await Promise.all(entries.map(([k, v]) => l2.set(k, v)));
    } catch {
      this.#l2Errors++;
    }
  }

  async clear(): Promise<void> {
    this.#l1.clear();
    this.#l1Hits = 0;
    this.#l2Hits = 0;
    this.#misses = 0;
    if (this.#l2) {
      try {
        await this.#l2.clear();
      } catch {
        this.#l2Errors++;
      }
    }
  }

  stats(): CacheStats {
    const hits = this.#l1Hits + this.#l2Hits;
    const total = hits + this.#misses;
    return {
      size: this.#l1.size,
      hits,
      misses: this.#misses,
      hitRate: total === 0 ? 0 : hits / total,
      l1Hits: this.#l1Hits,
      l2Hits: this.#l2Hits,
      l2Errors: this.#l2Errors,
      l2: this.#l2?.kind,
    };
  }

  /** Why the L2 store is unusable right now, if it is. */
  l2Problem(): string | undefined {
    const h = this.#l2?.health?.();
    return h && !h.connected ? `${this.#l2!.kind} cache unavailable: ${h.error ?? 'disconnected'}` : undefined;
  }

  async close(): Promise<void> {
    await this.#l2?.close();
  }
}
