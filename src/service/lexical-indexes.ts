// LexicalIndexes: the BM25 index of each document set recently searched, so a repeated `documents` array is not
// analysed again. Keyed by a digest of the texts and the analysis options, in an LRU like the embedding cache.
import { createHash } from 'node:crypto';
import { LruCache } from '../cache/lru.js';
import { LexicalIndex, type LexicalIndexOptions } from '../lexical/lexical-index.js';

export class LexicalIndexes {
  readonly #cache: LruCache<LexicalIndex>;

  constructor(maxSets = 32, ttlMs = 3_600_000) {
    this.#cache = new LruCache(maxSets, ttlMs);
  }

  /** The index of `documents` (ids are positions), built on first use. */
  get(documents: readonly string[], options: LexicalIndexOptions = {}): LexicalIndex {
    const hash = createHash('sha256').update(JSON.stringify(options));
    for (const d of documents) hash.update(`${d.length}\u0000`).update(d);
    const key = hash.digest('base64');
    let index = this.#cache.get(key);
    if (!index) {
      index = LexicalIndex.build(documents, options);
      this.#cache.set(key, index);
    }
    return index;
  }

  /** Each document's BM25 score for `query` (0 where it shares no term). */
  scores(query: string, documents: readonly string[], options: LexicalIndexOptions = {}): Float64Array {
    const out = new Float64Array(documents.length);
    if (documents.length === 0) return out;
    const { ids, scores } = this.get(documents, options).search(query, documents.length);
    ids.forEach((id, i) => (out[id] = scores[i]));
    return out;
  }

  clear(): void {
    this.#cache.clear();
  }
}
