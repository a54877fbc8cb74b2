// SimilarityService end to end on real models: every method, cache (with restart persistence), micro-batching,
// fallback on forced failures and timeouts, and bad input.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { Embedder } from '../../src/engine/embedder.js';
import { SimilarityService } from '../../src/service/service.js';
import { ClosedError } from '../../src/util/errors.js';
import { cosineJs } from '../fixtures/reference.js';
import { fullSizeModel, needsFullSize, sentences as realSentences } from '../fixtures/shared.js';
import { makeTinyModelDir } from '../fixtures/tiny-bert.js';

const tmp = (p: string) => fs.mkdtempSync(path.join(os.tmpdir(), p));
const cacheDir = tmp('fe-svc-cache-');
// Distinct sentences, so counts of embedded texts are exact.
const sentences = realSentences(60);

let tinyDir: string;
let service: SimilarityService;
beforeAll(async () => {
  tinyDir = makeTinyModelDir({ hidden: 32 });
  service = await SimilarityService.create({ modelPath: tinyDir, cacheDir });
});
afterAll(() => service.close());

describe('methods', () => {
  test('computeEmbedding returns a unit vector of the model dimension', async () => {
    const v = await service.computeEmbedding('hello world');
    expect(v.length).toBe(32);
    expect(cosineJs(v, v)).toBeCloseTo(1, 5);
  });

  test('computeSimilarity is the cosine of the two embeddings, with method/model/dimension', async () => {
    const [a, b] = await service.computeBatchEmbeddings([sentences[0], sentences[1]]);
    const r = await service.computeSimilarity(sentences[0], sentences[1]);
    expect(r.method).toBe('fastembed_cosine');
    // A bare modelPath is a custom model named after its folder, never silently labelled (and keyed) as a registry model.
    expect(r.model).toBe(path.basename(tinyDir));
    expect(r.dimension).toBe(32);
    expect(r.similarity).toBeCloseTo(cosineJs(a, b), 5);
    expect((await service.computeSimilarity('same text', 'same text')).similarity).toBeCloseTo(1, 5);
    // Naming a registry model applies its recipe (and label) to the files.
    const named = await SimilarityService.create({ model: 'all-MiniLM-L6-v2', modelPath: tinyDir, cacheDir });
    expect((await named.computeSimilarity('a', 'b')).model).toBe('all-MiniLM-L6-v2');
    await named.close();
  });

  test('findMostSimilar ranks like a brute-force JS ranking, best first; huge k returns all', async () => {
    const docs = sentences.slice(0, 30);
    const query = sentences[40];
    const [q, ...vs] = await service.computeBatchEmbeddings([query, ...docs]);
    const expected = vs.map((v, i) => ({ i, s: cosineJs(q, v) })).sort((a, b) => b.s - a.s || a.i - b.i);
    const top = await service.findMostSimilar(query, docs, 5);
    expect(top.map((m) => m.index)).toEqual(expected.slice(0, 5).map((e) => e.i));
    top.forEach((m) => {
      expect(m.text).toBe(docs[m.index]);
      expect(m.method).toBe('fastembed_cosine');
      expect(m.similarity).toBeCloseTo(expected.find((e) => e.i === m.index)!.s, 5);
    });
    const all = await service.findMostSimilar(query, docs, 1000);
    expect(all).toHaveLength(30);
    expect(await service.findMostSimilar(query, [], 5)).toEqual([]);
  });

  test('computeMultipleSimilarities keeps document order; filterBySimilarity and searchPage agree with it', async () => {
    const docs = sentences.slice(0, 25);
    const all = await service.computeMultipleSimilarities(sentences[50], docs);
    expect(all.map((m) => m.index)).toEqual(docs.map((_, i) => i));
    const ranked = [...all].sort((a, b) => b.similarity - a.similarity || a.index - b.index);
    const threshold = ranked[9].similarity;
    const filtered = await service.filterBySimilarity(sentences[50], docs, threshold);
    expect(filtered.map((m) => m.index)).toEqual(ranked.filter((m) => m.similarity >= threshold).map((m) => m.index));
    const page2 = await service.searchPage(sentences[50], docs, 2, 10);
    expect(page2).toMatchObject({ page: 2, pageSize: 10, total: 25, totalPages: 3 });
    expect(page2.results.map((m) => m.index)).toEqual(ranked.slice(10, 20).map((m) => m.index));
    expect((await service.searchPage(sentences[50], docs, 4, 10)).results).toEqual([]);
  });

  test('bad input: TypeError / RangeError with the argument named', async () => {
    expect(() => service.computeEmbedding(42 as never)).toThrow(/text must be a string, got number/);
    expect(() => service.computeSimilarity('a', null as never)).toThrow(/text2 must be a string, got null/);
    expect(() => service.findMostSimilar('q', ['a', 7] as never, 2)).toThrow(/documents\[1\] must be a string/);
    for (const k of [0, -1, 1.5, Number.NaN, '3']) {
      expect(() => service.findMostSimilar('q', ['a'], k as never)).toThrow(RangeError);
    }
    expect(() => service.filterBySimilarity('q', ['a'], 2)).toThrow(/threshold must be a number from -1 to 1/);
    await expect(service.searchPage('q', ['a'], 0)).rejects.toThrow(/page must be a positive integer/);
  });

  test('an aborted call rejects with AbortError and caches nothing', async () => {
    const before = service.getStats().cache.size;
    const ac = new AbortController();
    ac.abort();
    await expect(service.computeEmbedding('never embedded text 1', { signal: ac.signal })).rejects.toMatchObject({ name: 'AbortError' });
    expect(service.getStats().cache.size).toBe(before);
  });
});

