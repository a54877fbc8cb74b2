// The real download code against a real local HTTP server: resume, checksum, atomic rename, progress, offline.
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { FastembedError } from '../../src/util/errors.js';
import { downloadFile } from '../../src/models/download.js';
import { ensureModelDir } from '../../src/models/loader.js';
import type { ModelSpec } from '../../src/models/registry.js';

const payload = randomBytes(3 * 1024 * 1024 + 123);
const sha = createHash('sha256').update(payload).digest('hex');

interface Hit {
  url: string;
  range?: string;
  ifRange?: string;
}

let server: http.Server;
let base: string;
const hits: Hit[] = [];
/** Paths whose next response is cut after this many bytes. */
const cutOnce = new Map<string, number>();
/** The ETag each file has now (default "v1"); changing it is an upstream change. */
const etags = new Map<string, string>();
/** Files whose 206 responses start at the wrong byte (a broken proxy). */
const badContentRange = new Set<string>();

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const url = req.url ?? '/';
    hits.push({ url, range: req.headers.range, ifRange: req.headers['if-range'] as string | undefined });
    const file = url.split('/').pop() ?? '';
    if (url.includes('/redirect/')) {
      res.writeHead(302, { location: url.replace('/redirect/', '/') });
      res.end();
      return;
    }
    const body = file.startsWith('payload') || file === 'model.onnx' ? payload : file === 'tokenizer.json' ? Buffer.from('{"t":1}') : undefined;
    if (!body) {
      res.writeHead(404);
      res.end('not found');
      return;
    }
    const etag = etags.get(file) ?? '"v1"';
    let start = 0;
    // RFC 9110: a Range whose If-Range validator no longer matches gets the whole, current representation.
    const ifRange = req.headers['if-range'];
    const m = ifRange === undefined || ifRange === etag ? /bytes=(\d+)-/.exec(req.headers.range ?? '') : null;
    if (m) start = Number(m[1]);
    if (start >= body.length) {
      res.writeHead(416);
      res.end();
      return;
    }
    const slice = body.subarray(start);
    const rangeStart = badContentRange.has(file) ? 0 : start;
    res.writeHead(m ? 206 : 200, {
      'content-length': slice.length,
      'accept-ranges': 'bytes',
      etag,
      ...(m ? { 'content-range': `bytes ${rangeStart}-${body.length - 1}/${body.length}` } : {}),
    });
    const cut = cutOnce.get(file);
    if (cut !== undefined) {
      cutOnce.delete(file);
      res.write(slice.subarray(0, cut), () => res.destroy());
      return;
    }
    res.end(slice);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'fe-dl-'));

