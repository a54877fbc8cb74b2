// Compact vectors (int8 + scale, sign bits): the kernels against a scalar reference written here, every SIMD level
// this CPU has against the scalar one (FASTEMBED_SIMD, in child processes), recall@10 against exact fp32 search on
// random unit vectors (on SciFact with trained weights: test/quality/trained.test.ts, on its one embedding pass), and
// bad arguments.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { binding } from '../../src/runtime/binding.js';
import type { CompactArrays, CompactNativeBinding } from '../../src/runtime/compact-native.js';
import { CompactVectorIndex } from '../../src/runtime/compact-vectors.js';
import { ASYNC_TOPK_ELEMENTS, normalize, topKSync } from '../../src/runtime/vector.js';
import { recallAt10 } from '../fixtures/retrieval.js';

const native = binding() as unknown as CompactNativeBinding;
const DIMS = [1, 7, 63, 64, 65, 384, 385];
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

function seeded(seed: number): () => number {
  let s = seed;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296 - 0.5;
}

/** rows × dim roughly Gaussian values (sum of 12 uniforms), L2-normalised per row: random unit vectors. */
function unitVectors(rows: number, dim: number, rand: () => number): Float32Array {
  const m = new Float32Array(rows * dim);
  for (let i = 0; i < m.length; i++) {
    let g = 0;
    for (let j = 0; j < 12; j++) g += rand();
    m[i] = g;
  }
  return normalize(m, dim);
}

// ---- scalar references -----------------------------------------------------------------------------------------
function quantizeJs(x: Float32Array): { codes: Int8Array; scale: number } {
  const maxabs = x.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  const codes = Int8Array.from(x, (v) => (maxabs > 0 ? Math.round((v * 127) / maxabs) : 0));
  return { codes, scale: Math.fround(maxabs / 127) };
}

function signBitsJs(x: Float32Array): Uint8Array {
  const bits = new Uint8Array(Math.ceil(x.length / 64) * 8);
  x.forEach((v, i) => (bits[i >> 3] |= v > 0 ? 1 << (i & 7) : 0));
  return bits;
}

function int8Index(m: Float32Array, dim: number): Required<Pick<CompactArrays, 'dim' | 'codes' | 'scales'>> {
  const codes = new Int8Array(m.length);
  const scales = new Float32Array(m.length / dim);
  native.quantizeInt8(m, dim, codes, scales);
  return { dim, codes, scales };
}

/** Sign bits in groups of 32 rows, byte-major: byte j of row r at ⌊r / 32⌋ · 32 · stride + 32 · j + r % 32. */
function bitsIndex(m: Float32Array, dim: number): Required<Pick<CompactArrays, 'dim' | 'rows' | 'bits'>> {
  const rows = m.length / dim;
  const bits = new Uint8Array(Math.ceil(rows / 32) * 32 * Math.ceil(dim / 64) * 8);
  native.packSigns(m, dim, bits, 0);
  return { dim, rows, bits };
}

function signRow(index: { dim: number; bits: Uint8Array }, r: number): number[] {
  const stride = Math.ceil(index.dim / 64) * 8;
  return Array.from({ length: stride }, (_, j) => index.bits[Math.floor(r / 32) * 32 * stride + 32 * j + (r % 32)]);
}

/** Best first, ties by lower index: what the native top-k promises. */
function ranking(scores: ArrayLike<number>, better: (a: number, b: number) => number): number[] {
  return Array.from(scores, (_, i) => i).sort((a, b) => better(scores[a], scores[b]) || a - b);
}