describe('one recipe everywhere', () => {
  test('search embeds the query with the query prefix and documents with the passage prefix, exactly as Embedder does; pooling and prefixes reach a custom model', async () => {
    const recipe = { pooling: 'cls' as const, queryPrefix: 'query: ', passagePrefix: 'passage: ' };
    const service = await SimilarityService.create({ modelPath: tinyDir, cacheDir, ...recipe });
    const embedder = await Embedder.create({ modelPath: tinyDir, cacheDir, ...recipe });
    const docs = sentences.slice(0, 8);
    const q = await embedder.embedQuery(sentences[9]);
    const d = await embedder.embedPassages(docs);
    const expected = d.map((v) => cosineJs(q, v));
    const got = await service.computeMultipleSimilarities(sentences[9], docs);
    got.forEach((m, i) => expect(m.similarity).toBeCloseTo(expected[i], 5));
    const top = await service.findMostSimilar(sentences[9], docs, 3);
    expect(top.map((m) => m.index)).toEqual(expected.map((s, i) => [s, i]).sort((a, b) => b[0] - a[0]).slice(0, 3).map(([, i]) => i));
    // and the prefixes matter: without them the scores differ
    const plain = await SimilarityService.create({ modelPath: tinyDir, cacheDir, pooling: 'cls' });
    const unprefixed = await plain.computeMultipleSimilarities(sentences[9], docs);
    expect(unprefixed.some((m, i) => Math.abs(m.similarity - expected[i]) > 1e-3)).toBe(true);
    // pooling reached the model too: CLS and mean give different vectors
    const mean = await SimilarityService.create({ modelPath: tinyDir, cacheDir });
    expect(cosineJs(await mean.computeEmbedding(docs[0]), await service.computeEmbedding(docs[0]))).toBeLessThan(0.9999);
    await Promise.all([service.close(), embedder.close(), plain.close(), mean.close()]);
  });

  test("computeSimilarity gives both texts the model's symmetric prefix (e5: 'query: ' on both sides)", async () => {
    const e5 = await SimilarityService.create({ model: 'e5-small-v2', modelPath: tinyDir, cacheDir });
    const embedder = await Embedder.create({ model: 'e5-small-v2', modelPath: tinyDir, cacheDir });
    expect(embedder.symmetricPrefix).toBe('query: ');
    const [a, b] = [sentences[0], sentences[1]];
    const [va, vb, pa, pb] = await embedder.embed([`query: ${a}`, `query: ${b}`, a, b]);
    const r = await e5.computeSimilarity(a, b);
    expect(r.similarity).toBeCloseTo(cosineJs(va, vb), 5);
    expect(Math.abs(r.similarity - cosineJs(pa, pb))).toBeGreaterThan(1e-4);
    expect(e5.modelInfo).toMatchObject({ id: 'e5-small-v2', symmetricPrefix: 'query: ', queryPrefix: 'query: ', passagePrefix: 'passage: ' });
    await Promise.all([e5.close(), embedder.close()]);
  });
});

