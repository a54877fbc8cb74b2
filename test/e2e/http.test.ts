// The real HTTP server on an ephemeral loopback port, hit with real requests (fetch).
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { buildServer } from '../../src/http/server.js';
import { ModelSet } from '../../src/service/model-set.js';
import { Embedder } from '../../src/engine/embedder.js';
import { SimilarityService } from '../../src/service/service.js';
import { cosineJs } from '../fixtures/reference.js';
import { fullSizeModel, needsFullSize } from '../fixtures/shared.js';
import { makeTinyModelDir } from '../fixtures/tiny-bert.js';

const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fe-http-'));
let tinyDir: string;
let service: SimilarityService;
let app: FastifyInstance;
let base: string;

async function start(s: SimilarityService | ModelSet, opts: Parameters<typeof buildServer>[1] = {}) {
  const a = await buildServer(s, { logger: false, ...opts });
  const address = await a.listen({ port: 0, host: '127.0.0.1' });
  return { app: a, base: address };
}

const post = (url: string, body: unknown, headers: Record<string, string> = { 'content-type': 'application/json' }) =>
  fetch(url, { method: 'POST', headers, body: typeof body === 'string' ? body : JSON.stringify(body) });

beforeAll(async () => {
  tinyDir = makeTinyModelDir({ hidden: 32 });
  service = await SimilarityService.create({ modelPath: tinyDir, cacheDir });
  ({ app, base } = await start(service));
});
afterAll(async () => {
  await app.close();
  await service.close();
});

