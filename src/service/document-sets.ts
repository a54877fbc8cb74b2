// DocumentSets: something built from a document set (a BM25 index, a compact vector index), kept for the sets
// recently searched so a repeated `documents` array is not analysed or embedded again. Keyed by a digest of the
// texts and the options that shaped it, in an LRU like the embedding cache.
import { createHash } from 'node:crypto';
import { LruCache, type LruWeights } from '../cache/lru.js';

/** Document sets whose texts are kept to compare against (the most recent), so a repeat skips the digest. */
const RECENT = 4;

export class DocumentSets<T> {
  readonly #cache: LruCache<T>;
  /** The most recent sets' texts (references, not copies) with their key, newest first. */
  #recent: Array<{ texts: readonly string[]; options: string; key: string }> = [];

  constructor(maxSets: number, ttlMs: number, weights?: LruWeights<T>) {
    this.#cache = new LruCache(maxSets, ttlMs, weights);
  }

  /** Sets kept, and their total weight (0 without weights). */
  get size(): number {
    return this.#cache.size;
  }

  get weight(): number {
    return this.#cache.weight;
  }

  /**
   * What was kept for `documents` built with `options`, or undefined. A set searched recently is recognised by
   * comparing its texts with the ones kept (the same strings compare by reference; equal strings parsed again, as
   * each HTTP request's are, compare far faster than they hash); others by a digest of the texts.
   */
  find(documents: readonly string[], options = ''): T | undefined {
    return this.#cache.get(this.#key(documents, options));
  }

  /** Keeps `value` for `documents` and `options`; returns it. */
  add(documents: readonly string[], options: string, value: T): T {
    this.#cache.set(this.#key(documents, options), value);
    return value;
  }

  /** What was kept for `documents`, built now if there is none. */
  get(documents: readonly string[], options: string, build: () => T): T {
    return this.find(documents, options) ?? this.add(documents, options, build());
  }

  clear(): void {
    this.#cache.clear();
    this.#recent = [];
  }

  #key(documents: readonly string[], options: string): string {
    const recent = this.#recent.find((r) => r.options === options && sameTexts(r.texts, documents));
    if (recent) return recent.key;
    const hash = createHash('sha256').update(options);
    for (const d of documents) hash.update(`${d.length}\u0000`).update(d);
    const key = hash.digest('base64');
    this.#recent = [{ texts: documents.slice(), options, key }, ...this.#recent.slice(0, RECENT - 1)];
    return key;
  }
}

function sameTexts(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