describe('downloadFile', () => {
  test('downloads, verifies sha256 and size, reports progress up to the total', async () => {
    const dest = path.join(tmp(), 'payload.bin');
    const seen: number[] = [];
    const digest = await downloadFile(`${base}/payload.bin`, dest, {
      sha256: sha,
      size: payload.length,
      onProgress: (p) => {
        seen.push(p.received);
        expect(p.total).toBe(payload.length);
      },
    });
    expect(digest).toBe(sha);
    expect(fs.readFileSync(dest).equals(payload)).toBe(true);
    expect(seen.at(-1)).toBe(payload.length);
    for (let i = 1; i < seen.length; i++) expect(seen[i]).toBeGreaterThan(seen[i - 1]);
    expect(fs.existsSync(`${dest}.part`)).toBe(false);
  });

  test('an interrupted download keeps its partial file and the next call resumes with a Range request', async () => {
    const dest = path.join(tmp(), 'payload-resume.bin');
    cutOnce.set('payload-resume.bin', 1024 * 1024);
    await expect(downloadFile(`${base}/payload-resume.bin`, dest, { sha256: sha })).rejects.toThrow(/was interrupted \(.*\); call again to resume/);
    expect(fs.existsSync(dest)).toBe(false);
    const partial = fs.statSync(`${dest}.part`).size;
    expect(partial).toBeGreaterThan(0);
    expect(partial).toBeLessThan(payload.length);
    hits.length = 0;
    const digest = await downloadFile(`${base}/payload-resume.bin`, dest, { sha256: sha });
    expect(hits[0]).toMatchObject({ range: `bytes=${partial}-`, ifRange: '"v1"' });
    expect(digest).toBe(sha);
    expect(fs.readFileSync(dest).equals(payload)).toBe(true);
    expect(fs.readdirSync(path.dirname(dest))).toEqual(['payload-resume.bin']); // no .part, .json or .lock left
  });

  test('a file that changed upstream since the partial download is fetched whole (If-Range), not spliced', async () => {
    const dest = path.join(tmp(), 'payload-changed.bin');
    cutOnce.set('payload-changed.bin', 1024 * 1024);
    await expect(downloadFile(`${base}/payload-changed.bin`, dest)).rejects.toThrow(/interrupted/);
    etags.set('payload-changed.bin', '"v2"');
    hits.length = 0;
    expect(await downloadFile(`${base}/payload-changed.bin`, dest, { sha256: sha })).toBe(sha);
    expect(hits).toHaveLength(1);
    expect(hits[0].ifRange).toBe('"v1"');
    expect(fs.statSync(dest).size).toBe(payload.length);
  });

  test('a 206 that does not continue where the partial file ends is discarded and the download restarts', async () => {
    const dest = path.join(tmp(), 'payload-badrange.bin');
    cutOnce.set('payload-badrange.bin', 1024 * 1024);
    await expect(downloadFile(`${base}/payload-badrange.bin`, dest)).rejects.toThrow(/interrupted/);
    badContentRange.add('payload-badrange.bin');
    hits.length = 0;
    expect(await downloadFile(`${base}/payload-badrange.bin`, dest, { sha256: sha })).toBe(sha);
    expect(hits.map((h) => h.range)).toEqual([expect.stringMatching(/^bytes=\d+-$/), undefined]);
  });

  test('concurrent downloads of one file (replicas sharing a volume) transfer it once and all get it whole', async () => {
    const dest = path.join(tmp(), 'payload-shared.bin');
    hits.length = 0;
    const digests = await Promise.all([1, 2, 3].map(() => downloadFile(`${base}/payload-shared.bin`, dest, { sha256: sha })));
    expect(digests).toEqual([sha, sha, sha]);
    expect(hits).toHaveLength(1);
    expect(fs.readFileSync(dest).equals(payload)).toBe(true);
  });

  test('a checksum mismatch deletes the download and says so', async () => {
    const dest = path.join(tmp(), 'payload-bad.bin');
    const err = await downloadFile(`${base}/payload-bad.bin`, dest, { sha256: '0'.repeat(64) }).catch((e) => e);
    expect(err).toBeInstanceOf(FastembedError);
    expect(err.code).toBe('ERR_CHECKSUM');
    expect(err.message).toMatch(/is corrupt \(sha256 [0-9a-f]{64}, expected 0{64}\)/);
    expect(fs.existsSync(dest)).toBe(false);
    expect(fs.existsSync(`${dest}.part`)).toBe(false);
  });

  test('a wrong size is caught too', async () => {
    const dest = path.join(tmp(), 'payload-size.bin');
    await expect(downloadFile(`${base}/payload-size.bin`, dest, { size: payload.length + 1 })).rejects.toThrow(/size \d+ bytes, expected/);
  });

  test('follows redirects (the hub answers with one)', async () => {
    const dest = path.join(tmp(), 'payload.bin');
    expect(await downloadFile(`${base}/redirect/payload.bin`, dest)).toBe(sha);
  });

  test('HTTP errors and refused connections are clear errors', async () => {
    const dir = tmp();
    await expect(downloadFile(`${base}/missing.bin`, path.join(dir, 'm'))).rejects.toThrow(/HTTP 404/);
    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const err = await downloadFile(`http://127.0.0.1:${port}/x`, path.join(dir, 'x')).catch((e) => e);
    expect(err.code).toBe('ERR_DOWNLOAD');
    expect(err.message).toMatch(/ECONNREFUSED/);
  });
});