describe('routes', () => {
  test('POST /api/similarity/compute', async () => {
    const res = await post(`${base}/api/similarity/compute`, { text1: 'a cat', text2: 'a kitten' });
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body).toMatchObject({ text1: 'a cat', text2: 'a kitten', method: 'fastembed_cosine', model: path.basename(tinyDir), dimension: 32 });
    expect(new Date(body.timestamp).getTime()).toBeGreaterThan(0);
    expect(body.similarity).toBeCloseTo((await service.computeSimilarity('a cat', 'a kitten')).similarity, 5);
    // The design's clients get a similarity within [-1, 1]: identical texts give exactly 1, never 1.0000001.
    const same = await (await post(`${base}/api/similarity/compute`, { text1: 'same words', text2: 'same words' })).json();
    expect(same.similarity).toBeLessThanOrEqual(1);
    expect(same.similarity).toBeCloseTo(1, 5);
  });

  test('POST /api/similarity/search defaults top_k to 5 and ranks best first', async () => {
    const documents = Array.from({ length: 8 }, (_, i) => `document number ${i} about topic ${i % 3}`);
    const res = await post(`${base}/api/similarity/search`, { query: 'topic 1', documents });
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.query).toBe('topic 1');
    expect(body.results).toHaveLength(5);
    const direct = await service.findMostSimilar('topic 1', documents, 5);
    expect(body.results.map((r: { index: number }) => r.index)).toEqual(direct.map((r) => r.index));
    // The design's RelevantDocument: content, similarity, method (our index/model/dimension are extras).
    expect(body.results[0]).toMatchObject({ content: documents[direct[0].index], similarity: expect.any(Number), method: 'fastembed_cosine' });
    expect(body.results[0]).not.toHaveProperty('text');
    const two = await (await post(`${base}/api/similarity/search`, { query: 'q', documents, top_k: 2 })).json();
    expect(two.results).toHaveLength(2);
    // More than there are documents is every document, best first.
    const all = await (await post(`${base}/api/similarity/search`, { query: 'q', documents, top_k: 1000 })).json();
    expect(all.results).toHaveLength(documents.length);
    // As the design's handler: 0 or below is 5 (a Go client's unset int arrives as 0).
    for (const top_k of [0, -1]) expect((await (await post(`${base}/api/similarity/search`, { query: 'topic 1', documents, top_k })).json()).results).toHaveLength(5);
  });

  test("POST /api/similarity/search with mode 'lexical' and 'hybrid': the service's rankings, BM25 scores unclamped, part scores", async () => {
    const documents = ['ERR_CONN_RESET at login behind the proxy', 'the cat sat on the mat', 'proxy proxy proxy settings', ...Array.from({ length: 20 }, (_, i) => `billing FAQ ${i}`)];
    const lexical = await (await post(`${base}/api/similarity/search`, { query: 'proxy ERR_CONN_RESET', documents, mode: 'lexical' })).json();
    const direct = await service.findMostSimilar('proxy ERR_CONN_RESET', documents, 5, { mode: 'lexical' });
    expect(lexical.results.map((r: { index: number }) => r.index)).toEqual(direct.map((m) => m.index));
    expect(lexical.results[0]).toMatchObject({ method: 'bm25', model: 'bm25', similarity: direct[0].similarity });
    expect(direct[0].similarity).toBeGreaterThan(1);
    const hybrid = await (await post(`${base}/api/similarity/search`, { query: 'proxy ERR_CONN_RESET', documents, mode: 'hybrid', rrf_k: 10, top_k: 2 })).json();
    const fused = await service.findMostSimilar('proxy ERR_CONN_RESET', documents, 2, { mode: 'hybrid', rrfK: 10 });
    expect(hybrid.results.map((r: { index: number }) => r.index)).toEqual(fused.map((m) => m.index));
    expect(hybrid.results[0]).toMatchObject({ method: 'hybrid', scores: { dense: expect.any(Number), lexical: expect.any(Number) } });
    for (const [body, message] of [
      [{ mode: 'sparse' }, /mode must be one of/],
      [{ mode: 'hybrid', alpha: 2 }, /alpha must be a number from 0 to 1/],
      [{ mode: 'hybrid', alpha: 0.5, rrf_k: 60 }, /not both/],
      [{ alpha: 0.5 }, /apply to mode 'hybrid' only/],
    ] as const) {
      const r = await post(`${base}/api/similarity/search`, { query: 'q', documents, ...body });
      expect(r.status).toBe(400);
      expect((await r.json()).message).toMatch(message);
    }
  });

  test('POST /api/embeddings as floats and as base64 float32', async () => {
    const floats = await (await post(`${base}/api/embeddings`, { texts: ['one', 'two'] })).json();
    expect(floats).toMatchObject({ model: path.basename(tinyDir), dim: 32, encoding: 'float' });
    expect(floats.embeddings).toHaveLength(2);
    expect(floats.embeddings[0]).toHaveLength(32);
    const b64 = await (await post(`${base}/api/embeddings`, { texts: ['one', 'two'], encoding: 'base64' })).json();
    const buf = Buffer.from(b64.embeddings[1], 'base64');
    const decoded = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
    expect(cosineJs(decoded, floats.embeddings[1])).toBeGreaterThan(0.999999);
    expect((await (await post(`${base}/api/embeddings`, { texts: [] })).json()).embeddings).toEqual([]);
  });

  test('GET /api/similarity/stats, /health, /ready, /openapi.json', async () => {
    const body = await (await fetch(`${base}/api/similarity/stats`)).json();
    // The design's wrapping and snake_case keys.
    expect(Object.keys(body).sort()).toEqual(['stats', 'timestamp']);
    expect(new Date(body.timestamp).getTime()).toBeGreaterThan(0);
    expect(body.stats).toMatchObject({ cache_size: expect.any(Number), pool_size: 1, model: path.basename(tinyDir), initialized: true, status: 'healthy', dimension: 32 });
    expect(body.stats.total_requests).toBeGreaterThan(0);
    expect(JSON.stringify(body.stats)).not.toMatch(/"[a-z]+[A-Z]\w*":/);
    const health = await fetch(`${base}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'healthy', services: { fastembed: 'healthy' }, reasons: [], model: path.basename(tinyDir), dimension: 32 });
    const ready = await fetch(`${base}/ready`);
    expect(ready.status).toBe(200);
    const doc = await (await fetch(`${base}/openapi.json`)).json();
    expect(doc.openapi).toBe('3.0.3');
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/api/similarity/compute', '/api/similarity/search', '/api/embeddings', '/health']));
    expect(doc.paths['/api/similarity/search'].post.requestBody.content['application/json'].schema.required).toEqual(['query', 'documents']);
  });

  test('GET /metrics is Prometheus text with the seed metric names', async () => {
    await post(`${base}/api/similarity/compute`, { text1: 'x', text2: 'y' });
    const res = await fetch(`${base}/metrics`);
    expect(res.headers.get('content-type')).toMatch(/text\/plain/);
    const text = await res.text();
    for (const line of text.split('\n')) {
      if (line === '' || line.startsWith('#')) continue;
      expect(line).toMatch(/^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[^}]*\})? -?[0-9.eE+-]+|NaN|[+-]Inf$/);
    }
    expect(text).toMatch(/fastembed_requests_total\{method="compute",status="200"\} [1-9]/);
    expect(text).toMatch(/fastembed_request_duration_seconds_bucket\{le="0.004",method="compute"\}/);
    expect(text).toMatch(/^fastembed_cache_size [0-9]+$/m);
    expect(text).toMatch(/^fastembed_model_pool_size 1$/m);
    expect(text).toMatch(/^process_resident_memory_bytes [0-9]+/m);
    // Totals are Counters named *_total; probes are not counted as requests.
    expect(text).toMatch(/^fastembed_search_index_bytes 0$/m); // no set of 10,000 documents searched here
    for (const name of ['fastembed_cache_hits_total', 'fastembed_cache_misses_total', 'fastembed_fallbacks_total', 'fastembed_texts_embedded_total', 'fastembed_search_index_hits_total']) {
      expect(text).toContain(`# TYPE ${name} counter`);
    }
    expect(text).not.toMatch(/^# TYPE fastembed_\w+_total gauge$/m);
    await fetch(`${base}/health`);
    await fetch(`${base}/ready`);
    const after = await (await fetch(`${base}/metrics`)).text();
    expect(after).not.toMatch(/fastembed_requests_total\{method="(health|ready)"/);
  });
});

