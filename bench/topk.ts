// findMostSimilar's search step: the native SIMD top-k against a plain JS loop over the same cached vectors.
import { topK } from 'fastembed-native';

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

export async function topkBench(sizes: number[], reps: number): Promise<TopkResult[]> {
  const dim = 384;
  let seed = 7;
  const rand = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 4294967296 - 0.5);
  const out: TopkResult[] = [];
  for (const rows of sizes) {
    const m = Float32Array.from({ length: rows * dim }, rand);
    const q = Float32Array.from({ length: dim }, rand);
    const time = async (fn: () => unknown, count: number) => {
      await fn();
      const t = performance.now();
      for (let i = 0; i < count; i++) await fn();
      return (performance.now() - t) / count;
    };
    // The public topK: synchronous for small matrices, worker threads for large ones.
    const nativeMs = await time(() => topK(q, m, 10), reps);
    const jsMs = await time(() => jsTopK(q, m, dim, 10), Math.max(3, Math.floor(reps / 10)));
    out.push({ rows, nativeMs, jsMs });
  }
  return out;
}
