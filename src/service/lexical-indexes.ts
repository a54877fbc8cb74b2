// LexicalIndexes: the BM25 index of each document set recently searched, so a repeated `documents` array is not
// analysed again. Keyed by a digest of the texts and the analysis options, in an LRU like the embedding cache.
import { createHash } from 'node:crypto';
import { LruCache } from '../cache/lru.js';
import { LexicalIndex, type LexicalIndexOptions } from '../lexical/lexical-index.js';

/** Document sets whose texts are kept to compare against (the most recent), so a repeat skips the digest. */
const RECENT = 4;

export class LexicalIndexes {
  readonly #cache: LruCache<LexicalIndex>;
  /** The most recent sets' texts (references, not copies) with their index, newest first. */
  #recent: Array<{ texts: readonly string[]; options: string; index: LexicalIndex }> = [];

  constructor(maxSets = 32, ttlMs = 3_600_000) {
    this.#cache = new LruCache(maxSets, ttlMs);
  }

  /**
   * The index of `documents` (ids are positions), built on first use. A set searched recently is recognised by
   * comparing its texts with the ones kept (the same strings compare by reference; equal strings parsed again, as
   * each HTTP request's are, compare far faster than they hash); others by a digest of the texts.
   */
  get(documents: readonly string[], options: LexicalIndexOptions = {}): LexicalIndex {
    const optionsKey = JSON.stringify(options);
    const recent = this.#recent.find((r) => r.options === optionsKey && sameTexts(r.texts, documents));
    if (recent) return recent.index;
    const hash = createHash('sha256').update(optionsKey);
    for (const d of documents) hash.update(`${d.length}\u0000`).update(d);
    const key = hash.digest('base64');
    let index = this.#cache.get(key);
    if (!index) {
      index = LexicalIndex.build(documents, options);
      this.#cache.set(key, index);
    }
    this.#recent = [{ texts: documents.slice(), options: optionsKey, index }, ...this.#recent.slice(0, RECENT - 1)];
    return index;
  }

  /** Each document's BM25 score for `query` (0 where it shares no term). */
  scores(query: string, documents: readonly string[], options: LexicalIndexOptions = {}): Float64Array {
    if (documents.length === 0) return new Float64Array(0);
    return this.get(documents, options).scoreAll(query);
  }

  clear(): void {
    this.#cache.clear();
    this.#recent = [];
  }
}

function sameTexts(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