describe('cache', () => {
  test('hits and misses are real counts; clearCache empties it', async () => {
    const s = await SimilarityService.create({ modelPath: tinyDir, cacheDir });
    await s.computeEmbedding('cache me');
    await s.computeEmbedding('cache me');
    await s.computeBatchEmbeddings(['cache me', 'and me']);
    const st = s.getStats().cache;
    expect(st).toMatchObject({ hits: 2, misses: 2, size: 2, enabled: true });
    expect(st.hitRate).toBeCloseTo(0.5);
    expect(s.getStats().textsEmbedded).toBe(2);
    await s.clearCache();
    expect(s.getStats().cache).toMatchObject({ size: 0, hits: 0, misses: 0 });
    await s.close();
  });

  test('the disk cache survives a restart, and keys include the model id', async () => {
    const diskCachePath = tmp('fe-l2-');
    const first = await SimilarityService.create({ modelPath: tinyDir, cacheDir, diskCachePath });
    const v1 = await first.computeEmbedding('persist me');
    await first.close();

    const second = await SimilarityService.create({ modelPath: tinyDir, cacheDir, diskCachePath });
    const v2 = await second.computeEmbedding('persist me');
    expect(Array.from(v2)).toEqual(Array.from(v1));
    expect(second.getStats()).toMatchObject({ textsEmbedded: 0, cache: { l2Hits: 1, l2: 'disk' } });
    await second.close();

    // Same files under another recipe (model id): must not see the first model's vectors.
    const other = await SimilarityService.create({ model: 'bge-small-en-v1.5', modelPath: tinyDir, cacheDir, diskCachePath });
    await other.computeEmbedding('persist me');
    expect(other.getStats()).toMatchObject({ textsEmbedded: 1, cache: { l2Hits: 0 } });
    await other.clearCache();
    await other.close();

    const third = await SimilarityService.create({ modelPath: tinyDir, cacheDir, diskCachePath });
    await third.computeEmbedding('persist me');
    expect(third.getStats()).toMatchObject({ textsEmbedded: 1, cache: { l2Hits: 0 } }); // clearCache emptied L2 too
    await third.close();
  });

  test('two different models labelled with the same id share a disk cache without ever getting each other\'s vectors', async () => {
    const diskCachePath = tmp('fe-l2-shared-');
    const otherDir = makeTinyModelDir({ hidden: 32, seed: 99 }); // same shape and id, other weights
    const a = await SimilarityService.create({ model: 'all-MiniLM-L6-v2', modelPath: tinyDir, cacheDir, diskCachePath });
    const va = await a.computeEmbedding('shared text');
    await a.close();
    const b = await SimilarityService.create({ model: 'all-MiniLM-L6-v2', modelPath: otherDir, cacheDir, diskCachePath });
    const vb = await b.computeEmbedding('shared text');
    expect(b.getStats().cache).toMatchObject({ hits: 0, misses: 1 });
    await b.close();
    const direct = await SimilarityService.create({ model: 'all-MiniLM-L6-v2', modelPath: otherDir, cacheDir, enableCache: false });
    expect(Array.from(vb)).toEqual(Array.from(await direct.computeEmbedding('shared text')));
    expect(cosineJs(va, vb)).toBeLessThan(0.999);
    await direct.close();
    fs.rmSync(otherDir, { recursive: true, force: true });
  });

  test('a caller that writes into a returned vector cannot poison the cache', async () => {
    const service = await SimilarityService.create({ modelPath: tinyDir, cacheDir });
    const first = await service.computeEmbedding('do not poison me');
    const original = Array.from(first);
    first.fill(0);
    const cached = await service.computeEmbedding('do not poison me');
    expect(service.getStats().cache.hits).toBe(1);
    expect(Array.from(cached)).toEqual(original);
    cached.fill(0);
    expect(Array.from(await service.computeEmbedding('do not poison me'))).toEqual(original);
    await service.close();
  });

  test('preload warms the cache', async () => {
    const s = await SimilarityService.create({ modelPath: tinyDir, cacheDir });
    expect(await s.preload(sentences.slice(0, 10))).toBe(10);
    await s.findMostSimilar(sentences[0], sentences.slice(1, 10), 3);
    expect(s.getStats().cache.hits).toBe(10);
    await s.close();
  });

  test('preload reads an iterable or a Readable in chunks, one chunk ahead, and caches every text', async () => {
    const s = await SimilarityService.create({ modelPath: tinyDir, cacheDir, enableCache: true });
    const texts = sentences.slice(0, 25).map((t, i) => `preload stream ${i}: ${t}`);
    let read = 0;
    let maxAhead = 0;
    const progress: number[] = [];
    function* source() {
      for (const t of texts) {
        read++;
        maxAhead = Math.max(maxAhead, read - (progress.at(-1) ?? 0));
        yield t;
      }
    }
    expect(await s.preload(source(), { chunkSize: 4, onProgress: (n) => progress.push(n) })).toBe(25);
    expect(progress).toEqual([4, 8, 12, 16, 20, 24, 25]);
    expect(maxAhead).toBeLessThanOrEqual(2 * 4 + 1); // the chunk embedding, the chunk being read, and one text
    const before = s.getStats().cache.hits;
    await s.findMostSimilar('a query that was not preloaded', texts, 3);
    expect(s.getStats().cache.hits - before).toBe(25);

    const more = sentences.slice(25, 31);
    expect(await s.preload(Readable.from(more), { chunkSize: 4 })).toBe(6);
    await expect(s.preload((async function* () { yield 'fine'; yield 42 as unknown as string; })())).rejects.toThrow(/texts item 1 must be a string, got number/);
    await expect(s.preload(12 as unknown as string[])).rejects.toThrow(TypeError);
    const controller = new AbortController();
    controller.abort();
    await expect(s.preload(source(), { chunkSize: 4, signal: controller.signal })).rejects.toThrow(/abort/i);
    await s.close();
  });
});

