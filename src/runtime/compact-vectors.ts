// Compact vectors for search. Top-k over fp32 vectors reads 4 bytes per dimension and is bound by memory bandwidth
// (1M × 384 ≈ 1.5 GB a query), so the only way to search faster is to read fewer bytes: int8 codes with a scale per
// vector (≈ ¼ of the bytes) or sign bits (1/32), then the fp32 rows of a small candidate pool rescored exactly, so
// the k returned are the fp32 top-k whenever the pool holds them (the default pools were measured for recall@10 ≥
// 0.99: see CompactVectorIndex.defaultCandidates).
import { assertPositiveInteger } from '../util/arguments.js';
import { invalidArgument } from '../util/errors.js';
import { binding, type Metric, type TopKResult } from './binding.js';
import { CompactRows, type CompactPrecision } from './compact-rows.js';
import { usableCpus } from './cpus.js';
import { ASYNC_TOPK_ELEMENTS } from './vector.js';

export type { CompactPrecision };

export interface CompactIndexOptions {
  /** `'int8'` (default): a byte per dimension and a scale per vector. `'binary'`: a bit per dimension (its sign). */
  precision?: CompactPrecision;
  /** `'cosine'` (default): vectors and queries are L2-normalised on the way in (copies; yours are not touched). */
  metric?: Metric;
  /**
   * Keep the fp32 rows too (default `true`) so the candidates are rescored exactly and the result is the fp32 top-k.
   * `false` keeps only the compact rows (int8: 1/3.96 of the fp32 bytes at 384 dims; binary: 1/32), and the scores
   * are estimates (`exact: false`): int8 dot products, or for binary the cosine between the query and the ±1 vector.
   */
  keepFloat?: boolean;
}

export interface CompactSearchOptions {
  /**
   * How many rows the compact pass hands on to rescoring (default {@link CompactVectorIndex.defaultCandidates}).
   * Larger: higher recall, slower. Binary needs a far larger pool than int8.
   */
  candidates?: number;
}

export interface CompactSearchResult extends TopKResult {
  /** True when the scores are the fp32 ones (the index keeps its fp32 rows); false when they are compact estimates. */
  exact: boolean;
}

const PRECISIONS: readonly CompactPrecision[] = ['int8', 'binary'];

/**
 * A searchable set of vectors kept as int8 or sign bits. `search` finds a pool of candidates on the compact rows
 * (SIMD: AVX2, AVX-512 VNNI, NEON) and rescores them on the fp32 rows, returning the same shape as `topK`. Also the
 * API for callers whose vectors are already compact: {@link CompactVectorIndex.fromInt8}, {@link CompactVectorIndex.fromBits}.
 */
export class CompactVectorIndex {
  readonly dim: number;
  readonly precision: CompactPrecision;
  readonly metric: Metric;
  readonly keepFloat: boolean;
  #rows: CompactRows;

  constructor(dim: number, options: CompactIndexOptions = {}) {
    assertPositiveInteger(dim, 'CompactVectorIndex: dim');
    if (dim > 65535) throw invalidArgument('range', `CompactVectorIndex: dim must be at most 65535, got ${dim}`);
    const { precision = 'int8', metric = 'cosine', keepFloat = true } = options;
    if (!PRECISIONS.includes(precision)) {
      throw invalidArgument('range', `CompactVectorIndex: precision must be 'int8' or 'binary', got '${String(precision)}'`);
    }
    if (metric !== 'cosine' && metric !== 'dot') {
      throw invalidArgument('range', `CompactVectorIndex: metric must be 'cosine' or 'dot', got '${String(metric)}'`);
    }
    if (typeof keepFloat !== 'boolean') throw invalidArgument('type', 'CompactVectorIndex: keepFloat must be a boolean');
    this.dim = dim;
    this.precision = precision;
    this.metric = metric;
    this.keepFloat = keepFloat;
    this.#rows = new CompactRows(dim, precision, keepFloat);
  }

  /** An index of the row-major `vectors` (rows × dim). */
  static from(vectors: Float32Array, dim: number, options?: CompactIndexOptions): CompactVectorIndex {
    const index = new CompactVectorIndex(dim, options);
    index.add(vectors);
    return index;
  }

  /**
   * An index of vectors you quantised: `codes` (rows × dim, each in [-127, 127]) with `scales` (one per row), so row
   * r is `codes[r·dim + i] · scales[r]`. Kept without fp32 rows: results are estimates. `metric` `'dot'` (default)
   * scores the dequantised rows as they are; `'cosine'` normalises only the query, so pass codes of unit vectors.
   */
  static fromInt8(codes: Int8Array, scales: Float32Array, dim: number, metric: Metric = 'dot'): CompactVectorIndex {
    const index = new CompactVectorIndex(dim, { precision: 'int8', metric, keepFloat: false });
    if (!(codes instanceof Int8Array)) throw invalidArgument('type', 'CompactVectorIndex.fromInt8: codes must be an Int8Array');
    if (!(scales instanceof Float32Array)) throw invalidArgument('type', 'CompactVectorIndex.fromInt8: scales must be a Float32Array');
    if (codes.length !== scales.length * dim) {
      throw invalidArgument('range', `CompactVectorIndex.fromInt8: codes must be scales.length × dim = ${scales.length * dim} long, got ${codes.length}`);
    }
    if (codes.includes(-128)) throw invalidArgument('range', 'CompactVectorIndex.fromInt8: codes must be in [-127, 127] (the SIMD kernels rely on it)');
    index.#rows.addInt8(codes, scales);
    return index;
  }

