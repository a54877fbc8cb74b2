// The bad-input battery: in process and over HTTP, each case gets a clear error (or a correct answer), never a
// 500, a crash, a hang or unbounded memory. Includes a property-based test over the HTTP schema.
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { buildServer } from '../../src/http/server.js';
import { SimilarityService } from '../../src/service/service.js';
import { makeTinyModelDir } from '../fixtures/tiny-bert.js';

let service: SimilarityService;
let app: FastifyInstance;
let base: string;
const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fe-rel-'));

beforeAll(async () => {
  service = await SimilarityService.create({ modelPath: makeTinyModelDir({ hidden: 16 }), cacheDir });
  app = await buildServer(service, { logger: false });
  base = await app.listen({ port: 0, host: '127.0.0.1' });
});
afterAll(async () => {
  await app.close();
  await service.close();
});

/** Raw bytes over HTTP (fetch would re-encode invalid UTF-8). */
function rawPost(url: string, body: Buffer, contentType = 'application/json'): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', headers: { 'content-type': contentType, 'content-length': body.length } }, (res) => {
      let data = '';
      res.on('data', (d) => (data += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: data }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const json = (v: unknown) => Buffer.from(JSON.stringify(v));

describe('in process', () => {
  test('empty and whitespace texts are valid inputs', async () => {
    expect((await service.computeSimilarity('', '')).similarity).toBeCloseTo(1, 5);
    expect((await service.computeEmbedding('   \n\t')).length).toBe(16);
  });

  test('a 10 MB text is truncated to the model length, not a crash', async () => {
    const v = await service.computeEmbedding('word '.repeat(2 * 1024 * 1024));
    expect(v.every(Number.isFinite)).toBe(true);
  });

  test('lone surrogates embed', async () => {
    expect((await service.computeEmbedding('\uD83D broken \uDE00 pair')).length).toBe(16);
  });

  test.each([
    ['undefined text', () => service.computeSimilarity(undefined as never, 'b'), TypeError],
    ['number text', () => service.computeEmbedding(5 as never), TypeError],
    ['object documents', () => service.findMostSimilar('q', { length: 1 } as never, 1), TypeError],
    ['nested arrays', () => service.computeBatchEmbeddings([['a']] as never), TypeError],
    ['negative k', () => service.findMostSimilar('q', ['a'], -2), RangeError],
    ['NaN k', () => service.findMostSimilar('q', ['a'], Number.NaN), RangeError],
    ['float k', () => service.findMostSimilar('q', ['a'], 2.5), RangeError],
    ['Infinity k', () => service.findMostSimilar('q', ['a'], Number.POSITIVE_INFINITY), RangeError],
  ])('%s → %s', (_n, fn, type) => {
    expect(fn).toThrow(type);
  });

  test('100k documents: the search answers, bounded in time', async () => {
    const docs = Array.from({ length: 100_000 }, (_, i) => `doc ${i % 5000}`);
    const t = performance.now();
    const top = await service.findMostSimilar('doc 42', docs, 3);
    expect(top).toHaveLength(3);
    expect(performance.now() - t).toBeLessThan(60_000);
  });
});

describe('over HTTP', () => {
  test.each([
    ['truncated JSON', Buffer.from('{"text1": "a", "text2": "b'), 400],
    ['empty body', Buffer.alloc(0), 400],
    ['JSON null', Buffer.from('null'), 400],
    ['a bare string', Buffer.from('"hello"'), 400],
    ['deeply nested JSON', Buffer.from(`{"text1":${'['.repeat(100_000)}${']'.repeat(100_000)},"text2":"b"}`), 400],
    ['NaN top_k', Buffer.from('{"query":"q","documents":["a"],"top_k":NaN}'), 400],
  ])('%s → %i', async (_n, body, status) => {
    const url = _n.includes('top_k') ? `${base}/api/similarity/search` : `${base}/api/similarity/compute`;
    const res = await rawPost(url, body);
    expect(res.status).toBe(status);
    expect(JSON.parse(res.body).message.length).toBeGreaterThan(0);
  });

  test('invalid UTF-8 bytes and lone surrogate escapes are answered, not crashed on', async () => {
    const bytes = Buffer.concat([Buffer.from('{"text1":"caf'), Buffer.from([0xc3, 0x28, 0xff]), Buffer.from('","text2":"x"}')]);
    const res = await rawPost(`${base}/api/similarity/compute`, bytes);
    expect(res.status).toBe(200);
    const surrogate = await rawPost(`${base}/api/similarity/compute`, Buffer.from('{"text1":"\\ud800 lone","text2":"\\udfff"}'));
    expect(surrogate.status).toBe(200);
  });

  test('a 1 MB text field → 400 (over the per-text limit), a 12 MB body → 413', async () => {
    const big = await rawPost(`${base}/api/similarity/compute`, json({ text1: 'x'.repeat(1_048_576), text2: 'b' }));
    expect(big.status).toBe(400);
    expect(JSON.parse(big.body).message).toBe('text1 has 1,048,576 characters; at most 1,000,000 are allowed: shorten or split it');
    const huge = await rawPost(`${base}/api/similarity/compute`, json({ text1: 'x'.repeat(12 * 1024 * 1024), text2: 'b' }));
    expect(huge.status).toBe(413);
  });

  test('100k documents in one request → 400 naming the limit', async () => {
    const res = await rawPost(`${base}/api/similarity/search`, json({ query: 'q', documents: Array.from({ length: 100_000 }, () => 'd') }));
    expect(res.status).toBe(400);
    expect(JSON.parse(res.body).message).toBe('documents has 100,000 items; at most 10,000 are allowed in one request: send several requests');
  });

  test('wrong content types → 415', async () => {
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x']) {
      expect((await rawPost(`${base}/api/similarity/compute`, Buffer.from('text1=a'), type)).status).toBe(415);
    }
  });

  test('property: any JSON body gets 200 or a 4xx with a message, never a 5xx', async () => {
    const value = fc.oneof(fc.string(), fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.array(fc.string(), { maxLength: 4 }));
    const body = fc.oneof(
      fc.record({ text1: value, text2: value }, { requiredKeys: [] }),
      fc.record({ query: value, documents: fc.oneof(value, fc.array(value, { maxLength: 5 })), top_k: value }, { requiredKeys: [] }),
      fc.record({ texts: fc.oneof(value, fc.array(value, { maxLength: 5 })), encoding: value }, { requiredKeys: [] }),
      fc.jsonValue(),
    );
    const route = fc.constantFrom('/api/similarity/compute', '/api/similarity/search', '/api/embeddings');
    await fc.assert(
      fc.asyncProperty(route, body, async (r, b) => {
        const res = await rawPost(`${base}${r}`, json(b));
        if (res.status >= 500) throw new Error(`${r} ${JSON.stringify(b)} → ${res.status} ${res.body}`);
        if (res.status !== 200) expect(JSON.parse(res.body).message).toBeTruthy();
      }),
      { numRuns: 300, seed: 42 },
    );
  });
});