describe.skipIf(!fullSizeModel)(`bounded, fair, cancellable work${needsFullSize}`, () => {
  const bulk = Array.from({ length: 600 }, (_, i) => `bulk document ${i}: ${sentences[i % sentences.length]}`);

  /** A real Embedder whose embed calls are watched: texts done so far across calls, and every call's promise. */
  async function watchedEmbedder() {
    const embedder = await Embedder.create({ model: 'all-MiniLM-L6-v2', modelPath: fullSizeModel!, cacheDir });
    const embed = embedder.embed.bind(embedder);
    const doneBy: number[] = [];
    const calls: Promise<unknown>[] = [];
    embedder.embed = (texts, options = {}) => {
      const id = doneBy.push(0) - 1;
      const call = embed(texts, { ...options, onProgress: (n) => (doneBy[id] = n) });
      calls.push(call);
      return call;
    };
    return { embedder, done: () => doneBy.reduce((a, b) => a + b, 0), calls };
  }

  test('a one-sentence query is served between the batches of a bulk request, not after all of them', async () => {
    const w = await watchedEmbedder();
    const s = await SimilarityService.create({ cacheDir, enableCache: false }, { embedder: w.embedder });
    const big = s.computeBatchEmbeddings(bulk);
    await new Promise((r) => setImmediate(r)); // the bulk request is queued first
    await s.computeSimilarity('a short query', 'another one');
    const bulkDoneWhenQueryAnswered = w.done() - 2;
    await big;
    expect(w.done()).toBe(bulk.length + 2);
    expect(bulkDoneWhenQueryAnswered).toBeLessThan(bulk.length / 4);
    await s.close();
    await w.embedder.close();
  });

  test('a timed-out bulk request stops: batches that had not run are dropped, not computed for nobody', async () => {
    const w = await watchedEmbedder();
    const s = await SimilarityService.create({ cacheDir, enableCache: false, timeout: 300, fallback: false }, { embedder: w.embedder });
    await expect(s.computeBatchEmbeddings(bulk)).rejects.toThrow(/longer than the 300 ms timeout/);
    await Promise.allSettled(w.calls); // every batch has now either run or been dropped
    expect(w.done()).toBeLessThan(bulk.length / 2);
    await s.close();
    await w.embedder.close();
  });
});

