// The probes against real servers whose model cannot load (a model folder with a broken model.onnx), over HTTP:
// the `serve` binary with the paths deploy/ points its probes at, and a two-model server where only one fails.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { buildServer } from '../../src/http/server.js';
import { ModelSet } from '../../src/service/model-set.js';
import { SimilarityService } from '../../src/service/service.js';
import { makeTinyModelDir } from '../fixtures/tiny-bert.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fe-probes-'));
let tinyDir: string;

/** A model folder whose tokenizer is fine and whose model.onnx is not a model. */
function brokenModelDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fe-broken-'));
  for (const f of fs.readdirSync(tinyDir)) fs.copyFileSync(path.join(tinyDir, f), path.join(dir, f));
  fs.writeFileSync(path.join(dir, 'model.onnx'), 'not a model');
  return dir;
}

// What deploy/ points each probe at.
const container = parseAllDocuments(fs.readFileSync(path.join(root, 'deploy/k8s/statefulset.yaml'), 'utf8'))[0].toJS().spec.template.spec.containers[0];
const probes = { startup: container.startupProbe.httpGet.path, liveness: container.livenessProbe.httpGet.path, readiness: container.readinessProbe.httpGet.path };
const dockerHealth = /HEALTHCHECK[^\n]*\n\s*CMD [^\n]*'(\/\w+)'/.exec(fs.readFileSync(path.join(root, 'Dockerfile'), 'utf8'))![1];

const get = async (url: string) => {
  const res = await fetch(url);
  return { status: res.status, body: await res.json() };
};
const post = async (url: string, body: unknown) => {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, body: await res.json() };
};

beforeAll(() => {
  tinyDir = makeTinyModelDir({ hidden: 16 });
});

describe('`serve` with a model that cannot load, probed where deploy/ probes it', () => {
  let child: ChildProcessWithoutNullStreams;
  let base: string;
  let broken: string;
  let out = '';

  beforeAll(async () => {
    broken = brokenModelDir();
    child = spawn(process.execPath, [path.join(root, 'dist/cli.js'), 'serve', '--port', '0', '--host', '127.0.0.1', '--model-path', broken], {
      env: { ...process.env, FASTEMBED_CACHE_DIR: cacheDir, LOG_LEVEL: 'info' },
    });
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    // Listening, and the model's load has failed (the server says so in its log).
    await vi.waitFor(() => expect(out).toMatch(/did not load/), { timeout: 30_000, interval: 50 });
    base = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(out)![1];
  });
  afterAll(async () => {
    const exit = new Promise((resolve) => child.on('exit', resolve));
    child.kill('SIGTERM');
    await exit;
    fs.rmSync(broken, { recursive: true, force: true });
  });

  test('startup and readiness fail with the model and the reason; liveness passes and reports it; so does Docker\'s check', async () => {
    const id = path.basename(broken);
    const startup = await get(`${base}${probes.startup}`);
    expect(startup.status).toBe(503);
    expect(startup.body).toEqual({ started: false, reasons: [expect.stringMatching(new RegExp(`^${id}: model unavailable: `))] });
    expect((await get(`${base}${dockerHealth}`)).status).toBe(503);
    const ready = await get(`${base}${probes.readiness}`);
    expect(ready.status).toBe(503);
    expect(ready.body).toMatchObject({ ready: false, status: 'degraded', reasons: [expect.stringMatching(new RegExp(`^${id}: model unavailable: `))], models: { [id]: 'error' } });
    // Liveness: a restart cannot fix a broken file, so the process that answers is alive; the body says what's wrong.
    const live = await get(`${base}${probes.liveness}`);
    expect(live.status).toBe(200);
    expect(live.body).toMatchObject({ status: 'degraded', services: { fastembed: 'error' }, models: { [id]: 'error' } });
    expect(live.body.reasons).toEqual([expect.stringMatching(new RegExp(`^${id}: model unavailable: `))]);
    expect(JSON.stringify([startup, ready, live])).not.toContain(broken); // no server paths to unauthenticated clients
  });

  test('embeddings are a 503 naming the model; the original routes answer with the fallback serve keeps on, marked as such', async () => {
    const r = await post(`${base}/v1/embeddings`, { input: 'a' });
    expect(r.status).toBe(503);
    expect(r.body.error).toMatchObject({ type: 'server_error', code: 'service_unavailable', message: expect.stringMatching(new RegExp(`^the model '${path.basename(broken)}' is not available: .*; retry later`)) });
    expect((await post(`${base}/api/similarity/compute`, { text1: 'a b', text2: 'a' })).body).toMatchObject({ method: 'jaccard_fallback', similarity: 0.5 });
  });

  test('once the file is fixed, the background retry loads it: startup, readiness and Docker\'s check turn 200', async () => {
    fs.copyFileSync(path.join(tinyDir, 'model.onnx'), path.join(broken, 'model.onnx'));
    await vi.waitFor(async () => expect((await get(`${base}${probes.startup}`)).status).toBe(200), { timeout: 60_000, interval: 200 });
    expect((await get(`${base}${probes.readiness}`)).body).toMatchObject({ ready: true, status: 'healthy', reasons: [] });
    expect((await get(`${base}${dockerHealth}`)).status).toBe(200);
    expect((await get(`${base}${probes.liveness}`)).body).toMatchObject({ status: 'healthy', reasons: [] });
  });
});

