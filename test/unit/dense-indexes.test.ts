// DenseIndexes in the service: a large document set searched twice is answered from its compact index (int8 or sign
// bits, rescored on the fp32 rows) with the same documents and scores as fp32 search, embedding only the query;
// small sets, a zero budget and 'float32' keep nothing; a changed set is indexed anew. Also the config keys and the
// byte-weighted LRU under it. (Recall of the compact search itself: compact-vectors.test.ts.)
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { LruCache } from '../../src/cache/lru.js';
import { ConfigError, configFromEnv, loadConfigFile, resolveConfig } from '../../src/service/config.js';
import { SimilarityService } from '../../src/service/service.js';
import type { SimilarityConfig } from '../../src/service/config.js';
import { sentences } from '../fixtures/shared.js';
import { tempDirs } from '../fixtures/temp-dirs.js';
import { makeTinyModelDir } from '../fixtures/tiny-bert.js';

const tmp = tempDirs('fe-dense-');
const base = sentences(20);
const docs = Array.from({ length: 600 }, (_, i) => `${base[i % base.length].split(' ').slice(i % 5).join(' ')} (${i})`);
const queries = [base[3], 'a cat sits on the mat', base[11].split(' ').slice(0, 3).join(' ')];

let tinyDir: string;
const services: SimilarityService[] = [];
const open = async (config: Partial<SimilarityConfig>) => {
  const s = await SimilarityService.create({ modelPath: tinyDir, cacheDir: tmp(), searchIndexMinDocuments: 300, ...config });
  services.push(s);
  return s;
};
let exact: SimilarityService;
beforeAll(async () => {
  tinyDir = makeTinyModelDir({ hidden: 48 });
  exact = await open({ searchPrecision: 'float32' });
});
afterAll(async () => {
  for (const s of services) await s.close();
  fs.rmSync(tinyDir, { recursive: true, force: true });
});

describe('DenseIndexes in findMostSimilar', () => {
  for (const precision of ['int8', 'binary'] as const) {
    test(`${precision}: the same documents and scores as fp32 search; a repeat embeds only the query`, async () => {
      const service = await open({ searchPrecision: precision });
      for (const [i, query] of queries.entries()) {
        const all = new Map((await exact.findMostSimilar(query, docs, docs.length)).map((m) => [m.index, m.similarity]));
        for (const k of [1, 10, 600, 1000]) {
          const want = await exact.findMostSimilar(query, docs, k);
          const before = service.getStats();
          const got = await service.findMostSimilar(query, docs.slice(), k); // a copy: recognised by its texts
          // The same ranking up to ties: scores position by position, and each document's own fp32 score. (The
          // rescoring's dot product and fp32 search's cosine can differ in the last bits, so near-ties may swap.)
          expect(got).toHaveLength(want.length);
          got.forEach((m, j) => {
            expect(m.similarity).toBeCloseTo(want[j].similarity, 5);
            expect(m.similarity).toBeCloseTo(all.get(m.index)!, 5);
            expect(m).toMatchObject({ method: 'fastembed_cosine', text: docs[m.index], dimension: 48 });
          });
          expect(new Set(got.map((m) => m.index)).size).toBe(got.length);
          const after = service.getStats();
          const first = i === 0 && k === 1;
          expect(after.searchIndexes.builds - before.searchIndexes.builds).toBe(first ? 1 : 0);
          expect(after.searchIndexes.hits - before.searchIndexes.hits).toBe(first ? 0 : 1);
          // On a hit the cache sees the query alone, not the 600 documents.
          const lookups = (s: typeof after) => s.cache.hits + s.cache.misses;
          expect(lookups(after) - lookups(before)).toBe(first ? 601 : 1);
        }
      }
      const stats = service.getStats().searchIndexes;
      expect(stats).toMatchObject({ precision, sets: 1 });
      const rowBytes = 48 * 4 + (precision === 'int8' ? 48 + 4 : 8);
      expect(stats.bytes).toBeGreaterThanOrEqual(600 * rowBytes);
      expect(stats.bytes).toBeLessThan(2 * 600 * rowBytes);
      await service.clearCache();
      expect(service.getStats().searchIndexes).toMatchObject({ sets: 0, bytes: 0 });
    });
  }

  test('a changed set is indexed anew and its new text can win', async () => {
    const service = await open({ searchPrecision: 'int8' });
    await service.findMostSimilar(queries[0], docs, 5);
    const changed = docs.slice();
    changed[123] = queries[1];
    const got = await service.findMostSimilar(queries[1], changed, 3);
    expect(got[0]).toMatchObject({ index: 123, text: queries[1] });
    expect(got[0].similarity).toBeCloseTo(1, 5);
    const want = await exact.findMostSimilar(queries[1], changed, 3);
    got.forEach((m, j) => expect(m.similarity).toBeCloseTo(want[j].similarity, 5));
    expect(service.getStats().searchIndexes).toMatchObject({ sets: 2, builds: 2, hits: 0 });
  });

  test("small sets, a zero budget and 'float32' keep nothing", async () => {
    const small = await open({ searchPrecision: 'int8', searchIndexMinDocuments: 601 });
    const none = await open({ searchPrecision: 'int8', searchIndexMb: 0 });
    for (const service of [small, none, exact]) {
      await service.findMostSimilar(queries[0], docs, 5);
      await service.findMostSimilar(queries[0], docs, 5);
      expect(service.getStats().searchIndexes).toMatchObject({ sets: 0, bytes: 0, hits: 0, builds: 0 });
    }
  });
});