describe('micro-batching', () => {
  test('100 concurrent computeEmbedding calls are coalesced into a few batches with correct results', async () => {
    const s = await SimilarityService.create({ modelPath: tinyDir, cacheDir, enableCache: false, batchWindowMs: 5 });
    const texts = sentences.slice(0, 50).concat(sentences.slice(0, 50)); // 100 calls, 50 distinct
    const vectors = await Promise.all(texts.map((t) => s.computeEmbedding(t)));
    const { microBatches, textsEmbedded } = s.getStats();
    expect(microBatches.requests).toBe(100);
    expect(microBatches.batches).toBeLessThanOrEqual(3);
    expect(textsEmbedded).toBe(50);
    const direct = await s.computeBatchEmbeddings(texts.slice(0, 5));
    direct.forEach((v, i) => expect(cosineJs(v, vectors[i])).toBeGreaterThanOrEqual(0.99999));
    await s.close();
  });
});

describe('fallback', () => {
  test('a model that cannot load leaves the service degraded, answering with Jaccard', async () => {
    const broken = tmp('fe-broken-');
    fs.copyFileSync(path.join(tinyDir, 'tokenizer.json'), path.join(broken, 'tokenizer.json'));
    fs.writeFileSync(path.join(broken, 'model.onnx'), 'garbage');
    const s = await SimilarityService.create({ modelPath: broken, cacheDir, fallback: true });
    const r = await s.computeSimilarity('the cat sat', 'the cat ran');
    expect(r).toEqual({ similarity: 0.5, method: 'jaccard_fallback', model: 'jaccard', dimension: 0 });
    const top = await s.findMostSimilar('the cat', ['a dog', 'the cat', 'cat food'], 2);
    expect(top.map((m) => [m.index, m.method])).toEqual([[1, 'jaccard_fallback'], [2, 'jaccard_fallback']]);
    await expect(s.computeEmbedding('x')).rejects.toMatchObject({ code: 'ERR_MODEL_UNAVAILABLE' });
    const stats = s.getStats();
    expect(stats).toMatchObject({ status: 'degraded', initialized: false, fallbackCount: 2, errors: 1 });
    expect(stats.reasons[0]).toMatch(/model unavailable: Loading model .* failed/);
    await s.close();
  });

  test('by default (no fallback asked for) the failure propagates: a library caller never gets Jaccard scores unasked', async () => {
    const broken = tmp('fe-broken-');
    fs.copyFileSync(path.join(tinyDir, 'tokenizer.json'), path.join(broken, 'tokenizer.json'));
    fs.writeFileSync(path.join(broken, 'model.onnx'), 'garbage');
    await expect(SimilarityService.create({ modelPath: broken, cacheDir })).rejects.toThrow(/Loading model/);
    const s = new SimilarityService({ modelPath: broken, cacheDir });
    await expect(s.computeSimilarity('the cat sat', 'the cat ran')).rejects.toMatchObject({ code: 'ERR_MODEL_UNAVAILABLE' });
    await s.close();
  });

  test('an inference error mid-run falls back, is reported in health, and clears on the next success', async () => {
    // A model with a 200-token vocabulary: real tokenizer ids above 200 make ORT fail inside Run().
    const small = makeTinyModelDir({ hidden: 16, vocab: 200 });
    const s = await SimilarityService.create({ modelPath: small, cacheDir, fallback: true, enableCache: false });
    const r = await s.computeSimilarity('elephant symphony', 'quantum elephant');
    expect(r.method).toBe('jaccard_fallback');
    expect(s.health().status).toBe('degraded');
    expect(s.health().reasons.join()).toMatch(/last embedding failed: ONNX Runtime failed to run the batch/);
    const ok = await s.computeSimilarity('', ''); // [CLS][SEP] only: ids 101/102 are inside the vocabulary
    expect(ok.method).toBe('fastembed_cosine');
    expect(s.health().status).toBe('healthy');
    await s.close();
  });

  test.skipIf(!fullSizeModel)(`a timeout answers with the fallback; the late result is still cached whole${needsFullSize}`, async () => {
    const s = await SimilarityService.create({ model: 'all-MiniLM-L6-v2', modelPath: fullSizeModel!, cacheDir, fallback: true, timeout: 1 });
    // Few enough characters to be micro-batched (a call of its own would be cancelled at the timeout instead).
    const docs = sentences.slice(0, 40).filter((_, i, all) => all.slice(0, i + 1).join('').length < 1_500);
    expect(docs.length).toBeGreaterThan(5);
    const top = await s.findMostSimilar(sentences[45], docs, 3);
    expect(top.every((m) => m.method === 'jaccard_fallback')).toBe(true);
    expect(s.getStats().fallbackCount).toBe(1);
    expect(s.health().reasons.join()).toMatch(/timeout/);
    // The batch finishes in the background and is cached whole.
    await vi.waitFor(() => expect(s.getStats().cache.size).toBe(new Set([sentences[45], ...docs]).size), { timeout: 30_000, interval: 50 });
    await s.close();
  });
});