  /** An index of sign bits you packed: ceil(dim / 64) × 8 bytes a row, bit i = (x[i] > 0), LSB-first in each byte. */
  static fromBits(bits: Uint8Array, dim: number, metric: Metric = 'cosine'): CompactVectorIndex {
    const index = new CompactVectorIndex(dim, { precision: 'binary', metric, keepFloat: false });
    if (!(bits instanceof Uint8Array)) throw invalidArgument('type', 'CompactVectorIndex.fromBits: bits must be a Uint8Array');
    const stride = index.#rows.bitBytes;
    if (bits.length % stride !== 0) {
      throw invalidArgument('range', `CompactVectorIndex.fromBits: bits must hold ${stride} bytes per row (dim ${dim}), got ${bits.length}`);
    }
    index.#rows.addBits(bits);
    return index;
  }

  /**
   * The default candidate pool: int8 max(10k, 100), binary max(100k, 2000). Measured recall@10 against exact fp32
   * (test/unit/compact-vectors.test.ts, test/quality/trained.test.ts): int8 reached 1.0 with a pool of 20 on SciFact
   * (trained all-MiniLM-L6-v2, 5,183 abstracts) and on 20,000 random unit vectors. Binary ranks the sign bits by the
   * fp32 query (not by Hamming distance): on SciFact 0.994 from a pool of 100 and 1.0 from 500; on 20,000 random
   * unit vectors 0.992 at the default; on 1M random unit vectors ≈ 0.95 at the default and 0.996 from 20,000. Sign
   * bits keep little of a vector whose neighbours are barely nearer than the rest, so on data without structure
   * pass `candidates` yourself or use int8.
   */
  static defaultCandidates(k: number, precision: CompactPrecision): number {
    return precision === 'int8' ? Math.max(10 * k, 100) : Math.max(100 * k, 2000);
  }

  /** Rows in the index. */
  get size(): number {
    return this.#rows.size;
  }

  /** Bytes a vector takes here (compact form, plus 4 × dim when the fp32 rows are kept). */
  get bytesPerVector(): number {
    return this.#rows.bytesPerVector;
  }

  /** Bytes this index holds, spare capacity included (it doubles as rows are added; {@link from} allocates exactly). */
  get memoryBytes(): number {
    return this.#rows.memoryBytes;
  }

  /** Appends the row-major `vectors` (a multiple of dim long) and returns the index of the first one. */
  add(vectors: Float32Array): number {
    if (!(vectors instanceof Float32Array)) throw invalidArgument('type', 'CompactVectorIndex.add: vectors must be a Float32Array');
    if (vectors.length % this.dim !== 0) {
      throw invalidArgument('range', `CompactVectorIndex.add: vectors length ${vectors.length} is not a multiple of dim ${this.dim}`);
    }
    const first = this.size;
    this.#rows.reserve(vectors.length / this.dim);
    if (this.metric === 'dot') {
      this.#rows.addFloats(vectors);
      return first;
    }
    // Normalised copies a slice at a time, so adding a large matrix doesn't hold a second copy of all of it.
    const step = Math.max(1, Math.floor(ASYNC_TOPK_ELEMENTS / this.dim)) * this.dim;
    for (let at = 0; at < vectors.length; at += step) {
      this.#rows.addFloats(binding().normalize(vectors.slice(at, at + step), this.dim));
    }
    return first;
  }

  /** The `k` nearest rows, best first (ties: lower index first), on the calling thread. */
  searchSync(query: Float32Array, k: number, options: CompactSearchOptions = {}): CompactSearchResult {
    const [q, candidates] = this.#check('searchSync', query, k, options);
    return binding().compactTopK(q, this.#rows.arrays(), k, candidates);
  }

  /**
   * The `k` nearest rows, best first. An index whose compact rows exceed 4 × ASYNC_TOPK_ELEMENTS bytes (what fp32
   * `topK` moves off the event loop) is searched on worker threads across the usable CPUs, in place; a smaller one
   * on this thread.
   */
  async search(query: Float32Array, k: number, options: CompactSearchOptions = {}): Promise<CompactSearchResult> {
    const [q, candidates] = this.#check('search', query, k, options);
    const compactBytes = this.size * (this.precision === 'int8' ? this.dim + 4 : this.#rows.bitBytes);
    if (compactBytes <= 4 * ASYNC_TOPK_ELEMENTS) return binding().compactTopK(q, this.#rows.arrays(), k, candidates);
    return binding().compactTopKAsync(q, this.#rows.arrays(), k, candidates, usableCpus());
  }

  /** Checks the arguments; returns the query as searched (a normalised copy for cosine) and the pool size. */
  #check(fn: string, query: Float32Array, k: number, options: CompactSearchOptions): [Float32Array, number] {
    if (!(query instanceof Float32Array)) throw invalidArgument('type', `CompactVectorIndex.${fn}: query must be a Float32Array`);
    if (query.length !== this.dim) {
      throw invalidArgument('range', `CompactVectorIndex.${fn}: query has ${query.length} values, the index ${this.dim}`);
    }
    assertPositiveInteger(k, `CompactVectorIndex.${fn}: k`);
    const candidates = options.candidates ?? CompactVectorIndex.defaultCandidates(k, this.precision);
    assertPositiveInteger(candidates, `CompactVectorIndex.${fn}: candidates`);
    return [this.metric === 'cosine' ? binding().normalize(query.slice()) : query, candidates];
  }
}
