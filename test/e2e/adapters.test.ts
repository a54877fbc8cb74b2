// The framework adapters against the real frameworks: LangChain.js (@langchain/core's Embeddings, used by a
// MemoryVectorStore), the AI SDK (embed / embedMany from 'ai') and LlamaIndex.TS (@llamaindex/core's
// BaseEmbedding). Vectors must equal the Embedder's own.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EnsembleRetriever } from '@langchain/classic/retrievers/ensemble';
import { MemoryVectorStore } from '@langchain/classic/vectorstores/memory';
import { Document } from '@langchain/core/documents';
import { embed, embedMany } from 'ai';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { fastembedEmbeddingModel } from '../../src/adapters/ai.js';
import { FastembedEmbeddings, FastembedRetriever } from '../../src/adapters/langchain.js';
import { LexicalIndex } from '../../src/lexical/lexical-index.js';
import { SimilarityService } from '../../src/service/service.js';
import { FastembedEmbedding } from '../../src/adapters/llamaindex.js';
import { Embedder } from '../../src/engine/embedder.js';
import { cosineJs } from '../fixtures/cosine.js';
import { makeTinyModelDir } from '../fixtures/tiny-bert.js';
import { trainedManifest } from '../fixtures/trained.js';

const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fe-adapters-'));
const modelPath = makeTinyModelDir({ hidden: 32 });
// Prefixes as E5 uses them, so the tests can tell a query from a document.
const options = { modelPath, cacheDir, queryPrefix: 'query: ', passagePrefix: 'passage: ' };
let embedder: Embedder;

beforeAll(async () => {
  embedder = await Embedder.create(options);
});
afterAll(async () => {
  await embedder.close();
  for (const d of [cacheDir, modelPath]) fs.rmSync(d, { recursive: true, force: true });
});

const docs = ['The cat sat on the mat.', 'Stock markets fell sharply on Monday.', 'A recipe for apple pie.'];
const same = (a: ArrayLike<number>, b: ArrayLike<number>) => expect(cosineJs(a, b)).toBeGreaterThan(0.999999);

describe('fastembed-native/langchain', () => {
  test('embedDocuments adds the passage prefix, embedQuery the query instruction; vectors equal the Embedder\'s', async () => {
    const lc = new FastembedEmbeddings({ embedder: options });
    const vectors = await lc.embedDocuments(docs);
    expect(vectors).toHaveLength(3);
    expect(Array.isArray(vectors[0])).toBe(true);
    const expected = await embedder.embed(docs.map((d) => `passage: ${d}`));
    vectors.forEach((v, i) => same(v, expected[i]));
    const q = await lc.embedQuery('where is the cat?');
    same(q, (await embedder.embed(['query: where is the cat?']))[0]);
    await lc.close();
  });

  test('a shared Embedder is used as is and left open by close()', async () => {
    const lc = new FastembedEmbeddings({ embedder });
    same((await lc.embedDocuments(['x']))[0], await embedder.embedPassages(['x']).then((v) => v[0]));
    await lc.close();
    expect(embedder.closed).toBe(false);
  });

  test('bad input is a TypeError from the first attempt (no retries of a caller error)', async () => {
    const lc = new FastembedEmbeddings({ embedder });
    await expect(lc.embedDocuments('not an array' as unknown as string[])).rejects.toThrow(TypeError);
  });

  test('MemoryVectorStore ranks its documents by our vectors', async () => {
    const lc = new FastembedEmbeddings({ embedder });
    const store = await MemoryVectorStore.fromTexts(docs, docs.map((_, id) => ({ id })), lc);
    const hits = await store.similaritySearchWithScore(docs[1], 3);
    // The store's own cosine over our vectors, best first, and the top one is the document's own passage vector.
    const query = await lc.embedQuery(docs[1]);
    const passages = await lc.embedDocuments(docs);
    const ours = passages.map((p, id) => ({ id, score: cosineJs(query, p) })).sort((a, b) => b.score - a.score);
    expect(hits.map(([d]) => d.metadata.id)).toEqual(ours.map((o) => o.id));
    hits.forEach(([, score], i) => expect(score).toBeCloseTo(ours[i].score, 5));
  });

  const tickets = ['Login fails with ERR_CONN_RESET behind the proxy', 'The cat sat on the mat.', 'Stock markets fell sharply on Monday.', 'Payment page times out'];
  const documents = tickets.map((pageContent, id) => new Document({ pageContent, metadata: { id } }));

  test("FastembedRetriever 'lexical' is BM25 (no model needed) and sits in LangChain's EnsembleRetriever beside a vector store", async () => {
    const bm25 = FastembedRetriever.fromDocuments(documents, { mode: 'lexical', k: 2, service: { modelPath: path.join(cacheDir, 'no-model-here'), cacheDir } });
    const lexical = await bm25.invoke('err_conn_reset proxy');
    const hits = LexicalIndex.build(tickets).search('err_conn_reset proxy', 2);
    expect(lexical.map((d) => d.metadata.id)).toEqual(Array.from(hits.ids));
    expect(lexical[0].metadata).toMatchObject({ id: 0, method: 'bm25', score: hits.scores[0] });
    const store = await MemoryVectorStore.fromDocuments(documents, new FastembedEmbeddings({ embedder }));
    const ensemble = new EnsembleRetriever({ retrievers: [store.asRetriever(2), bm25], weights: [0.5, 0.5] });
    const fused = await ensemble.invoke('ERR_CONN_RESET');
    expect(fused[0].pageContent).toBe(tickets[0]);
    await bm25.close();
  });

  test("FastembedRetriever 'hybrid' (the default) fuses in one call; the part scores come in metadata", async () => {
    const service = await SimilarityService.create({ modelPath, cacheDir });
    const retriever = new FastembedRetriever({ documents, service, k: 3 });
    const got = await retriever.invoke('ERR_CONN_RESET');
    const expected = await service.findMostSimilar('ERR_CONN_RESET', tickets, 3, { mode: 'hybrid' });
    expect(got.map((d) => d.metadata.id)).toEqual(expected.map((m) => m.index));
    expect(got[0].metadata).toMatchObject({ id: 0, method: 'hybrid', scores: { lexical: expect.any(Number), dense: expect.any(Number) } });
    await retriever.close();
    // A service passed in stays open.
    expect((await service.findMostSimilar('cat', tickets, 1, { mode: 'lexical' }))[0].index).toBe(1);
    await service.close();
    expect(() => new FastembedRetriever({ documents: [{ pageContent: 3 } as unknown as Document] })).toThrow(/documents\[0\].pageContent must be a string/);
  });
});