describe(`compact kernels (${native.compactSimdLevel}) against a scalar reference`, () => {
  const ROWS = 37;

  test.each(DIMS)('int8 quantisation and dot products at dim %i', (dim) => {
    const rand = seeded(dim);
    const m = unitVectors(ROWS, dim, rand).map((v, i) => v * (1 + (i % 5))); // rows of different norms
    const q = unitVectors(1, dim, rand);
    const index = int8Index(m, dim);
    for (let r = 0; r < ROWS; r++) {
      const ref = quantizeJs(m.subarray(r * dim, (r + 1) * dim));
      expect(index.scales[r]).toBe(ref.scale);
      // Rounding of x · (127 / max) in float32 against x · 127 / max in double: a code may differ by one.
      ref.codes.forEach((c, i) => expect(Math.abs(c - index.codes[r * dim + i])).toBeLessThanOrEqual(1));
      expect(index.codes.subarray(r * dim, (r + 1) * dim).includes(-128)).toBe(false);
    }
    const qi = int8Index(q, dim);
    // The kernel's integer dot product is exact: the dequantised score is float(Σ q·x) · row scale · query scale.
    const expected = Array.from({ length: ROWS }, (_, r) => {
      let dot = 0;
      for (let i = 0; i < dim; i++) dot += qi.codes[i] * index.codes[r * dim + i];
      return Math.fround(Math.fround(Math.fround(dot) * index.scales[r]) * qi.scales[0]);
    });
    expect(Array.from(native.compactScoreAll(q, index))).toEqual(expected);
    const top = native.compactTopK(q, index, 5, ROWS);
    expect(top.exact).toBe(false);
    expect(Array.from(top.indices)).toEqual(ranking(expected, (a, b) => b - a).slice(0, 5));
    expect(Array.from(top.scores)).toEqual(Array.from(top.indices, (i) => expected[i]));
  });

  // 2048 is the widest row whose tables keep 127 levels; 4100 has fewer (sums must fit 16 bits).
  test.each([...DIMS, 1024, 4100])('sign bits and the first pass\'s estimate of q · sign(x) at dim %i', (dim) => {
    const rand = seeded(100 + dim);
    const m = unitVectors(ROWS, dim, rand);
    m[0] = 0; // zero is not positive: bit clear
    const q = unitVectors(1, dim, rand);
    const index = bitsIndex(m, dim);
    for (let r = 0; r < ROWS; r++) expect(signRow(index, r)).toEqual(Array.from(signBitsJs(m.subarray(r * dim, (r + 1) * dim))));
    // Rows the caller packed land in the same places.
    const rowMajor = new Uint8Array(index.bits.length);
    for (let r = 0; r < ROWS; r++) rowMajor.set(signBitsJs(m.subarray(r * dim, (r + 1) * dim)), r * Math.ceil(dim / 64) * 8);
    const stored = new Uint8Array(index.bits.length);
    native.storeSigns(rowMajor.subarray(0, ROWS * Math.ceil(dim / 64) * 8), dim, stored, 0);
    expect(Array.from(stored)).toEqual(Array.from(index.bits));
    // q · sign(x) / √dim: the cosine between q and the ±1 vector.
    const signDot = Array.from({ length: ROWS }, (_, r) => m.subarray(r * dim, (r + 1) * dim).reduce((s, x, i) => s + (x > 0 ? q[i] : -q[i]), 0) / Math.sqrt(dim));
    // The first pass quantises one table per 4 dims with a step Δ = (the largest Σ|q| over 4 dims) / levels; each of
    // the 2 · stride lookups of a row is off by ≤ Δ / 2, and q · sign(x) counts them twice.
    const stride = Math.ceil(dim / 64) * 8;
    const levels = Math.min(127, Math.floor(65535 / (2 * stride)));
    let widest = 0;
    for (let i = 0; i < dim; i += 4) widest = Math.max(widest, Math.abs(q[i]) + Math.abs(q[i + 1] ?? 0) + Math.abs(q[i + 2] ?? 0) + Math.abs(q[i + 3] ?? 0));
    const bound = (2 * stride * (widest / levels)) / Math.sqrt(dim) + 1e-5;
    const estimate = native.compactScoreAll(q, index);
    estimate.forEach((e, r) => expect(Math.abs(e - signDot[r])).toBeLessThanOrEqual(bound));
    // Without fp32 rows a pool of every row is ranked by the exact q · sign(x) / √dim.
    const top = native.compactTopK(q, index, 5, ROWS);
    expect(top.exact).toBe(false);
    expect(Array.from(top.indices)).toEqual(ranking(signDot, (a, b) => b - a).slice(0, 5));
    Array.from(top.indices).forEach((r, i) => expect(top.scores[i]).toBeCloseTo(signDot[r], 5));
  });

  test.each(['int8', 'binary'] as const)('%s with fp32 rows and a pool of every row is exact fp32 search', (precision) => {
    const rand = seeded(5);
    for (const dim of [7, 385]) {
      const m = unitVectors(300, dim, rand);
      const q = unitVectors(1, dim, rand);
      const got = CompactVectorIndex.from(m, dim, { precision }).searchSync(q, 10, { candidates: 300 });
      const want = topKSync(q, m, 10, 'dot');
      expect(got.exact).toBe(true);
      expect(Array.from(got.indices)).toEqual(Array.from(want.indices));
      got.scores.forEach((s, i) => expect(s).toBeCloseTo(want.scores[i], 5));
    }
  });

  // Every level this CPU can run, forced with FASTEMBED_SIMD, against the scalar one in a child process (the level is
  // read once, when the addon first does math).
  const probe = `
    const b = require(${JSON.stringify(path.join(ROOT, 'node_modules', 'node-gyp-build'))})(${JSON.stringify(ROOT)});
    let s = 99; const rand = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296 - 0.5);
    const out = [], ranks = [];
    for (const dim of ${JSON.stringify([...DIMS, 128, 1000])}) {
      const rows = 67, m = Float32Array.from({ length: rows * dim }, rand), q = Float32Array.from({ length: dim }, rand);
      const codes = new Int8Array(rows * dim), scales = new Float32Array(rows), bits = new Uint8Array(Math.ceil(rows / 32) * 32 * Math.ceil(dim / 64) * 8);
      b.quantizeInt8(m, dim, codes, scales); b.packSigns(m, dim, bits, 0);
      out.push([...b.compactScoreAll(q, { dim, codes, scales })], [...b.compactScoreAll(q, { dim, rows, bits })]);
      for (const index of [{ dim, codes, scales }, { dim, rows, bits }, { dim, codes, scales, floats: m }, { dim, rows, bits, floats: m }]) {
        const r = b.compactTopK(q, index, 10, 20); ranks.push([...r.indices]); out.push([...r.scores]);
      }
    }
    process.stdout.write(JSON.stringify({ level: b.compactSimdLevel, out, ranks }));`;
  const run = (level: string) => JSON.parse(execFileSync(process.execPath, ['-e', probe], { env: { ...process.env, FASTEMBED_SIMD: level }, encoding: 'utf8' }));
  const levels = native.compactSimdLevel === 'scalar' ? [] : [native.compactSimdLevel, ...(native.compactSimdLevel === 'avx512vnni' ? ['avx2'] : [])];
  test.skipIf(levels.length === 0)(`every SIMD level here (${levels.join(', ') || 'none: scalar only'}) gives the scalar answers`, () => {
    const scalar = run('scalar');
    expect(scalar.level).toBe('scalar');
    for (const level of levels) {
      const got = run(level === native.compactSimdLevel ? '' : level);
      expect(got.level).toBe(level);
      // The compact scores (integer dot products, table sums) and every ranking must be identical; only the
      // fp32 rescoring's sums round differently between the fp32 kernels.
      expect(got.out.length).toBe(scalar.out.length);
      got.out.forEach((values: number[], i: number) => {
        expect(values.length).toBe(scalar.out[i].length);
        values.forEach((v, j) => expect(Math.abs(v - scalar.out[i][j])).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(v))));
      });
      got.ranks.forEach((r: number[], i: number) => expect(r).toEqual(scalar.ranks[i]));
    }
  });
});

