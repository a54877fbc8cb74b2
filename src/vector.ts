// Public SIMD vector math. Small inputs run synchronously on the calling thread; large top-k searches run on a
// worker thread (and across cores) so the event loop keeps ticking.
import { binding, type Metric, type TopKResult } from './binding.js';
import { usableCpus } from './cpus.js';

export type { Metric, TopKResult };

/** Matrices with more elements than this (rows × dim) are searched off the event loop. */
export const ASYNC_TOPK_ELEMENTS = 1 << 20;

export function dot(a: Float32Array, b: Float32Array): number {
  return binding().dot(a, b);
}

export function cosine(a: Float32Array, b: Float32Array): number {
  return binding().cosine(a, b);
}

/** L2-normalises `v` in place (each `dim`-long row when `dim` is given) and returns it. */
export function normalize(v: Float32Array, dim?: number): Float32Array {
  return binding().normalize(v, dim);
}

/** Scores of `query` against every row of the row-major `matrix`. */
export function scoreAll(query: Float32Array, matrix: Float32Array, metric: Metric = 'cosine'): Float32Array {
  return binding().scoreAll(query, matrix, metric);
}

/** The `k` best rows of `matrix` for `query`, best first (ties: lower index first). Synchronous. */
export function topKSync(query: Float32Array, matrix: Float32Array, k: number, metric: Metric = 'cosine'): TopKResult {
  return binding().topK(query, matrix, k, metric);
}

/** The `k` best rows, best first; large matrices are searched on worker threads. Do not mutate `matrix` meanwhile. */
export async function topK(
  query: Float32Array,
  matrix: Float32Array,
  k: number,
  metric: Metric = 'cosine',
): Promise<TopKResult> {
  if (matrix instanceof Float32Array && matrix.length > ASYNC_TOPK_ELEMENTS) {
    // As many threads as this process may use (a container's CPU quota, not the node's core count).
    return binding().topKAsync(query, matrix, k, metric, usableCpus());
  }
  return binding().topK(query, matrix, k, metric);
}