const { manifest, reason } = trainedManifest();
const trained = manifest?.models.find((m) => m.precision === 'fp32' && m.recipe === 'all-MiniLM-L6-v2');
const why = reason ?? (!trained ? 'no fp32 all-MiniLM-L6-v2 among the trained models' : undefined);

describe.skipIf(why !== undefined)(`LangChain retrieval with trained all-MiniLM-L6-v2${why ? ` — skipped: ${why}` : ''}`, () => {
  test('each question finds its passage first', async () => {
    const lc = new FastembedEmbeddings({ embedder: { model: 'all-MiniLM-L6-v2', modelPath: trained!.dir, cacheDir } });
    const passages = [
      'The Eiffel Tower is a wrought-iron lattice tower in Paris, France.',
      'Photosynthesis converts light energy into chemical energy in plants.',
      'The stock exchange closed lower after the interest rate decision.',
      'Penguins are flightless birds that live in the Southern Hemisphere.',
    ];
    const questions = ['Which tower stands in Paris?', 'How do plants make energy from sunlight?', 'Why did the markets drop?', 'Which birds cannot fly?'];
    const store = await MemoryVectorStore.fromTexts(passages, passages.map((_, id) => ({ id })), lc);
    for (const [i, q] of questions.entries()) expect((await store.similaritySearch(q, 1))[0].metadata.id).toBe(i);
    await lc.close();
  });
});

describe('fastembed-native/ai', () => {
  test('embed and embedMany from the AI SDK: vectors equal the Embedder\'s, usage counts the real tokens', async () => {
    const model = fastembedEmbeddingModel(embedder);
    const many = await embedMany({ model, values: docs });
    expect(many.embeddings).toHaveLength(3);
    const expected = await embedder.embedPassages(docs);
    many.embeddings.forEach((v, i) => same(v, expected[i]));
    const tokens = (await embedder.countTokens(docs.map((d) => `passage: ${d}`))).reduce((a, b) => a + b, 0);
    expect(many.usage.tokens).toBe(tokens);

    const queries = fastembedEmbeddingModel(embedder, { input: 'query' });
    const one = await embed({ model: queries, value: 'where is the cat?' });
    same(one.embedding, await embedder.embedQuery('where is the cat?'));
  });

  test('an aborted call rejects; options are checked', async () => {
    const model = fastembedEmbeddingModel(options);
    const abort = new AbortController();
    abort.abort();
    await expect(embedMany({ model, values: docs, abortSignal: abort.signal, maxRetries: 0 })).rejects.toThrow(/abort/i);
    expect(() => fastembedEmbeddingModel(embedder, { input: 'passage' as 'query' })).toThrow(RangeError);
    await model.close();
  });
});

describe('fastembed-native/llamaindex', () => {
  test('text and batches get the passage prefix, queries the query instruction; LlamaIndex\'s own batching and similarity', async () => {
    const li = new FastembedEmbedding(embedder);
    const expected = await embedder.embedPassages(docs);
    same(await li.getTextEmbedding(docs[0]), expected[0]);
    // getTextEmbeddingsBatch is BaseEmbedding's: it chunks by embedBatchSize and calls our getTextEmbeddings.
    const batch = await li.getTextEmbeddingsBatch(docs);
    batch.forEach((v, i) => same(v, expected[i]));
    const q = await li.getQueryEmbedding({ type: 'text', text: 'where is the cat?' });
    same(q!, await embedder.embedQuery('where is the cat?'));
    expect(li.similarity(batch[0], batch[0])).toBeCloseTo(1, 5);
    expect(await li.getQueryEmbedding({ type: 'image_url', image_url: { url: 'https://example.invalid/x.png' } })).toBeNull();
    await li.close();
    expect(embedder.closed).toBe(false);
  });
});