describe('config and the weighted LRU', () => {
  test('file keys, env vars and their checks', () => {
    const file = path.join(tmp(), 'config.json');
    fs.writeFileSync(file, JSON.stringify({ fastembed: { search_precision: 'binary', search_index_min_documents: 5000, search_index_mb: 64 } }));
    expect(loadConfigFile(file)).toMatchObject({ searchPrecision: 'binary', searchIndexMinDocuments: 5000, searchIndexMb: 64 });
    const env = { FASTEMBED_SEARCH_PRECISION: 'float32', FASTEMBED_SEARCH_INDEX_MIN_DOCUMENTS: '20000', FASTEMBED_SEARCH_INDEX_MB: '0' };
    expect(configFromEnv(env)).toMatchObject({ searchPrecision: 'float32', searchIndexMinDocuments: 20000, searchIndexMb: 0 });
    expect(resolveConfig({})).toMatchObject({ searchPrecision: 'int8', searchIndexMinDocuments: 10_000, searchIndexMb: 256 });
    let err: ConfigError | undefined;
    try {
      resolveConfig({ searchPrecision: 'fp16' as never, searchIndexMinDocuments: 0, searchIndexMb: -1 });
    } catch (e) {
      err = e as ConfigError;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect(err!.message).toMatch(/searchPrecision: must be 'float32', 'int8' or 'binary', got "fp16"/);
    expect(err!.message).toMatch(/searchIndexMinDocuments: must be an integer from 1/);
    expect(err!.message).toMatch(/searchIndexMb: must be an integer from 0/);
  });

  test('LruCache with weights: evicts the least recent past maxWeight, never keeps an entry heavier than it', () => {
    const lru = new LruCache<number[]>(10, 0, { maxWeight: 10, weigh: (v) => v.length });
    expect(lru.set('a', [1, 2, 3, 4])).toBe(true);
    expect(lru.set('b', [1, 2, 3, 4])).toBe(true);
    expect(lru.get('a')).toHaveLength(4); // a is now the most recent
    expect(lru.set('c', [1, 2, 3])).toBe(true); // 11 > 10: b goes
    expect([lru.get('a') !== undefined, lru.get('b') !== undefined, lru.get('c') !== undefined]).toEqual([true, false, true]);
    expect(lru.weight).toBe(7);
    expect(lru.set('d', new Array(11).fill(0))).toBe(false);
    expect([lru.size, lru.weight, lru.get('d')]).toEqual([2, 7, undefined]);
    expect(lru.set('a', [1])).toBe(true); // replacing an entry replaces its weight
    expect(lru.weight).toBe(4);
    lru.clear();
    expect([lru.size, lru.weight]).toEqual([0, 0]);
  });
});
