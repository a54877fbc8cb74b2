// SIMD vector math against a scalar JS reference, on odd sizes that exercise every tail path.
import { execFileSync, spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { binding } from '../../src/runtime/binding.js';
import { ASYNC_TOPK_ELEMENTS, cosine, dot, normalize, scoreAll, topK, topKSync } from '../../src/runtime/vector.js';
import { cosineJs } from '../fixtures/reference.js';

const SIZES = [1, 3, 17, 384, 768, 1023];

function seeded(seed: number): () => number {
  let s = seed;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296 - 0.5;
  };
}

function randomVec(n: number, rand: () => number): Float32Array {
  return Float32Array.from({ length: n }, rand);
}

function dotJs(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/** Scalar reference top-k: sort all scores (desc), ties by lower index. */
function topKJs(q: Float32Array, m: Float32Array, k: number, metric: 'cosine' | 'dot') {
  const dim = q.length;
  const scored = Array.from({ length: m.length / dim }, (_, r) => {
    const row = m.subarray(r * dim, (r + 1) * dim);
    return { index: r, score: metric === 'dot' ? dotJs(q, row) : cosineJs(q, row) };
  });
  scored.sort((a, b) => b.score - a.score || a.index - b.index);
  return scored.slice(0, k);
}

describe(`SIMD kernels (${binding().simdLevel}) match a scalar reference within 1e-5`, () => {
  test.each(SIZES)('dot, cosine and normalize at dim %i', (n) => {
    const rand = seeded(n);
    const a = randomVec(n, rand);
    const b = randomVec(n, rand);
    const scale = Math.max(1, Math.sqrt(dotJs(a, a) * dotJs(b, b)));
    expect(Math.abs(dot(a, b) - dotJs(a, b)) / scale).toBeLessThan(1e-5);
    expect(Math.abs(cosine(a, b) - cosineJs(a, b))).toBeLessThan(1e-5);
    const norm = Math.sqrt(dotJs(a, a));
    const expected = Array.from(a, (x) => x / norm);
    const v = normalize(Float32Array.from(a));
    v.forEach((x, i) => expect(Math.abs(x - expected[i])).toBeLessThan(1e-5));
  });

  test.each(SIZES)('scoreAll and topK over 257 rows at dim %i', (n) => {
    const rand = seeded(1000 + n);
    const q = randomVec(n, rand);
    const m = randomVec(257 * n, rand);
    for (const metric of ['cosine', 'dot'] as const) {
      const all = scoreAll(q, m, metric);
      const ref = topKJs(q, m, 257, metric);
      const byIndex = new Map(ref.map((r) => [r.index, r.score]));
      all.forEach((s, i) => expect(Math.abs(s - byIndex.get(i)!)).toBeLessThan(1e-5 * Math.max(1, Math.abs(byIndex.get(i)!))));
      const got = topKSync(q, m, 10, metric);
      expect(got.indices.length).toBe(Math.min(10, 257));
      // Same ranking as the reference, except where two scores are within float noise of each other.
      got.scores.forEach((s, i) => expect(Math.abs(s - ref[i].score)).toBeLessThan(1e-5 * Math.max(1, Math.abs(ref[i].score))));
      for (let i = 1; i < got.scores.length; i++) expect(got.scores[i]).toBeLessThanOrEqual(got.scores[i - 1]);
    }
  });

  // Every level this CPU can run, forced with FASTEMBED_SIMD, against the dispatched (best) one: on an AVX-512 host
  // that covers AVX2 too. On arm64 the NEON path is compared in test:pack (qemu-user).
  const levels = ['scalar', ...(['avx512', 'avx2'].includes(binding().simdLevel) ? ['avx2'] : [])];
  const script = path.join(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/simd-probe.cjs');
  const run = (env: Record<string, string>) => JSON.parse(execFileSync(process.execPath, [script], { env: { ...process.env, ...env }, encoding: 'utf8' }));
  test.each(levels)('forced %s kernels (FASTEMBED_SIMD) agree with the dispatched ones', (level) => {
    const forced = run({ FASTEMBED_SIMD: level });
    const best = run({ FASTEMBED_SIMD: '' });
    expect(forced.level).toBe(level);
    expect(best.values.length).toBe(forced.values.length);
    best.values.forEach((v: number, i: number) => expect(Math.abs(v - forced.values[i])).toBeLessThan(1e-5 * Math.max(1, Math.abs(v))));
  });

  test('a level the CPU lacks is not forced, and loading says so', () => {
    const script2 = `import(${JSON.stringify(path.join(path.dirname(fileURLToPath(import.meta.url)), '../../dist/index.js'))}).then((m) => m.dot(new Float32Array(4), new Float32Array(4)));`;
    const r = spawnSync(process.execPath, ['-e', script2], { env: { ...process.env, FASTEMBED_SIMD: 'sse9' }, encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/FASTEMBED_SIMD=sse9 is not available on this CPU .*; using (avx512|avx2|neon|scalar)/);
  });
});

describe('topK semantics', () => {
  test('ties go to the lower index; k larger than rows returns every row', () => {
    const q = Float32Array.from([1, 0]);
    const m = Float32Array.from([0, 1, 1, 0, 2, 0, 1, 0, -1, 0]);
    const r = topKSync(q, m, 100, 'cosine');
    expect(Array.from(r.indices)).toEqual([1, 2, 3, 0, 4]);
    expect(Array.from(r.scores)).toEqual([1, 1, 1, 0, -1]);
    const d = topKSync(q, m, 2, 'dot');
    expect(Array.from(d.indices)).toEqual([2, 1]);
  });

  test('zero vectors score 0 under cosine, NaN rows rank last', () => {
    const q = Float32Array.from([1, 1]);
    const m = Float32Array.from([0, 0, Number.NaN, 1, 1, 1]);
    const r = topKSync(q, m, 3);
    expect(Array.from(r.indices)).toEqual([2, 0, 1]);
    expect(r.scores[1]).toBe(0);
  });

  test('a large matrix on a SharedArrayBuffer is searched on worker threads, in place, and agrees with the synchronous path', async () => {
    const dim = 384;
    const rows = Math.ceil((ASYNC_TOPK_ELEMENTS + 1) / dim) + 3;
    const rand = seeded(7);
    const q = randomVec(dim, rand);
    const m = new Float32Array(new SharedArrayBuffer(rows * dim * 4));
    m.set(randomVec(rows * dim, rand));
    const pending = topK(q, m, 25);
    // A worker thread's result arrives in a later turn of the event loop, never within the calling turn (an inline
    // search would have settled already). Deterministic, unlike racing a setImmediate against the worker.
    let settled = false;
    void pending.then(() => (settled = true));
    for (let i = 0; i < 10; i++) await Promise.resolve();
    expect(settled).toBe(false);
    const asyncResult = await pending;
    const syncResult = topKSync(q, m, 25);
    expect(Array.from(asyncResult.indices)).toEqual(Array.from(syncResult.indices));
    expect(Array.from(asyncResult.scores)).toEqual(Array.from(syncResult.scores));
  });

  test('any other large matrix is searched in slices that let the event loop run between them, with the same answer', async () => {
    const dim = 384;
    const rows = 3 * Math.ceil(ASYNC_TOPK_ELEMENTS / dim) + 17; // four slices, the last one short
    const rand = seeded(9);
    const q = randomVec(dim, rand);
    const m = randomVec(rows * dim, rand);
    m.set(m.subarray(5 * dim, 6 * dim), (rows - 1) * dim); // a tie across slices: the lower index goes first
    const immediate = new Promise<string>((resolve) => setImmediate(() => resolve('event loop')));
    const pending = topK(q, m, 30);
    expect(await Promise.race([immediate, pending.then(() => 'search')])).toBe('event loop');
    const got = await pending;
    const expected = topKSync(q, m, 30);
    expect(Array.from(got.indices)).toEqual(Array.from(expected.indices));
    expect(Array.from(got.scores)).toEqual(Array.from(expected.scores));
    const all = await topK(q, m, rows + 5); // k past the rows: every row, ranked
    expect(all.indices.length).toBe(rows);
    expect(Array.from(all.indices.subarray(0, 30))).toEqual(Array.from(expected.indices));
  });

  test('the worker thread count is the caller\'s (a container\'s CPU quota): any count gives the same answer, a bad one a RangeError', async () => {
    const rand = seeded(13);
    const dim = 384;
    const q = randomVec(dim, rand);
    const m = randomVec(5_000 * dim, rand);
    const expected = Array.from(topKSync(q, m, 40).indices);
    for (const threads of [1, 2, 7]) {
      expect(Array.from((await binding().topKAsync(q, m, 40, 'cosine', threads)).indices)).toEqual(expected);
    }
    for (const bad of [0, -1, 1.5, 5000]) expect(() => binding().topKAsync(q, m, 40, 'cosine', bad)).toThrow(/threads must be an integer from 1 to 1024/);
  });

  test('a matrix whose buffer JS transfers away while the worker runs: the worker reads its own copy', async () => {
    const rand = seeded(11);
    const dim = 384;
    const q = randomVec(dim, rand);
    const m = randomVec(4096 * dim, rand);
    const expected = topKSync(q, m, 10);
    const pending = binding().topKAsync(q, m, 10, 'cosine', 2);
    // Detaches both buffers now, while the search may be running on another thread.
    structuredClone([q.buffer, m.buffer], { transfer: [q.buffer, m.buffer] });
    expect(m.length).toBe(0);
    const got = await pending;
    expect(Array.from(got.indices)).toEqual(Array.from(expected.indices));
    expect(Array.from(got.scores)).toEqual(Array.from(expected.scores));
  });

  test('a large matrix transferred away during a sliced search: a TypeError that says so, not a crash', async () => {
    const rand = seeded(12);
    const dim = 384;
    const m = randomVec(3 * Math.ceil(ASYNC_TOPK_ELEMENTS / dim) * dim, rand);
    const pending = topK(randomVec(dim, rand), m, 10);
    structuredClone(m.buffer, { transfer: [m.buffer] });
    await expect(pending).rejects.toThrow(/matrix was detached or resized during the search/);
  });
});

describe('bad input', () => {
  const a = new Float32Array(4);
  test.each([
    ['a plain array', () => dot([1, 2] as never, a), TypeError, /dot: a must be a Float32Array/],
    ['a Float64Array', () => cosine(a, new Float64Array(4) as never), TypeError, /cosine: b must be a Float32Array/],
    ['mismatched lengths', () => dot(a, new Float32Array(3)), RangeError, /vectors differ in length \(4 vs 3\)/],
    ['k = 0', () => topKSync(a, new Float32Array(8), 0), RangeError, /k must be a positive integer, got 0/],
    ['k = -1', () => topKSync(a, new Float32Array(8), -1), RangeError, /k must be a positive integer/],
    ['k = NaN', () => topKSync(a, new Float32Array(8), Number.NaN), RangeError, /k must be a positive integer, got NaN/],
    ['k = 1.5', () => topKSync(a, new Float32Array(8), 1.5), RangeError, /k must be a positive integer/],
    ['ragged matrix', () => topKSync(a, new Float32Array(9), 1), RangeError, /matrix length 9 is not a multiple of the query's dimension 4/],
    ['empty query', () => topKSync(new Float32Array(0), new Float32Array(8), 1), RangeError, /query is empty/],
    ['unknown metric', () => topKSync(a, new Float32Array(8), 1, 'l2' as never), RangeError, /metric must be 'cosine' or 'dot'/],
    ['normalize dim not dividing', () => normalize(new Float32Array(10), 3), RangeError, /dim must be a positive integer dividing/],
  ])('%s', (_name, fn, type, message) => {
    expect(fn).toThrow(type);
    expect(fn).toThrow(message);
  });

  test('async top-k rejects bad k the same way', async () => {
    const big = new Float32Array(ASYNC_TOPK_ELEMENTS + 4);
    await expect(topK(a, big, -3)).rejects.toThrow(RangeError);
  });

  test('an empty matrix gives an empty result', () => {
    const r = topKSync(a, new Float32Array(0), 5);
    expect(r.indices.length).toBe(0);
  });
});
