// findMostSimilar's search step: the native SIMD top-k against a plain JS loop over the same cached vectors.
import { topK } from 'fastembed-native';
import { timeIt } from './timing.js';

export const DIM = 384;

export interface TopkResult {
  rows: number;
  nativeMs: number;
  jsMs: number;
}

function jsTopK(q: Float32Array, m: Float32Array, dim: number, k: number): number[] {
  // What a user writes: cosine per row, then sort.
  const scores: Array<{ i: number; s: number }> = [];
  for (let r = 0; r < m.length / dim; r++) {
    let dot = 0;
    let nq = 0;
    let nr = 0;
    for (let d = 0; d < dim; d++) {
      const a = q[d];
      const b = m[r * dim + d];
      dot += a * b;
      nq += a * a;
      nr += b * b;
    }
    scores.push({ i: r, s: dot / Math.sqrt(nq * nr) });
  }
  scores.sort((a, b) => b.s - a.s);
  return scores.slice(0, k).map((x) => x.i);
}

/** rows × DIM uniform values in [-0.5, 0.5) from a fixed seed, on a SharedArrayBuffer if `shared`. */
function randomMatrix(rows: number, shared: boolean): Float32Array {
  const m = new Float32Array(shared ? new SharedArrayBuffer(rows * DIM * 4) : new ArrayBuffer(rows * DIM * 4));
  let seed = 7;
  for (let i = 0; i < m.length; i++) m[i] = (seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32 - 0.5;
  return m;
}

/** The public topK (synchronous for small matrices, worker threads for large ones) against the JS loop. */
export async function topkBench(sizes: number[], minMs: number): Promise<TopkResult[]> {
  const out: TopkResult[] = [];
  for (const rows of sizes) {
    const m = randomMatrix(rows, false);
    const q = m.slice(0, DIM);
    out.push({ rows, nativeMs: await timeIt(() => topK(q, m, 10), minMs), jsMs: await timeIt(() => jsTopK(q, m, DIM, 10), minMs) });
  }
  return out;
}

/**
 * The same search on an ordinary Float32Array (sliced on the JS thread) and on a SharedArrayBuffer (in place on
 * worker threads, as the service builds its matrices).
 */
export async function topkPaths(sizes: number[], minMs: number): Promise<Array<{ rows: number; plainMs: number; sharedMs: number }>> {
  const out = [];
  for (const rows of sizes) {
    const shared = randomMatrix(rows, true);
    const plain = shared.slice();
    const q = shared.slice(0, DIM);
    out.push({ rows, sharedMs: await timeIt(() => topK(q, shared, 10), minMs), plainMs: await timeIt(() => topK(q, plain, 10), minMs) });
  }
  return out;
}