describe('lifecycle', () => {
  test('close() lets the calls already running finish with real answers, and refuses new ones at once', async () => {
    const s = await SimilarityService.create({ modelPath: tinyDir, cacheDir, enableCache: false, maxBatchTexts: 4 });
    const running = sentences.slice(0, 40).map((t, i) => s.computeSimilarity(t, sentences[(i + 1) % 40]));
    const closing = s.close();
    await expect(s.computeSimilarity('new', 'call')).rejects.toThrow(ClosedError);
    const results = await Promise.all(running);
    expect(results.every((r) => r.method === 'fastembed_cosine')).toBe(true);
    await closing;
    expect(s.getStats().status).toBe('closed');
  });

  test('calls after close() fail clearly; close is idempotent', async () => {
    const s = await SimilarityService.create({ modelPath: tinyDir, cacheDir });
    await s.close();
    await s.close();
    await expect(s.computeSimilarity('a', 'b')).rejects.toThrow(ClosedError);
    await expect(s.computeSimilarity('a', 'b')).rejects.toThrow(/SimilarityService is closed/);
    expect(s.getStats().status).toBe('closed');
  });

  test('enabled: false serves Jaccard only', async () => {
    const s = await SimilarityService.create({ enabled: false, cacheDir });
    expect((await s.computeSimilarity('a b', 'a')).method).toBe('jaccard_fallback');
    expect(s.health().reasons[0]).toMatch(/disabled in the configuration/);
    await s.close();
  });
});