describe('ensureModelDir', () => {
  const spec: ModelSpec = {
    id: 'test-model',
    hfRepo: 'org/test-model',
    files: [
      { path: 'onnx/model.onnx', local: 'model.onnx', sha256: sha },
      { path: 'tokenizer.json', local: 'tokenizer.json' },
      { path: 'config.json', local: 'config.json' },
    ],
    precision: 'fp32',
    dim: 4,
    pooling: 'mean',
    normalize: true,
    maxLength: 8,
    queryPrefix: '',
    passagePrefix: '',
    symmetricPrefix: '',
    language: 'en',
    sizeMb: 3,
    license: 'MIT',
    description: 'test',
    verified: 'test',
  };

  test('downloads missing files from <endpoint>/<repo>/resolve/main/<path>, skipping optional 404s; then uses the cache', async () => {
    const cacheDir = tmp();
    hits.length = 0;
    const dir = await ensureModelDir(spec, { cacheDir, endpoint: base });
    expect(dir).toBe(path.join(cacheDir, 'test-model'));
    expect(hits.map((h) => h.url)).toEqual([
      '/org/test-model/resolve/main/onnx/model.onnx',
      '/org/test-model/resolve/main/tokenizer.json',
      '/org/test-model/resolve/main/config.json',
    ]);
    expect(fs.readFileSync(path.join(dir, 'model.onnx')).equals(payload)).toBe(true);
    expect(fs.existsSync(path.join(dir, 'config.json'))).toBe(false);
    // The hub's 404 for config.json is remembered: a restart asks for nothing, and works with no network at all.
    hits.length = 0;
    await ensureModelDir(spec, { cacheDir, endpoint: base });
    expect(hits).toEqual([]);
    await expect(ensureModelDir(spec, { cacheDir, endpoint: 'http://127.0.0.1:9' })).resolves.toBe(dir);
  });

  test('an optional file the network could not fetch does not stop the model; it is tried again next time', async () => {
    const cacheDir = tmp();
    const dir = path.join(cacheDir, spec.id);
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'model.onnx'), payload); // the pinned bytes: a cached file is checked
    fs.writeFileSync(path.join(dir, 'tokenizer.json'), 'x');
    await expect(ensureModelDir(spec, { cacheDir, endpoint: 'http://127.0.0.1:9' })).resolves.toBe(dir);
    hits.length = 0;
    await ensureModelDir(spec, { cacheDir, endpoint: base });
    expect(hits.map((h) => h.url)).toEqual(['/org/test-model/resolve/main/config.json']);
  });

  test('a pinned revision is fetched from resolve/<revision>/, and a file whose sha256 differs is refused', async () => {
    const cacheDir = tmp();
    hits.length = 0;
    const pinned: ModelSpec = { ...spec, id: 'pinned', revision: 'abc123', files: spec.files.slice(0, 2) };
    await ensureModelDir(pinned, { cacheDir, endpoint: base });
    expect(hits.map((h) => h.url)).toEqual(['/org/test-model/resolve/abc123/onnx/model.onnx', '/org/test-model/resolve/abc123/tokenizer.json']);
    const wrong: ModelSpec = { ...pinned, id: 'wrong', files: [{ ...spec.files[0], sha256: 'f'.repeat(64) }] };
    await expect(ensureModelDir(wrong, { cacheDir, endpoint: base })).rejects.toThrow(/sha256 [0-9a-f]{64}, expected f{64}/);
    expect(fs.existsSync(path.join(cacheDir, 'wrong', 'model.onnx'))).toBe(false);
  });

  test('offline: the error says where to put the files', async () => {
    const cacheDir = tmp();
    const err = await ensureModelDir(spec, { cacheDir, endpoint: 'http://127.0.0.1:9' }).catch((e) => e);
    expect(err.code).toBe('ERR_DOWNLOAD');
    expect(err.message).toContain(`copy the model's files (model.onnx, tokenizer.json, config.json) from org/test-model into ${path.join(cacheDir, 'test-model')}`);
    expect(err.message).toMatch(/or pass modelPath/);
  });
});