// The NEON kernels (plain and with the dot-product extension) against the scalar ones on arm64, under qemu-user: a
// small C++ program over native/vector_quant.cc (and what it calls), cross-compiled statically, run with FASTEMBED_SIMD=scalar and
// without; the outputs must be identical. Needs aarch64-linux-gnu-g++ (Debian: g++-aarch64-linux-gnu) and a
// qemu-user: qemu-aarch64-static on the PATH, or the one scripts/trixie-fetch.sh unpacks into .node/qemu (the
// package check fetches it; .ci/run then runs these tests again with FASTEMBED_REQUIRE_NEON=1, where a skip fails).
const NEON_PROBE = `// Prints the compact kernels' answers, so two runs (FASTEMBED_SIMD=scalar and the default) can be diffed.
#include "vector_quant.h"
#include <cstdio>
#include <random>
using namespace fastembed;
int main() {
  std::mt19937 g(7); std::uniform_real_distribution<float> u(-0.5f, 0.5f);
  printf("level %s\\n", CompactSimdLevel());
  for (size_t dim : {1, 7, 15, 16, 17, 63, 64, 65, 128, 384, 385, 1000}) {
    const size_t rows = 67;
    std::vector<float> m(rows * dim), q(dim);
    for (auto& x : m) x = u(g);
    for (auto& x : q) x = u(g);
    std::vector<int8_t> codes(rows * dim); std::vector<float> scales(rows);
    const size_t stride = SignWords(dim) * 8;
    std::vector<uint8_t> bits(SignBlockBytes(rows, dim)), row(stride);
    for (size_t r = 0; r < rows; ++r) { scales[r] = QuantizeInt8(&m[r * dim], dim, &codes[r * dim]); PackSigns(&m[r * dim], dim, row.data()); StoreSignRow(row.data(), stride, bits.data(), r); }
    CompactMatrix a; a.rows = rows; a.dim = dim; a.codes = codes.data(); a.scales = scales.data();
    CompactMatrix b; b.rows = rows; b.dim = dim; b.bits = bits.data();
    std::vector<float> out(rows);
    CompactScoreAll(q.data(), a, out.data()); printf("dim %zu int8", dim); for (float v : out) printf(" %.9g", v); printf("\\n");
    CompactScoreAll(q.data(), b, out.data()); printf("dim %zu sign", dim); for (float v : out) printf(" %.9g", v); printf("\\n");
    CompactMatrix af = a; af.floats = m.data(); CompactMatrix bf = b; bf.floats = m.data();
    for (const CompactMatrix* c : {&a, &b, &af, &bf}) {
      CompactResult r = CompactTopK(q.data(), *c, 10, 20, 2);
      printf("top"); for (auto& s : r.top) printf(" %u:%.4f", s.index, s.score); printf("\\n");
    }
  }
}
`;
const onPath = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const fetchedQemu = path.join(ROOT, '.node', 'qemu', 'usr', 'bin', 'qemu-aarch64');
const qemu = onPath('qemu-aarch64-static') ? 'qemu-aarch64-static' : fs.existsSync(fetchedQemu) ? fetchedQemu : undefined;
const neonSkip = !onPath('aarch64-linux-gnu-g++') ? 'no aarch64-linux-gnu-g++' : qemu === undefined ? 'no qemu-aarch64-static or .node/qemu' : undefined;
if (neonSkip !== undefined && process.env.FASTEMBED_REQUIRE_NEON === '1') throw new Error(`FASTEMBED_REQUIRE_NEON=1 but the NEON test can't run: ${neonSkip}`);
describe(`NEON compact kernels under qemu-user${neonSkip ? ` — skipped: ${neonSkip}` : ''}`, () => {
  test.skipIf(neonSkip !== undefined).each([['neon', ''], ['neon-dotprod', '-march=armv8.2-a+dotprod']])('%s gives the scalar answers', (level, march) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fe-neon-'));
    try {
      fs.writeFileSync(path.join(dir, 'probe.cc'), NEON_PROBE);
      const exe = path.join(dir, 'probe');
      const native = ['vector_quant.cc', 'vector_math.cc', 'helper_threads.cc'].map((f) => path.join(ROOT, 'native', f));
      execFileSync('aarch64-linux-gnu-g++', [...(march ? [march] : []), '-static', '-std=c++17', '-O2', `-I${path.join(ROOT, 'native')}`, path.join(dir, 'probe.cc'), ...native, '-o', exe, '-lpthread']);
      const run = (simd: string) => execFileSync(qemu!, ['-cpu', 'max', exe], { env: { ...process.env, FASTEMBED_SIMD: simd }, encoding: 'utf8' }).split('\n');
      const [scalar, neon] = [run('scalar'), run('')];
      expect(scalar[0]).toBe('level scalar');
      expect(neon[0]).toBe(`level ${level}`);
      expect(neon.slice(1)).toEqual(scalar.slice(1));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});

/** Recall@10 of the index against exact fp32 top-10 (dot product of unit vectors), over every query. */
describe('recall@10 against exact fp32 search', () => {
  test('20,000 random unit vectors × 384, 100 queries', () => {
    const rand = seeded(2024);
    const docs = unitVectors(20_000, 384, rand);
    const queries = Array.from({ length: 100 }, () => unitVectors(1, 384, rand));
    const int8 = CompactVectorIndex.from(docs, 384);
    const binary = CompactVectorIndex.from(docs, 384, { precision: 'binary' });
    const rows = {
      int8: recallAt10(int8, docs, queries),
      int8Pool20: recallAt10(int8, docs, queries, 20),
      int8NoFloat: recallAt10(CompactVectorIndex.from(docs, 384, { keepFloat: false }), docs, queries),
      binary: recallAt10(binary, docs, queries),
      binaryPool500: recallAt10(binary, docs, queries, 500),
    };
    console.info(`random unit vectors, 20,000 × 384, recall@10: ${JSON.stringify(rows)}`);
    expect(rows.int8).toBeGreaterThanOrEqual(0.99); // default pool: 100
    expect(rows.int8NoFloat).toBeGreaterThanOrEqual(0.9);
    // Sign bits keep little of a random vector, whose true neighbours are barely nearer than the rest; ranking the
    // bits by the fp32 query (not by Hamming distance, which got 0.895 here) reaches 0.99 at the default pool, 2,000.
    expect(rows.binary).toBeGreaterThanOrEqual(0.99);
  }, 120_000);
});

describe('CompactVectorIndex', () => {
  const rand = seeded(77);
  const docs = unitVectors(50, 16, rand);

  test('memory per vector: int8 ≤ 1/3.5 of fp32 and binary ≤ 1/25 without the fp32 rows; add() grows the index', () => {
    const fp32 = 384 * 4;
    expect(new CompactVectorIndex(384, { keepFloat: false }).bytesPerVector).toBe(388);
    expect(fp32 / new CompactVectorIndex(384, { keepFloat: false }).bytesPerVector).toBeGreaterThanOrEqual(3.5);
    expect(fp32 / new CompactVectorIndex(384, { precision: 'binary', keepFloat: false }).bytesPerVector).toBeGreaterThanOrEqual(25);
    expect(new CompactVectorIndex(384).bytesPerVector).toBe(388 + fp32);
    const index = CompactVectorIndex.from(docs, 16, { precision: 'binary' });
    expect(index.memoryBytes).toBe(64 * (8 + 64)); // binary rows come in groups of 32
    expect(index.add(docs.subarray(0, 32))).toBe(50);
    expect(index.size).toBe(52);
    const top = index.searchSync(docs.slice(50 * 16 - 16), 1);
    expect(top.indices[0]).toBe(49); // the last row of the first batch finds itself
  });

  test('an empty index gives an empty result; k past the rows gives every row, ranked', async () => {
    for (const precision of ['int8', 'binary'] as const) {
      expect((await new CompactVectorIndex(16, { precision }).search(new Float32Array(16).fill(1), 5)).indices.length).toBe(0);
      const all = CompactVectorIndex.from(docs, 16, { precision }).searchSync(docs.slice(0, 16), 500);
      expect(Array.from(all.indices).sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i));
      expect(Array.from(all.indices)).toEqual(Array.from(topKSync(docs.slice(0, 16), docs, 50, 'dot').indices));
    }
  });

  test('cosine normalises copies: the caller\'s vectors are untouched, scaled vectors score the same', () => {
    const scaled = docs.map((v) => v * 3);
    const index = CompactVectorIndex.from(scaled, 16);
    expect(scaled[0]).toBe(docs[0] * 3);
    const q = docs.slice(16, 32);
    const r = index.searchSync(q.map((v) => v * 7), 1);
    expect(r.indices[0]).toBe(1);
    expect(r.scores[0]).toBeCloseTo(1, 5);
  });

  test('callers with compact vectors: fromInt8 and fromBits search them as given, results marked approximate', () => {
    const i8 = int8Index(docs, 16);
    const a = CompactVectorIndex.fromInt8(i8.codes, i8.scales, 16).searchSync(docs.slice(32, 48), 3);
    expect(a.exact).toBe(false);
    expect(a.indices[0]).toBe(2);
    const rowMajor = new Uint8Array(50 * 8);
    for (let r = 0; r < 50; r++) rowMajor.set(signBitsJs(docs.subarray(r * 16, (r + 1) * 16)), r * 8);
    const b = CompactVectorIndex.fromBits(rowMajor, 16).searchSync(docs.slice(48, 64), 3);
    expect(b.indices[0]).toBe(3);
    expect(b.exact).toBe(false);
  });

  test('a large index is searched on worker threads, off the event loop, with the same answer', async () => {
    const dim = 384;
    const rows = Math.ceil((4 * ASYNC_TOPK_ELEMENTS) / (dim + 4)) + 5;
    const m = unitVectors(rows, dim, seeded(3));
    const index = CompactVectorIndex.from(m, dim);
    const q = m.slice(dim * 17, dim * 18);
    const pending = index.search(q, 10);
    let settled = false;
    void pending.then(() => (settled = true));
    for (let i = 0; i < 10; i++) await Promise.resolve();
    expect(settled).toBe(false);
    const got = await pending;
    const want = index.searchSync(q, 10);
    expect(Array.from(got.indices)).toEqual(Array.from(want.indices));
    expect(Array.from(got.scores)).toEqual(Array.from(want.scores));
    expect(got.indices[0]).toBe(17);
  }, 60_000);

  test('binary pools split over threads keep the lowest indices among rows tied at the cut-off score, as one thread does', async () => {
    const dim = 4; // 16 sign patterns over 20,000 rows: a thousand rows tied at every score
    const m = unitVectors(20_000, dim, seeded(8));
    const index = bitsIndex(m, dim);
    const q = m.slice(0, dim);
    for (const candidates of [1, 37, 5000]) {
      for (const floats of [undefined, m]) {
        const one = native.compactTopK(q, { ...index, floats }, 10, candidates);
        const two = await native.compactTopKAsync(q, { ...index, floats }, 10, candidates, 2);
        expect(Array.from(two.indices)).toEqual(Array.from(one.indices));
        expect(Array.from(two.scores)).toEqual(Array.from(one.scores));
      }
    }
  });

  test('concurrent searches share the helper threads, each with its own answer (more parts than CPUs too)', async () => {
    const dim = 64;
    const m = unitVectors(40_000, dim, seeded(9));
    const bits = bitsIndex(m, dim);
    const codes = int8Index(m, dim);
    const queries = Array.from({ length: 12 }, (_, i) => m.slice(i * 97 * dim, (i * 97 + 1) * dim));
    const runs = queries.flatMap((q) => [
      [native.compactTopK(q, { ...bits, floats: m }, 10, 3000), native.compactTopKAsync(q, { ...bits, floats: m }, 10, 3000, 7)],
      [native.compactTopK(q, codes, 10, 100), native.compactTopKAsync(q, codes, 10, 100, 3)],
      [topKSync(q, m, 10, 'dot'), binding().topKAsync(q, m, 10, 'dot', 5)],
    ] as const);
    const got = await Promise.all(runs.map(([, pending]) => pending));
    runs.forEach(([want], i) => {
      expect(Array.from(got[i].indices)).toEqual(Array.from(want.indices));
      expect(Array.from(got[i].scores)).toEqual(Array.from(want.scores));
    });
    expect(got[0].indices[0]).toBe(0); // a row finds itself
  });

  test('the async binding copies arrays that are not on a SharedArrayBuffer, so transferring them mid-search is safe', async () => {
    const dim = 64;
    const m = unitVectors(3000, dim, seeded(4));
    const index = int8Index(m, dim);
    const q = m.slice(0, dim);
    const want = native.compactTopK(q, { ...index, floats: m }, 5, 50);
    const pending = native.compactTopKAsync(q, { ...index, floats: m }, 5, 50, 2);
    structuredClone([index.codes.buffer, m.buffer], { transfer: [index.codes.buffer, m.buffer] });
    const got = await pending;
    expect(Array.from(got.indices)).toEqual(Array.from(want.indices));
  });

  const index = CompactVectorIndex.from(docs, 16);
  test.each([
    ['dim 0', () => new CompactVectorIndex(0), RangeError, /dim must be a positive integer, got 0/],
    ['dim 1.5', () => new CompactVectorIndex(1.5), RangeError, /dim must be a positive integer/],
    ['dim too large', () => new CompactVectorIndex(70_000), RangeError, /dim must be at most 65535/],
    ['unknown precision', () => new CompactVectorIndex(4, { precision: 'int4' as never }), RangeError, /precision must be 'int8' or 'binary', got 'int4'/],
    ['unknown metric', () => new CompactVectorIndex(4, { metric: 'l2' as never }), RangeError, /metric must be 'cosine' or 'dot'/],
    ['keepFloat not a boolean', () => new CompactVectorIndex(4, { keepFloat: 'yes' as never }), TypeError, /keepFloat must be a boolean/],
    ['add a plain array', () => index.add([1, 2] as never), TypeError, /add: vectors must be a Float32Array/],
    ['add a ragged matrix', () => index.add(new Float32Array(17)), RangeError, /vectors length 17 is not a multiple of dim 16/],
    ['query a Float64Array', () => index.searchSync(new Float64Array(16) as never, 1), TypeError, /searchSync: query must be a Float32Array/],
    ['query of the wrong length', () => index.searchSync(new Float32Array(15), 1), RangeError, /query has 15 values, the index 16/],
    ['k = 0', () => index.searchSync(new Float32Array(16), 0), RangeError, /searchSync: k must be a positive integer, got 0/],
    ['candidates = 2.5', () => index.searchSync(new Float32Array(16), 1, { candidates: 2.5 }), RangeError, /candidates must be a positive integer, got 2.5/],
    ['fromInt8 codes a Uint8Array', () => CompactVectorIndex.fromInt8(new Uint8Array(16) as never, new Float32Array(1), 16), TypeError, /codes must be an Int8Array/],
    ['fromInt8 codes and scales disagree', () => CompactVectorIndex.fromInt8(new Int8Array(16), new Float32Array(2), 16), RangeError, /codes must be scales.length × dim = 32 long, got 16/],
    ['fromInt8 code -128', () => CompactVectorIndex.fromInt8(new Int8Array(16).fill(-128), new Float32Array(1), 16), RangeError, /codes must be in \[-127, 127\]/],
    ['fromBits bytes not whole rows', () => CompactVectorIndex.fromBits(new Uint8Array(12), 16), RangeError, /bits must hold 8 bytes per row \(dim 16\), got 12/],
    ['native: index without codes or bits', () => native.compactTopK(new Float32Array(4), { dim: 4 }, 1, 1), TypeError, /index.bits must be a Uint8Array \(or codes an Int8Array\)/],
    ['native: scales of the wrong length', () => native.compactTopK(new Float32Array(4), { dim: 4, codes: new Int8Array(8), scales: new Float32Array(1) }, 1, 1), RangeError, /index.scales one per row/],
    ['native: floats of the wrong length', () => native.compactTopK(new Float32Array(4), { dim: 4, rows: 2, bits: new Uint8Array(256), floats: new Float32Array(4) }, 1, 1), RangeError, /index.floats must be rows × dim/],
    ['native: bits without rows', () => native.compactTopK(new Float32Array(4), { dim: 4, bits: new Uint8Array(256) }, 1, 1), RangeError, /index.rows must be an integer from 0 to 2\^32 - 1, got undefined/],
    ['native: bits not whole groups', () => native.compactTopK(new Float32Array(4), { dim: 4, rows: 2, bits: new Uint8Array(16) }, 1, 1), RangeError, /index.bits must be 256 bytes for index.rows 2 \(whole groups of 32 rows\), got 16/],
    ['native: packSigns past the end', () => native.packSigns(new Float32Array(8), 4, new Uint8Array(256), 31), RangeError, /packSigns: bits must be whole groups of 256 bytes \(32 rows\) with room for rows 31 to 33, got 256 bytes/],
    ['native: threads 0', () => native.compactTopKAsync(new Float32Array(4), { dim: 4, rows: 1, bits: new Uint8Array(256) }, 1, 1, 0), RangeError, /threads must be a positive integer/],
  ])('%s', (_name, fn, type, message) => {
    expect(fn).toThrow(type);
    expect(fn).toThrow(message);
  });

  test('async search rejects bad arguments the same way', async () => {
    await expect(index.search(new Float32Array(16), -1)).rejects.toThrow(RangeError);
  });
});