describe('bad requests get 4xx with a message, never 500', () => {
  test.each([
    ['malformed JSON', '{"text1": "a",', 400, /JSON/i],
    ['missing field', { text1: 'a' }, 400, /^text2 is missing: send a string$/],
    ['wrong type', { text1: 'a', text2: 5 }, 400, /^text2 must be a string; got the number 5$/],
    ['null', { text1: null, text2: 'b' }, 400, /^text1 must be a string; got null$/],
    ['extra property', { text1: 'a', text2: 'b', text3: 'c' }, 400, /unknown field "text3"; the fields it takes are text1, text2, model/],
    ['array body', ['a', 'b'], 400, /^the body must be an object; got an array of 2 items$/],
  ])('compute: %s', async (_name, body, status, message) => {
    const res = await post(`${base}/api/similarity/compute`, body);
    expect(res.status).toBe(status);
    expect((await res.json()).message).toMatch(message);
  });

  test.each([
    [{ query: 'q', documents: ['a'], top_k: 1.5 }, /^top_k must be an integer; got the number 1.5$/],
    [{ query: 'q', documents: ['a'], top_k: '3' }, /^top_k must be an integer; got "3"$/],
    [{ query: 'q', documents: ['a', 7] }, /^documents\[1\] must be a string; got the number 7$/],
    [{ query: 'q', documents: [['nested']] }, /^documents\[0\] must be a string; got an array of 1 item$/],
    [{ documents: ['a'] }, /^query is missing: send a string$/],
  ])('search: %j', async (body, message) => {
    const res = await post(`${base}/api/similarity/search`, body);
    expect(res.status).toBe(400);
    expect((await res.json()).message).toMatch(message);
  });

  test('wrong content type → 415, unknown route → 404, wrong method → 405 with Allow', async () => {
    const r415 = await post(`${base}/api/similarity/compute`, 'text1=a', { 'content-type': 'text/plain' });
    expect(r415.status).toBe(415);
    const r404 = await fetch(`${base}/api/nope`);
    expect(r404.status).toBe(404);
    expect((await r404.json()).message).toMatch(/no route GET \/api\/nope/);
    const r405 = await fetch(`${base}/api/similarity/compute`);
    expect(r405.status).toBe(405);
    expect(r405.headers.get('allow')).toBe('POST');
  });

  test('oversized body → 413', async () => {
    const small = await start(service, { bodyLimit: 1024 });
    const res = await post(`${small.base}/api/similarity/compute`, { text1: 'x'.repeat(2000), text2: 'y' });
    expect(res.status).toBe(413);
    await small.app.close();
  });
});

