// Search modes of SimilarityService: 'lexical' is the LexicalIndex's BM25 ranking (without a model), 'hybrid' the
// fusion of the service's own cosines with it (checked against fuse() by hand), bad options refused, the default
// unchanged, and BM25 as the fallback ranking. (Quality on SciFact: test/quality.)
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { LexicalIndex } from '../../src/lexical/lexical-index.js';
import { fuse } from '../../src/service/hybrid.js';
import { SimilarityService } from '../../src/service/service.js';
import { sentences as realSentences } from '../fixtures/shared.js';
import { makeTinyModelDir } from '../fixtures/tiny-bert.js';

const dirs: string[] = [];
const tmp = (p: string) => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), p));
  dirs.push(d);
  return d;
};
const docs = realSentences(40);
const query = `${docs[7].split(' ').slice(0, 4).join(' ')} ${docs[21].split(' ').slice(-3).join(' ')}`;

let tinyDir: string;
let service: SimilarityService;
beforeAll(async () => {
  tinyDir = makeTinyModelDir({ hidden: 32 });
  dirs.push(tinyDir);
  service = await SimilarityService.create({ modelPath: tinyDir, cacheDir: tmp('fe-modes-') });
});
afterAll(async () => {
  await service.close();
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

describe('search modes', () => {
  test("mode 'lexical' is LexicalIndex's ranking: the documents that share a term with the query", async () => {
    const got = await service.findMostSimilar(query, docs, docs.length, { mode: 'lexical' });
    const hits = LexicalIndex.build(docs).search(query, docs.length);
    expect(hits.ids.length).toBeGreaterThan(1);
    expect(hits.ids.length).toBeLessThan(docs.length);
    expect(got.map((m) => m.index)).toEqual(Array.from(hits.ids));
    got.forEach((m, i) => expect(m.similarity).toBeCloseTo(hits.scores[i], 12));
    expect(await service.findMostSimilar('zebra xylophone', docs, 5, { mode: 'lexical' })).toEqual([]);
    expect(got[0]).toMatchObject({ method: 'bm25', model: 'bm25', dimension: 0, text: docs[got[0].index] });
  });

  test("mode 'hybrid' fuses the service's cosines with BM25 (weighted, alpha 0.7 by default, or RRF), parts in scores", async () => {
    const dense = (await service.computeMultipleSimilarities(query, docs)).map((m) => m.similarity);
    const lexical = new Float64Array(docs.length);
    const hits = LexicalIndex.build(docs).search(query, docs.length);
    hits.ids.forEach((id, i) => (lexical[id] = hits.scores[i]));
    for (const options of [{}, { rrfK: 5 }, { alpha: 0.3 }]) {
      const expected = fuse(dense, lexical, options);
      const order = Array.from(expected.keys()).sort((a, b) => expected[b] - expected[a] || a - b);
      const got = await service.findMostSimilar(query, docs, 10, { mode: 'hybrid', ...options });
      expect(got.map((m) => m.index)).toEqual(order.slice(0, 10));
      for (const m of got) {
        expect(m.method).toBe('hybrid');
        expect(m.similarity).toBeCloseTo(expected[m.index], 6);
        expect(m.scores!.dense).toBeCloseTo(dense[m.index], 6);
        expect(m.scores!.lexical).toBeCloseTo(lexical[m.index], 12);
      }
    }
    // By hand for the best document: 0.7 × its min-max-normalised cosine + 0.3 × its normalised BM25 score; RRF
    // (rrfK 60): 1/(60 + its dense rank) + 1/(60 + its lexical rank).
    const norm = (xs: ArrayLike<number>, x: number) => (x - Math.min(...Array.from(xs))) / (Math.max(...Array.from(xs)) - Math.min(...Array.from(xs)));
    const top = (await service.findMostSimilar(query, docs, 1, { mode: 'hybrid' }))[0];
    expect(top.similarity).toBeCloseTo(0.7 * norm(dense, dense[top.index]) + 0.3 * norm(lexical, lexical[top.index]), 6);
    const topRrf = (await service.findMostSimilar(query, docs, 1, { mode: 'hybrid', rrfK: 60 }))[0];
    const denseRank = 1 + dense.filter((s, i) => s > dense[topRrf.index] || (s === dense[topRrf.index] && i < topRrf.index)).length;
    const lexRank = Array.from(hits.ids).indexOf(topRrf.index) + 1;
    expect(topRrf.similarity).toBeCloseTo(1 / (60 + denseRank) + (lexRank > 0 ? 1 / (60 + lexRank) : 0), 12);
  });

  test('a documents array changed in place is indexed again; an equal one parsed anew is recognised', async () => {
    const mine = [...docs];
    const before = await service.findMostSimilar(query, mine, 3, { mode: 'lexical' });
    const best = before[0].index;
    mine[best] = 'an unrelated sentence about weather';
    const after = await service.findMostSimilar(query, mine, 3, { mode: 'lexical' });
    expect(after.map((m) => m.index)).not.toContain(best);
    expect(after).toEqual((await service.findMostSimilar(query, JSON.parse(JSON.stringify(mine)) as string[], 3, { mode: 'lexical' })));
    expect(after.map((m) => m.index)).toEqual(Array.from(LexicalIndex.build(mine).search(query, 3).ids));
  });

  test('searchPage pages the same ranking in every mode', async () => {
    for (const mode of ['dense', 'lexical', 'hybrid'] as const) {
      const all = await service.findMostSimilar(query, docs, docs.length, { mode });
      const page = await service.searchPage(query, docs, 2, 3, { mode });
      expect(page).toMatchObject({ page: 2, pageSize: 3, total: all.length, totalPages: Math.ceil(all.length / 3) });
      expect(page.results.map((m) => m.index)).toEqual(all.slice(3, 6).map((m) => m.index));
    }
  });

  test('without mode, results are exactly as before (no scores field, cosine method)', async () => {
    const got = await service.findMostSimilar(query, docs, 3);
    expect(got.every((m) => m.method === 'fastembed_cosine' && !('scores' in m))).toBe(true);
  });

  test('bad mode, rrfK, alpha: a RangeError that says what to pass', async () => {
    expect(() => service.findMostSimilar(query, docs, 3, { mode: 'sparse' as 'dense' })).toThrow(/mode must be one of 'dense', 'lexical', 'hybrid'/);
    for (const rrfK of [NaN, -1, Infinity]) expect(() => service.findMostSimilar(query, docs, 3, { mode: 'hybrid', rrfK })).toThrow(/rrfK must be/);
    for (const alpha of [NaN, -0.5, 2]) expect(() => service.findMostSimilar(query, docs, 3, { mode: 'hybrid', alpha })).toThrow(/alpha must be/);
    expect(() => service.findMostSimilar(query, docs, 3, { mode: 'hybrid', alpha: 0.5, rrfK: 60 })).toThrow(/not both/);
    await expect(service.findMostSimilar(query, docs, 3, { mode: 'lexical', lexical: { k1: -1 } })).rejects.toThrow(RangeError);
    expect(() => service.filterBySimilarity(query, docs, 0.5, { mode: 'hybrid' })).toThrow(/rank with findMostSimilar or searchPage/);
  });

  test("fallbackRanking 'bm25': a degraded search ranks by BM25, marked bm25_fallback; pairs stay Jaccard", async () => {
    const broken = tmp('fe-broken-');
    fs.copyFileSync(path.join(tinyDir, 'tokenizer.json'), path.join(broken, 'tokenizer.json'));
    fs.writeFileSync(path.join(broken, 'model.onnx'), 'garbage');
    const s = await SimilarityService.create({ modelPath: broken, cacheDir: tmp('fe-modes-'), fallback: true, fallbackRanking: 'bm25' });
    const top = await s.findMostSimilar(query, docs, 3);
    const hits = LexicalIndex.build(docs).search(query, 3);
    expect(top.map((m) => [m.index, m.method, m.model])).toEqual(Array.from(hits.ids, (id) => [id, 'bm25_fallback', 'bm25']));
    expect((await s.searchPage(query, docs, 1, 3, { mode: 'hybrid' })).results.map((m) => m.method)).toEqual(['bm25_fallback', 'bm25_fallback', 'bm25_fallback']);
    expect((await s.computeSimilarity('the cat sat', 'the cat ran')).method).toBe('jaccard_fallback');
    // Lexical search needs no model: it answers as BM25 proper, not as a fallback.
    expect((await s.findMostSimilar(query, docs, 1, { mode: 'lexical' }))[0].method).toBe('bm25');
    expect(s.getStats().fallbackCount).toBe(3);
    await s.close();
  });
});
