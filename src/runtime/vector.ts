// Public SIMD vector math. Small inputs run synchronously on the calling thread; large top-k searches keep the event
// loop ticking: on worker threads across cores when the matrix is on a SharedArrayBuffer, else in slices.
import { binding, type Metric, type TopKResult } from './binding.js';
import { usableCpus } from './cpus.js';

export type { Metric, TopKResult };

/** Matrices with more elements than this (rows × dim) are searched without holding the event loop. */
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

/**
 * The `k` best rows, best first (ties: lower index first). A large matrix on a SharedArrayBuffer is searched in place
 * on worker threads across the usable CPUs; any other large matrix on this thread in slices of ASYNC_TOPK_ELEMENTS,
 * yielding to the event loop between them (a worker would need a copy of it, which costs more than the search).
 * Do not mutate `matrix` meanwhile.
 */
export async function topK(query: Float32Array, matrix: Float32Array, k: number, metric: Metric = 'cosine'): Promise<TopKResult> {
  const dim = query instanceof Float32Array ? query.length : 0;
  if (!(matrix instanceof Float32Array) || matrix.length <= ASYNC_TOPK_ELEMENTS || dim === 0 || matrix.length % dim !== 0) {
    return binding().topK(query, matrix, k, metric); // small, or invalid: the native call says what is wrong
  }
  if (Object.prototype.toString.call(matrix.buffer) === '[object SharedArrayBuffer]') {
    // As many threads as this process may use (a container's CPU quota, not the node's core count).
    return binding().topKAsync(query, matrix, k, metric, usableCpus());
  }
  return slicedTopK(query, matrix, k, metric, dim);
}

async function slicedTopK(query: Float32Array, matrix: Float32Array, k: number, metric: Metric, dim: number): Promise<TopKResult> {
  const rows = matrix.length / dim;
  const step = Math.max(1, Math.floor(ASYNC_TOPK_ELEMENTS / dim));
  const byScore = (a: [number, number], b: [number, number]) => b[1] - a[1] || a[0] - b[0];
  let best: Array<[index: number, score: number]> = [];
  for (let start = 0; start < rows; start += step) {
    if (start > 0) await new Promise<void>((resolve) => setImmediate(resolve));
    if (matrix.length !== rows * dim) {
      throw new TypeError('topK: the matrix was detached or resized during the search; transfer it only after the promise settles');
    }
    const end = Math.min(rows, start + step);
    const part = binding().topK(query, matrix.subarray(start * dim, end * dim), k, metric);
    for (let j = 0; j < part.indices.length; j++) best.push([part.indices[j] + start, part.scores[j]]);
    if (best.length > 4 * k) best = best.sort(byScore).slice(0, k);
  }
  best = best.sort(byScore).slice(0, k);
  return { indices: Uint32Array.from(best, (b) => b[0]), scores: Float32Array.from(best, (b) => b[1]) };
}