describe('no absolute server path in any body, on any route', () => {
  // A valid body for every POST route; the test fails when a route is added without one here.
  const VALID: Record<string, unknown> = {
    '/api/similarity/compute': { text1: 'a b', text2: 'a' },
    '/api/similarity/search': { query: 'a', documents: ['a b', 'c'], top_k: 1 },
    '/api/embeddings': { texts: ['a'] },
    '/v1/embeddings': { input: 'a' },
    '/embeddings': { input: 'a' },
    '/embed': { inputs: 'a' },
    '/similarity': { inputs: { source_sentence: 'a', sentences: ['b'] } },
    '/': { inputs: 'a' },
    '/invocations': { inputs: 'a' },
    '/tokenize': { inputs: 'a' },
    '/decode': { ids: [1, 2] },
  };

  test('a model that fails to load from an absolute path (and a second one that is missing): every GET and POST body, errors included, hides the path', async () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fe-paths-'));
    const broken = path.join(tmp, 'broken-model');
    fs.mkdirSync(broken);
    fs.copyFileSync(path.join(tinyDir, 'tokenizer.json'), path.join(broken, 'tokenizer.json'));
    fs.writeFileSync(path.join(broken, 'model.onnx'), 'not a model');
    const s = await SimilarityService.create({ modelPath: broken, cacheDir, fallback: true, loadRetryMs: 60_000 });
    const models = new ModelSet(s, [{ modelPath: path.join(tmp, 'missing-model'), fallback: false }]);
    const srv = await start(models);
    try {
      const doc = await (await fetch(`${srv.base}/openapi.json`)).json();
      expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/api/similarity/compute', '/v1/embeddings', '/embed', '/health'])); // routes are not paths
      const bodies: Record<string, string> = {};
      for (const [url, methods] of Object.entries<Record<string, unknown>>(doc.paths)) {
        for (const method of Object.keys(methods)) {
          if (method === 'get') bodies[`GET ${url}`] = await (await fetch(`${srv.base}${url}`)).text();
          else {
            expect(VALID, `a valid body for POST ${url}`).toHaveProperty([url]);
            bodies[`POST ${url}`] = await (await post(`${srv.base}${url}`, VALID[url])).text();
          }
        }
      }
      // The second model, named: a 503 whose reason is its missing folder.
      const named = await post(`${srv.base}/v1/embeddings`, { input: 'a', model: 'missing-model' });
      expect(named.status).toBe(503);
      bodies['POST /v1/embeddings naming the missing model'] = await named.text();
      for (const [request, body] of Object.entries(bodies)) {
        expect(body.length, request).toBeGreaterThan(0);
        expect(body, request).not.toContain(tmp);
      }
      // The reasons are still told, with the path hidden.
      expect(bodies['GET /api/similarity/stats']).toMatch(/Loading model <path> failed/);
      expect(bodies['GET /health']).toMatch(/Loading model <path> failed/);
      expect(bodies['POST /v1/embeddings naming the missing model']).toMatch(/<path>/);
    } finally {
      await srv.app.close();
      await models.close();
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });

  test("a client's own texts and the vectors are sent as they are, paths and '/' included", async () => {
    const documents = ['/home/alice/notes/todo.txt', 'something else'];
    const r = await (await post(`${base}/api/similarity/search`, { query: '/home/alice/notes', documents, top_k: 2 })).json();
    expect(r.query).toBe('/home/alice/notes');
    expect(r.results.map((x: { content: string }) => x.content).sort()).toEqual([...documents].sort());
    const b64 = await (await post(`${base}/api/embeddings`, { texts: ['a', 'b', 'c', 'd'], encoding: 'base64' })).json();
    const direct = await service.computeBatchEmbeddings(['a', 'b', 'c', 'd']);
    expect(b64.embeddings).toEqual(direct.map((v) => Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64')));
  });
});

describe('health and lifecycle', () => {
  test('a client that disconnects mid-request: its work is cancelled, one info line without a stack, counted in /metrics', async () => {
    const embedder = await Embedder.create({ modelPath: tinyDir, cacheDir });
    let started!: () => void;
    const running = new Promise<void>((resolve) => (started = resolve));
    // An inference that runs until it is cancelled.
    embedder.embed = (_texts, options) =>
      new Promise((_resolve, reject) => {
        started();
        options?.signal?.addEventListener('abort', () => reject(options.signal!.reason));
      });
    const s = await SimilarityService.create({ cacheDir, fallback: false, enableCache: false }, { embedder });
    const lines: Array<Record<string, unknown>> = [];
    const srv = await start(s, { logger: { level: 'info', stream: { write: (line: string) => void lines.push(JSON.parse(line)) } } });
    try {
      const req = http.request(`${srv.base}/api/similarity/compute`, { method: 'POST', headers: { 'content-type': 'application/json' } });
      req.on('error', () => undefined);
      req.end(JSON.stringify({ text1: 'a', text2: 'b' }));
      await running;
      req.destroy();
      await vi.waitFor(() => expect(lines.some((l) => /disconnected/.test(String(l.msg)))).toBe(true));
      await new Promise((r) => setTimeout(r, 100)); // room for any further line about it
      const about = lines.filter((l) => l.reqId !== undefined && l.msg !== 'incoming request');
      expect(about).toEqual([expect.objectContaining({ level: 30, component: 'fastembed', operation: 'compute', msg: 'client disconnected before its answer; its work was cancelled' })]);
      expect(JSON.stringify(about)).not.toMatch(/stack|AbortError/);
      expect(lines.filter((l) => Number(l.level) >= 40)).toEqual([]);
      const metrics = await (await fetch(`${srv.base}/metrics`)).text();
      expect(metrics).toMatch(/^fastembed_client_disconnects_total\{method="compute"\} 1$/m);
    } finally {
      await srv.app.close();
      await s.close();
      await embedder.close();
    }
  });

  test('a model that cannot load: a warning, /health degraded with the reason, /ready 503, fallback answers; the background retry recovers without a restart', async () => {
    const broken = fs.mkdtempSync(path.join(os.tmpdir(), 'fe-broken-'));
    fs.copyFileSync(path.join(tinyDir, 'tokenizer.json'), path.join(broken, 'tokenizer.json'));
    fs.writeFileSync(path.join(broken, 'model.onnx'), 'not a model');
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on('warning', onWarning);
    // Retries start slow (a minute) so the broken state is stable while it is checked; the file is fixed later.
    const s = await SimilarityService.create({ modelPath: broken, cacheDir, fallback: true, loadRetryMs: 60_000 });
    const srv = await start(s);
    try {
      await vi.waitFor(() => expect(warnings.length).toBeGreaterThan(0));
      expect(warnings[0]).toMatchObject({ code: 'FASTEMBED_FALLBACK' });
      expect(warnings[0].message).toMatch(/model unavailable: .*\n.*jaccard_fallback.*retried in the background/s);
      const health = await fetch(`${srv.base}/health`);
      expect(health.status).toBe(200);
      const body = await health.json();
      expect(body.status).toBe('degraded');
      expect(body.reasons[0]).toMatch(/model unavailable/);
      expect(JSON.stringify(body)).not.toContain(broken); // no server paths to unauthenticated clients
      const ready = await fetch(`${srv.base}/ready`);
      expect(ready.status).toBe(503);
      expect(await ready.json()).toMatchObject({ ready: false, status: 'degraded', in_flight: 0 });
      const r = await (await post(`${srv.base}/api/similarity/compute`, { text1: 'a b', text2: 'a' })).json();
      expect(r).toMatchObject({ method: 'jaccard_fallback', similarity: 0.5 });

    } finally {
      await srv.app.close();
      await s.close();
    }
  });

  test('without the fallback: model unavailable is 503 and a timeout is 504, with no server path in the body', async () => {
    const missing = path.join(os.tmpdir(), 'fe-no-such-model-dir');
    const down = new SimilarityService({ modelPath: missing, cacheDir, fallback: false });
    await down.initialize().catch(() => undefined);
    const slow = await SimilarityService.create({ modelPath: tinyDir, cacheDir, fallback: false, timeout: 1, enableCache: false });
    const a = await start(down);
    const b = await start(slow);
    try {
      const r503 = await post(`${a.base}/api/similarity/compute`, { text1: 'a', text2: 'b' });
      expect(r503.status).toBe(503);
      const body = await r503.json();
      expect(body.message).toMatch(/^the model 'fe-no-such-model-dir' is not available: Model directory <path> does not exist/);
      expect(JSON.stringify(body)).not.toContain(missing);
      const documents = Array.from({ length: 300 }, (_, i) => `document number ${i} about something else entirely`);
      const r504 = await post(`${b.base}/api/similarity/search`, { query: 'q', documents, top_k: 3 });
      expect(r504.status).toBe(504);
      expect((await r504.json()).message).toMatch(/longer than the 1 ms timeout/);
    } finally {
      await a.app.close();
      await b.app.close();
      await down.close();
      await slow.close();
    }
  });

  test('an internal TypeError (a bug, not the caller) is a logged 500 with no internals in the body', async () => {
    const embedder = await Embedder.create({ modelPath: tinyDir, cacheDir });
    embedder.embed = async () => {
      throw new TypeError("Cannot read properties of undefined (reading 'length') at /srv/app/node_modules/x.js:1:2");
    };
    const s = await SimilarityService.create({ cacheDir, fallback: false, enableCache: false }, { embedder });
    const srv = await start(s);
    try {
      const r = await post(`${srv.base}/api/similarity/compute`, { text1: 'a', text2: 'b' });
      expect(r.status).toBe(500);
      const body = await r.json();
      expect(body).toEqual({ error: 'Internal Server Error', message: 'internal error; the server log has the details', statusCode: 500 });
      // while a caller's bad argument stays a 400
      expect((await post(`${srv.base}/api/similarity/search`, { query: 'q', documents: [1, 2] })).status).toBe(400);
    } finally {
      await srv.app.close();
      await s.close();
      await embedder.close();
    }
  });

  test('work is bounded by configuration: a request over maxRequestTokens is a 413 before anything runs, never a fallback answer', async () => {
    const s = await SimilarityService.create({ modelPath: tinyDir, cacheDir, maxRequestTokens: 500, enableCache: false });
    const srv = await start(s);
    try {
      const documents = Array.from({ length: 100 }, (_, i) => `document number ${i} has a handful of words in it`);
      const r = await post(`${srv.base}/api/similarity/search`, { query: 'q', documents, top_k: 3 });
      expect(r.status).toBe(413);
      expect((await r.json()).message).toMatch(/need \d+ tokens, more than the 500 one call may use \(maxRequestTokens\); send them in smaller requests/);
      expect(s.getStats().textsEmbedded).toBe(0);
      const ok = await post(`${srv.base}/api/similarity/search`, { query: 'q', documents: documents.slice(0, 5), top_k: 3 });
      expect(ok.status).toBe(200);
      expect((await ok.json()).results[0].method).toBe('fastembed_cosine');
    } finally {
      await srv.app.close();
      await s.close();
    }
  });

  test('a failed load is retried with backoff until the model appears; then /ready turns 200 and answers are embeddings', async () => {
    const later = fs.mkdtempSync(path.join(os.tmpdir(), 'fe-later-'));
    const s = await SimilarityService.create({ modelPath: later, cacheDir, fallback: true, loadRetryMs: 50 });
    const srv = await start(s);
    try {
      expect(s.modelLoaded).toBe(false);
      expect((await fetch(`${srv.base}/ready`)).status).toBe(503);
      for (const f of fs.readdirSync(tinyDir)) fs.copyFileSync(path.join(tinyDir, f), path.join(later, f));
      await vi.waitFor(() => expect(s.modelLoaded).toBe(true), { timeout: 30_000, interval: 50 });
      expect((await fetch(`${srv.base}/ready`)).status).toBe(200);
      expect(s.health()).toEqual({ status: 'healthy', reasons: [] });
      const r = await (await post(`${srv.base}/api/similarity/compute`, { text1: 'a b', text2: 'a' })).json();
      expect(r.method).toBe('fastembed_cosine');
    } finally {
      await srv.app.close();
      await s.close();
      fs.rmSync(later, { recursive: true, force: true });
    }
  });

  test('before the model loads: /health says services.fastembed initializing (200, as the design), /ready 503', async () => {
    const s = new SimilarityService({ modelPath: tinyDir, cacheDir });
    const srv = await start(s);
    const health = await fetch(`${srv.base}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'healthy', services: { fastembed: 'initializing' } });
    const ready = await fetch(`${srv.base}/ready`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({ ready: false, status: 'initializing', in_flight: 0 });
    await s.initialize();
    expect((await fetch(`${srv.base}/ready`)).status).toBe(200);
    await srv.app.close();
    await s.close();
  });

  // Both need requests that take a while: the full-size model.
  test.skipIf(!fullSizeModel)(`backpressure: past maxInFlight, 429 with Retry-After${needsFullSize}`, async () => {
    const big = fullSizeModel!;
    const s = await SimilarityService.create({ model: 'all-MiniLM-L6-v2', modelPath: big, cacheDir, enableCache: false });
    const srv = await start(s, { maxInFlight: 1 });
    // The first request (200 documents through the full-size model) holds the only slot for a while.
    const documents = Array.from({ length: 200 }, (_, i) => `a somewhat longer document number ${i} with several words in it`);
    const first = post(`${srv.base}/api/similarity/search`, { query: 'q', documents });
    await new Promise((r) => setTimeout(r, 100));
    const second = await post(`${srv.base}/api/similarity/compute`, { text1: 'c', text2: 'd' });
    expect(second.status).toBe(429);
    expect(second.headers.get('retry-after')).toBe('1');
    expect((await second.json()).message).toMatch(/too many requests in flight \(1\)/);
    expect((await first).status).toBe(200);
    await srv.app.close();
    await s.close();
  });

  test('slow-body clients hold no slot, and a client that stalls is cut off after the request timeout', async () => {
    const srv = await start(service, { maxInFlight: 2, bodyTimeoutMs: 1_000 });
    const { port } = new URL(srv.base);
    const sockets: net.Socket[] = [];
    try {
      const closed = Array.from({ length: 5 }, () => {
        const socket = net.connect(Number(port), '127.0.0.1');
        sockets.push(socket);
        socket.on('error', () => undefined);
        // Headers announce 1,000 bytes; only 10 ever come.
        socket.write('POST /api/similarity/compute HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{"text1":"');
        return new Promise<void>((resolve) => socket.on('close', () => resolve()));
      });
      const r = await post(`${srv.base}/api/similarity/compute`, { text1: 'a', text2: 'b' });
      expect(r.status).toBe(200);
      // The stalled uploads are closed by the server (generous bound: the timeout is 1 s).
      await vi.waitFor(() => expect(sockets.every((s) => s.destroyed || s.readableEnded)).toBe(true), { timeout: 20_000, interval: 100 });
      await Promise.all(closed);
    } finally {
      for (const s of sockets) s.destroy();
      await srv.app.close();
    }
  });

  test.skipIf(!fullSizeModel)(`graceful close: in-flight requests finish, then new connections are refused${needsFullSize}`, async () => {
    const big = fullSizeModel!;
    const s = await SimilarityService.create({ model: 'all-MiniLM-L6-v2', modelPath: big, cacheDir, enableCache: false });
    const srv = await start(s);
    const documents = Array.from({ length: 200 }, (_, i) => `a somewhat longer document number ${i} with several words in it`);
    const inFlight = post(`${srv.base}/api/similarity/search`, { query: 'q', documents, top_k: 3 });
    await new Promise((r) => setTimeout(r, 100));
    const closing = srv.app.close();
    const res = await inFlight;
    expect(res.status).toBe(200);
    expect((await res.json()).results).toHaveLength(3);
    await closing;
    await expect(fetch(`${srv.base}/health`)).rejects.toThrow();
    await s.close();
  });
});
