// What every API shares: API keys (constant-time, probes open), the limits and their errors, 404s in each API's
// shape, and an OpenAPI document that lists exactly the routes the server answers.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startTinyServer, type TinyServer } from '../fixtures/tiny-server.js';

const KEY = 'secret-key-1';
let server: TinyServer;
let base: string;

beforeAll(async () => {
  server = await startTinyServer({}, { apiKeys: [KEY, 'second-key'], maxInputs: 4, maxInputChars: 100, maxDocuments: 3, metricsAuth: true });
  ({ base } = server);
});
afterAll(() => server.close());

const call = (url: string, body?: unknown, key: string | null = KEY) =>
  fetch(`${base}${url}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...(key ? { authorization: `Bearer ${key}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });

describe('API keys', () => {
  test('every route but the probes and the document needs a key; a missing or wrong one is 401 in the API\'s shape', async () => {
    for (const url of ['/health', '/ready', '/startup', '/openapi.json']) expect((await call(url, undefined, null)).status).toBe(200);
    const original = await call('/api/similarity/compute', { text1: 'a', text2: 'b' }, null);
    expect(original.status).toBe(401);
    expect(original.headers.get('www-authenticate')).toBe('Bearer');
    expect(await original.json()).toEqual({ error: 'Unauthorized', message: expect.stringMatching(/Authorization: Bearer <key>/), statusCode: 401 });
    expect((await (await call('/v1/embeddings', { input: 'x' }, 'wrong')).json()).error.code).toBe('invalid_api_key');
    expect((await (await call('/embed', { inputs: 'x' }, 'secret-key-')).json()).error_type).toBe('Unauthorized');
    expect((await call('/metrics', undefined, null)).status).toBe(401); // metricsAuth: true
    expect((await call('/api/similarity/stats', undefined, null)).status).toBe(401);
    // Both keys work.
    expect((await call('/api/similarity/compute', { text1: 'a', text2: 'b' })).status).toBe(200);
    expect((await call('/embed', { inputs: 'x' }, 'second-key')).status).toBe(200);
    expect((await call('/metrics')).status).toBe(200);
  });
});

describe('limits', () => {
  test('inputs per request, characters per input and documents per search, each with the field named', async () => {
    const many = await call('/v1/embeddings', { input: ['a', 'b', 'c', 'd', 'e'] });
    expect(many.status).toBe(400);
    expect((await many.json()).error.param).toBe('input');
    const long = await call('/api/similarity/compute', { text1: 'x'.repeat(101), text2: 'y' });
    expect(long.status).toBe(400);
    expect((await long.json()).message).toBe('text1 has 101 characters; at most 100 are allowed: shorten or split it');
    const docs = await call('/api/similarity/search', { query: 'q', documents: ['a', 'b', 'c', 'd'] });
    expect(docs.status).toBe(400);
    const teiMany = await call('/embed', { inputs: ['a', 'b', 'c', 'd', 'e'] });
    expect(teiMany.status).toBe(422);
    const info = await (await call('/info')).json();
    expect(info).toMatchObject({ max_client_batch_size: 4, max_concurrent_requests: 256, limits: { max_documents: 3, max_input_chars: 100 } });
  });

  test('unknown routes answer 404 in the shape of the API they look like', async () => {
    expect(await (await call('/v1/nope', { input: 'x' })).json()).toMatchObject({ error: { type: 'invalid_request_error', code: null, message: expect.stringMatching(/no route POST \/v1\/nope/) } });
    expect((await (await call('/rerank', {})).json()).error_type).toBe('NotFound');
    expect((await (await call('/api/nope')).json()).statusCode).toBe(404);
  });
});

describe('OpenAPI document', () => {
  test('lists every route the server answers, grouped by API, with the bearer scheme', async () => {
    const doc = await (await call('/openapi.json')).json();
    expect(doc.tags.map((t: { name: string }) => t.name)).toEqual(['original', 'openai', 'tei', 'operations']);
    expect(doc.components.securitySchemes.bearer).toEqual({ type: 'http', scheme: 'bearer' });
    const paths = Object.keys(doc.paths);
    for (const p of ['/api/similarity/compute', '/api/similarity/search', '/api/similarity/stats', '/api/embeddings', '/v1/embeddings', '/v1/models', '/embed', '/similarity', '/tokenize', '/decode', '/info', '/health', '/ready', '/startup', '/metrics']) {
      expect(paths).toContain(p);
    }
    // Each documented route exists: none answers 404.
    for (const [p, ops] of Object.entries(doc.paths as Record<string, Record<string, unknown>>)) {
      for (const method of Object.keys(ops)) {
        const res = await fetch(`${base}${p}`, { method: method.toUpperCase(), headers: { authorization: `Bearer ${KEY}`, ...(method === 'post' ? { 'content-type': 'application/json' } : {}) }, body: method === 'post' ? '{}' : undefined });
        expect(res.status, `${method} ${p}`).not.toBe(404);
      }
    }
    expect(doc.paths['/health'].get.security).toBeUndefined();
    expect(doc.paths['/v1/embeddings'].post.security).toEqual([{ bearer: [] }]);
  });
});
