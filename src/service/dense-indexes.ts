// DenseIndexes: the compact vector index (CompactVectorIndex: int8 codes or sign bits, plus the fp32 rows) of each
// large document set recently searched. A repeated set is then neither looked up in the embedding cache nor copied
// again, and its top-k reads a quarter (int8) or a 32nd (binary) of the fp32 bytes; the candidates are rescored on
// the fp32 rows, so the k returned are fp32's, with fp32's scores.
import { CompactVectorIndex } from '../runtime/compact-vectors.js';
import type { TopKResult } from '../runtime/binding.js';
import { DocumentSets } from './document-sets.js';

export type SearchPrecision = 'float32' | 'int8' | 'binary';

export interface DenseIndexOptions {
  /** 'float32': no index (every search embeds or looks up its documents and scans fp32). */
  precision: SearchPrecision;
  /** Smallest document set indexed: below it fp32 top-k is already a fraction of the call. */
  minDocuments: number;
  /** Most bytes the indexes of all sets kept may take; a set whose index alone is larger is not indexed. */
  maxBytes: number;
}

export interface DenseIndexStats {
  precision: SearchPrecision;
  /** Sets indexed now, and the bytes their indexes take. */
  sets: number;
  bytes: number;
  /** Searches answered from a kept index, and indexes built. */
  hits: number;
  builds: number;
}

export class DenseIndexes {
  readonly #options: DenseIndexOptions;
  readonly #sets: DocumentSets<CompactVectorIndex>;
  #hits = 0;
  #builds = 0;

  constructor(options: DenseIndexOptions) {
    this.#options = options;
    this.#sets = new DocumentSets(64, 3_600_000, { maxWeight: options.maxBytes, weigh: (index) => index.memoryBytes });
  }

  /** Whether a set of `documents` vectors of `dim` values gets an index: precision, size and the memory budget. */
  wants(documents: number, dim: number): boolean {
    const { precision, minDocuments, maxBytes } = this.#options;
    if (precision === 'float32' || documents < minDocuments) return false;
    const compact = precision === 'int8' ? dim + 4 : Math.ceil(dim / 64) * 8;
    return documents * (4 * dim + compact) <= maxBytes;
  }

  /** The k best of an indexed set for `query` (a vector), or undefined when the set has no index kept. */
  async search(documents: readonly string[], query: Float32Array, k: number): Promise<TopKResult | undefined> {
    const index = this.#sets.find(documents);
    if (!index) return undefined;
    this.#hits++;
    return index.search(query, k);
  }

  /** Indexes `documents` from their vectors (`matrix`, row-major) and returns the k best for `query`. */
  build(documents: readonly string[], matrix: Float32Array, query: Float32Array, k: number): Promise<TopKResult> {
    const index = CompactVectorIndex.from(matrix, query.length, { precision: this.#options.precision as 'int8' | 'binary' });
    this.#builds++;
    return this.#sets.add(documents, '', index).search(query, k);
  }

  stats(): DenseIndexStats {
    return { precision: this.#options.precision, sets: this.#sets.size, bytes: this.#sets.weight, hits: this.#hits, builds: this.#builds };
  }

  clear(): void {
    this.#sets.clear();
  }
}