describe('two models, one of which cannot load', () => {
  let app: FastifyInstance;
  let models: ModelSet;
  let base: string;
  let broken: string;
  let good: string;
  let bad: string;

  beforeAll(async () => {
    broken = brokenModelDir();
    const first = new SimilarityService({ modelPath: tinyDir, cacheDir });
    // As `serve` configures a further model when nobody asked for the fallback.
    models = new ModelSet(first, [{ modelPath: broken, fallback: false }]);
    [good, bad] = models.ids;
    app = await buildServer(models, { logger: false });
    base = await app.listen({ port: 0, host: '127.0.0.1' });
    await models.initialize();
  });
  afterAll(async () => {
    await app.close();
    await models.close();
    fs.rmSync(broken, { recursive: true, force: true });
  });

  test('/health is degraded with the failed model\'s reason (200: liveness); /ready and /startup are 503 naming it', async () => {
    const health = await get(`${base}/health`);
    expect(health.status).toBe(200);
    expect(health.body).toMatchObject({ status: 'degraded', services: { fastembed: 'error' }, models: { [good]: 'healthy', [bad]: 'error' } });
    expect(health.body.reasons).toEqual([expect.stringMatching(new RegExp(`^${bad}: model unavailable: `))]);
    const ready = await get(`${base}/ready`);
    expect(ready.status).toBe(503);
    expect(ready.body.reasons).toEqual([expect.stringMatching(new RegExp(`^${bad}: model unavailable: `))]);
    expect((await get(`${base}/startup`)).status).toBe(503);
  });

  test('a request naming the failed model is a 503 naming it and why, never a 200 with jaccard_fallback; the other model answers', async () => {
    const compute = await post(`${base}/api/similarity/compute`, { text1: 'a b', text2: 'a', model: bad });
    expect(compute.status).toBe(503);
    expect(compute.body).toEqual({
      error: 'Service Unavailable',
      message: expect.stringMatching(new RegExp(`^the model '${bad}' is not available: .+; retry later or name another served model \\(${good}\\)`)),
      statusCode: 503,
    });
    const openai = await post(`${base}/v1/embeddings`, { input: 'a', model: bad });
    expect(openai.status).toBe(503);
    expect(openai.body.error).toMatchObject({ param: 'model', code: 'service_unavailable', message: expect.stringContaining(`'${bad}'`) });
    const ok = await post(`${base}/api/similarity/compute`, { text1: 'a b', text2: 'a', model: good });
    expect(ok).toMatchObject({ status: 200, body: { method: 'fastembed_cosine' } });
  });

  test('a model configured but not created yet keeps /ready at 503 until it loads (ModelSet.initialize loads every one)', async () => {
    const second = makeTinyModelDir({ hidden: 8 });
    const set = new ModelSet(await SimilarityService.create({ modelPath: tinyDir, cacheDir }), [{ modelPath: second }]);
    const srv = await buildServer(set, { logger: false });
    const url = await srv.listen({ port: 0, host: '127.0.0.1' });
    try {
      const before = await get(`${url}/ready`);
      expect(before.status).toBe(503);
      expect(before.body.models[set.ids[1]]).toBe('not_loaded');
      await set.initialize();
      expect((await get(`${url}/ready`)).status).toBe(200);
      expect((await get(`${url}/startup`)).body).toEqual({ started: true, reasons: [] });
    } finally {
      await srv.close();
      await set.close();
      fs.rmSync(second, { recursive: true, force: true });
    }
  });
});
