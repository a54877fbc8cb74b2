// LexicalIndexes: the BM25 index of each document set recently searched (DocumentSets), so a repeated `documents`
// array is not analysed again.
import { LexicalIndex, type LexicalIndexOptions } from '../lexical/lexical-index.js';
import { DocumentSets } from './document-sets.js';

export class LexicalIndexes {
  readonly #sets: DocumentSets<LexicalIndex>;

  constructor(maxSets = 32, ttlMs = 3_600_000) {
    this.#sets = new DocumentSets(maxSets, ttlMs);
  }

  /** The index of `documents` (ids are positions), built on first use. */
  get(documents: readonly string[], options: LexicalIndexOptions = {}): LexicalIndex {
    return this.#sets.get(documents, JSON.stringify(options), () => LexicalIndex.build(documents, options));
  }

  /** Each document's BM25 score for `query` (0 where it shares no term). */
  scores(query: string, documents: readonly string[], options: LexicalIndexOptions = {}): Float64Array {
    if (documents.length === 0) return new Float64Array(0);
    return this.get(documents, options).scoreAll(query);
  }

  clear(): void {
    this.#sets.clear();
  }
}
