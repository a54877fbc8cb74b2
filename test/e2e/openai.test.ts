// The OpenAI-compatible API driven by the official `openai` client and LangChain's OpenAIEmbeddings, pointed at a
// real server on loopback: what they send (base64 by default, token ids, dimensions) and how they read errors.
import { OpenAIEmbeddings } from '@langchain/openai';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { buildServer } from '../../src/http/server.js';
import type { ModelSet } from '../../src/service/model-set.js';
import { SimilarityService } from '../../src/service/service.js';
import { cosineJs } from '../fixtures/cosine.js';
import { startTinyServer, type TinyServer } from '../fixtures/tiny-server.js';
import { agreement, loadReference, trainedManifest } from '../fixtures/trained.js';

const KEY = 'sk-test-key-0123456789';
let server: TinyServer;
let models: ModelSet;
let baseURL: string;
let idA: string;
let idB: string;

beforeAll(async () => {
  server = await startTinyServer({}, { apiKeys: [KEY] }, [32, 16]);
  models = server.models;
  [idA, idB] = models.ids;
  baseURL = `${server.base}/v1`;
});
afterAll(() => server.close());

const client = (apiKey = KEY) => new OpenAI({ apiKey, baseURL, maxRetries: 0 });

describe('official openai client', () => {
  test('embeddings.create (the client asks for base64 and decodes it) gives our vectors, in order, with token usage', async () => {
    const input = ['a cat sat on the mat', 'quantum chromodynamics', 'a cat sat on the mat'];
    const res = await client().embeddings.create({ model: idA, input });
    expect(res.object).toBe('list');
    expect(res.model).toBe(idA);
    expect(res.data.map((d) => d.index)).toEqual([0, 1, 2]);
    const ours = await models.get(idA).computeBatchEmbeddings(input);
    res.data.forEach((d, i) => {
      expect(d.embedding).toHaveLength(32);
      expect(cosineJs(Float32Array.from(d.embedding), ours[i])).toBeGreaterThan(0.999999);
    });
    const tokens = (await models.get(idA).tokenize(input)).reduce((a, t) => a + t.length, 0);
    expect(res.usage).toEqual({ prompt_tokens: tokens, total_tokens: tokens });
  });

  test('float encoding, a single string, and token ids of the model vocabulary', async () => {
    const float = await client().embeddings.create({ model: idA, input: 'hello world', encoding_format: 'float' });
    const [tok] = await models.get(idA).tokenize(['hello world']);
    const byIds = await client().embeddings.create({ model: idA, input: [tok.ids], encoding_format: 'float' });
    expect(cosineJs(Float32Array.from(float.data[0].embedding), Float32Array.from(byIds.data[0].embedding))).toBeGreaterThan(0.999999);
    expect(byIds.usage.prompt_tokens).toBe(tok.ids.length);
  });

  test('several models: chosen by the model field, listed by models.list, each loaded on first use', async () => {
    expect(models.loaded.has(idB)).toBe(false);
    const res = await client().embeddings.create({ model: idB, input: 'x' });
    expect(res.data[0].embedding).toHaveLength(16);
    expect(models.loaded.has(idB)).toBe(true);
    const listed = [];
    for await (const m of client().models.list()) listed.push(m.id);
    expect(listed).toEqual([idA, idB]);
  });

  test('errors come back as the client expects them: status, type, code and param', async () => {
    const unknown = await client().embeddings.create({ model: 'text-embedding-3-small', input: 'x' }).catch((e) => e);
    expect(unknown).toBeInstanceOf(OpenAI.NotFoundError);
    expect(unknown.code).toBe('model_not_found');
    expect(unknown.message).toMatch(new RegExp(`served models: ${idA}, ${idB}`));
    const dims = await client().embeddings.create({ model: idA, input: 'x', dimensions: 8 }).catch((e) => e);
    expect(dims).toBeInstanceOf(OpenAI.BadRequestError);
    expect(dims.param).toBe('dimensions');
    expect(dims.message).toMatch(/32-dimensional vectors and cannot shorten them/);
    expect((await client().embeddings.create({ model: idA, input: 'x', dimensions: 32 })).data).toHaveLength(1);
    const empty = await client().embeddings.create({ model: idA, input: [] }).catch((e) => e);
    expect(empty).toBeInstanceOf(OpenAI.BadRequestError);
    const badKey = await client('sk-wrong').embeddings.create({ model: idA, input: 'x' }).catch((e) => e);
    expect(badKey).toBeInstanceOf(OpenAI.AuthenticationError);
    expect(badKey.code).toBe('invalid_api_key');
  });
});

describe('LangChain OpenAIEmbeddings', () => {
  test('embedDocuments and embedQuery give our vectors', async () => {
    const embeddings = new OpenAIEmbeddings({ model: idA, apiKey: KEY, configuration: { baseURL }, maxRetries: 0 });
    const docs = ['the first document', 'a second, longer document about something else'];
    const vectors = await embeddings.embedDocuments(docs);
    const ours = await models.get(idA).computeBatchEmbeddings(docs);
    expect(vectors).toHaveLength(2);
    vectors.forEach((v, i) => expect(cosineJs(Float32Array.from(v), ours[i])).toBeGreaterThan(0.999999));
    const query = await embeddings.embedQuery('the first document');
    expect(cosineJs(Float32Array.from(query), ours[0])).toBeGreaterThan(0.999999);
  });
});

const { manifest, reason } = trainedManifest();
const trained = manifest?.models.find((m) => m.precision === 'fp32' && m.recipe === 'all-MiniLM-L6-v2');
const reference = loadReference('all-MiniLM-L6-v2');
const why = reason ?? (!trained ? 'no fp32 all-MiniLM-L6-v2 among the trained models' : !reference ? 'no reference vectors' : undefined);

describe.skipIf(why !== undefined)(`trained all-MiniLM-L6-v2 through the openai client${why ? ` — skipped: ${why}` : ''}`, () => {
  test('vectors equal sentence-transformers\' (cosine ≥ 0.9999 on every reference text)', async () => {
    const service = await SimilarityService.create({ model: 'all-MiniLM-L6-v2', modelPath: trained!.dir, cacheDir: server.service.config.cacheDir });
    const app = await buildServer(service, { logger: false });
    try {
      const url = `${await app.listen({ port: 0, host: '127.0.0.1' })}/v1`;
      const openai = new OpenAI({ apiKey: 'unused', baseURL: url, maxRetries: 0 });
      const texts = reference!.texts.slice(0, 128);
      const res = await openai.embeddings.create({ model: 'sentence-transformers/all-MiniLM-L6-v2', input: texts });
      const { min } = agreement(res.data.map((d) => d.embedding), reference!.vectors.slice(0, 128));
      expect(min).toBeGreaterThanOrEqual(0.9999);
    } finally {
      await app.close();
      await service.close();
    }
  });
});
