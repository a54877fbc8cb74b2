// Faults: broken model files, a missing runtime, a broken, unwritable or full disk cache, kill -9 during cache writes.
// Each time the service keeps answering (fallback or clear error) and /health says why.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test, vi } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { DiskStore } from '../../src/cache/disk-store.js';
import { buildServer } from '../../src/http/server.js';
import { SimilarityService } from '../../src/service/service.js';
import { makeTinyModelDir } from '../fixtures/tiny-bert.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const tmp = (p: string) => fs.mkdtempSync(path.join(os.tmpdir(), p));
const cacheDir = tmp('fe-faults-');

describe('model faults', () => {
  test('missing tokenizer: degraded with the missing file named, Jaccard answers', async () => {
    const dir = makeTinyModelDir({ hidden: 16 });
    fs.rmSync(path.join(dir, 'tokenizer.json'));
    const s = await SimilarityService.create({ modelPath: dir, cacheDir, fallback: true });
    expect((await s.computeSimilarity('a b', 'a')).method).toBe('jaccard_fallback');
    expect(s.health()).toMatchObject({ status: 'degraded' });
    expect(s.health().reasons[0]).toMatch(/is missing tokenizer.json/);
    await s.close();
  });

  test('truncated model file: degraded with ORT\'s reason', async () => {
    const dir = makeTinyModelDir({ hidden: 16 });
    const file = path.join(dir, 'model.onnx');
    fs.truncateSync(file, Math.floor(fs.statSync(file).size / 2));
    const s = await SimilarityService.create({ modelPath: dir, cacheDir, fallback: true });
    expect((await s.findMostSimilar('a', ['a', 'b'], 1))[0]).toMatchObject({ index: 0, method: 'jaccard_fallback' });
    expect(s.health().reasons[0]).toMatch(/Loading model .* failed/);
    await s.close();
  });

  test('no loadable libonnxruntime: the error names every path tried and how to fix it', () => {
    const script = `
      const b = require('node-gyp-build')(${JSON.stringify(root)});
      try { b.loadRuntime(['/nonexistent/libonnxruntime.so.1', ${JSON.stringify(path.join(root, 'package.json'))}]); }
      catch (e) { console.log(JSON.stringify({ message: e.message, code: e.code })); }`;
    const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
    const err = JSON.parse(r.stdout);
    expect(err.code).toBe('ERR_ORT_LOAD');
    expect(err.message).toMatch(/Paths tried:\n  \/nonexistent\/libonnxruntime.so.1: .*No such file/);
    expect(err.message).toMatch(/package.json: .*(invalid ELF|file too short)/);
    expect(err.message).toMatch(/ONNX_PATH/);
  });

  test('ONNX_PATH pointing at a library that does not load falls back with a warning', () => {
    const script = `
      import('${path.join(root, 'dist/index.js')}').then((m) => console.log(JSON.stringify(m.loadOnnxRuntime())));`;
    const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', env: { ...process.env, ONNX_PATH: '/nonexistent/libonnxruntime.so' } });
    expect(JSON.parse(r.stdout).version).toMatch(/^1\./);
    expect(r.stderr).toMatch(/could not load ONNX Runtime from \/nonexistent\/libonnxruntime.so; using /);
  });
});

describe('disk cache faults', () => {
  test('a disk cache path that cannot be opened: the model still answers, health says why', async () => {
    const notADir = path.join(tmp('fe-file-'), 'cache');
    fs.writeFileSync(notADir, 'a file where a directory should be');
    const s = await SimilarityService.create({ modelPath: makeTinyModelDir({ hidden: 16 }), cacheDir, diskCachePath: notADir });
    expect((await s.computeSimilarity('a', 'b')).method).toBe('fastembed_cosine');
    expect(s.health().status).toBe('degraded');
    expect(s.health().reasons.join()).toMatch(/L2 cache unavailable/);
    await s.close();
  });

  test('a corrupted entry is detected by its checksum, dropped and recomputed', async () => {
    const dir = tmp('fe-lmdb-');
    const modelPath = makeTinyModelDir({ hidden: 16 });
    const first = await SimilarityService.create({ modelPath, cacheDir, diskCachePath: dir });
    const good = await first.computeEmbedding('protect me');
    await first.close();
    // Flip bytes in every stored entry.
    const { open } = await import('lmdb');
    const db = open<Buffer, string>({ path: dir, encoding: 'binary' });
    for (const { key, value } of db.getRange()) {
      const bad = Buffer.from(value);
      bad[0] ^= 0xff;
      await db.put(key, bad);
    }
    await db.close();
    const second = await SimilarityService.create({ modelPath, cacheDir, diskCachePath: dir });
    const again = await second.computeEmbedding('protect me');
    expect(Array.from(again)).toEqual(Array.from(good));
    expect(second.getStats()).toMatchObject({ textsEmbedded: 1, cache: { l2Hits: 0 } });
    await second.close();
  });

  test.each([
    ['garbage', (file: string) => fs.writeFileSync(file, Buffer.alloc(64 * 1024, 0xab))],
    ['truncated', (file: string) => fs.truncateSync(file, Math.floor(fs.statSync(file).size / 3))],
  ])('a %s data.mdb is set aside with a warning; the service starts on a fresh store and answers', async (_kind, damage) => {
    const dir = tmp('fe-damaged-');
    const modelPath = makeTinyModelDir({ hidden: 16 });
    const first = await SimilarityService.create({ modelPath, cacheDir, diskCachePath: dir });
    await first.computeBatchEmbeddings(Array.from({ length: 300 }, (_, i) => `entry ${i}`));
    await first.close();
    damage(path.join(dir, 'data.mdb'));
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on('warning', onWarning);
    try {
      const s = await SimilarityService.create({ modelPath, cacheDir, diskCachePath: dir });
      const r = await s.computeSimilarity('entry 1', 'entry 2');
      expect(r.method).toBe('fastembed_cosine');
      await s.close();
      await vi.waitFor(() => expect(warnings.some((w) => (w as { code?: string }).code === 'FASTEMBED_DISK_CACHE')).toBe(true));
      expect(fs.readdirSync(path.dirname(dir)).some((f) => f.startsWith(`${path.basename(dir)}.damaged-`))).toBe(true);
    } finally {
      process.off('warning', onWarning);
      for (const f of fs.readdirSync(path.dirname(dir))) if (f.startsWith(`${path.basename(dir)}.damaged-`)) fs.rmSync(path.join(path.dirname(dir), f), { recursive: true, force: true });
    }
  });

  // A real full filesystem: a 1 MB tmpfs, which needs root (CI runs as root); elsewhere the test says why it skips.
  const mountable = process.getuid?.() === 0 && spawnSync('mount', ['--version']).status === 0;
  test.skipIf(!mountable)('a full disk: writes fail without crashing, health says so, one JSON warning instead of lmdb\'s stderr dump, writes resume once space is back', async () => {
    const mnt = tmp('fe-full-');
    expect(spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', mnt]).status).toBe(0);
    let s: SimilarityService | undefined;
    let app: FastifyInstance | undefined;
    // Before the store opens, so its filter of lmdb's own print sits in front of this spy.
    const printed = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    const lines: Array<Record<string, unknown>> = [];
    try {
      const filler = path.join(mnt, 'filler');
      fs.writeFileSync(filler, Buffer.alloc(640 * 1024));
      const store = await DiskStore.open(path.join(mnt, 'cache'), { coolDownMs: 200 });
      s = await SimilarityService.create({ modelPath: makeTinyModelDir({ hidden: 16 }), cacheDir }, { store });
      app = await buildServer(s, { logger: { level: 'info', stream: { write: (line: string) => void lines.push(JSON.parse(line)) } } });
      const service = s;
      // Distinct texts until a write fails (the free space holds a few hundred entries at most).
      for (let i = 0; i < 200 && s.health().status === 'healthy'; i++) {
        const vectors = await service.computeBatchEmbeddings(Array.from({ length: 50 }, (_, j) => `text ${i} ${j}`));
        expect(vectors).toHaveLength(50);
      }
      expect(s.health().status).toBe('degraded');
      expect(s.health().reasons.join()).toMatch(/disk cache unavailable: writes failing: .*disk full/);
      expect((await s.computeSimilarity('still', 'answers')).method).toBe('fastembed_cosine');
      // lmdb's console.error of the commit failure is dropped; the server's log has it as one warning with the reason.
      expect(printed).not.toHaveBeenCalled();
      const warnings = lines.filter((l) => l.component === 'disk_cache' && l.level === 40);
      expect(warnings.length).toBeGreaterThanOrEqual(1);
      expect(String(warnings[0].msg)).toMatch(/^disk cache write failed: commit failed: (Input\/output error|No space left on device|MDB_MAP_FULL).* \(is the disk full\?\); writes pause for 200 ms/);
      fs.rmSync(filler);
      await vi.waitFor(
        async () => {
          await service.computeEmbedding(`after ${Math.random()}`);
          expect(service.health().status).toBe('healthy');
        },
        { timeout: 20_000, interval: 250 },
      );
      expect(lines.some((l) => l.component === 'disk_cache' && l.level === 30 && /^disk cache writes resumed after: /.test(String(l.msg)))).toBe(true);
    } finally {
      printed.mockRestore();
      await app?.close();
      await s?.close(); // the store's file must be closed before the unmount
      spawnSync('umount', [mnt]);
    }
  });

  test('a path on a kernel filesystem is refused at once (it would hang), and the model still answers', async () => {
    const s = await SimilarityService.create({ modelPath: makeTinyModelDir({ hidden: 16 }), cacheDir, diskCachePath: '/proc/fastembed-cache' });
    expect((await s.computeSimilarity('a', 'b')).method).toBe('fastembed_cosine');
    expect(s.health().reasons.join()).toMatch(/kernel filesystem/);
    await s.close();
  });

  test('kill -9 during writes loses no committed entry and never yields a corrupt vector', async () => {
    const dir = tmp('fe-kill-');
    const writer = `
      import('${path.join(root, 'dist/stores.js')}').then(async ({ DiskStore }) => {
        const store = await DiskStore.open(${JSON.stringify(dir)});
        for (let i = 0; ; i++) {
          const v = new Float32Array(384).fill(i);
          await store.set('k' + i, v);
          process.stdout.write(i + '\\n'); // committed
        }
      });`;
    const child = spawn(process.execPath, ['-e', writer]);
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    await new Promise((r) => setTimeout(r, 1500));
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const committed = out.trim().split('\n').map(Number).filter(Number.isFinite);
    expect(committed.length).toBeGreaterThan(10);
    const store = await DiskStore.open(dir);
    expect(store.setAside).toBeUndefined(); // a killed writer leaves a sound store, not one to set aside
    for (const i of committed) {
      const v = await store.get(`k${i}`);
      expect(v, `entry ${i}`).toBeDefined();
      expect(v!.every((x) => x === i)).toBe(true);
    }
    const next = await store.get(`k${committed.at(-1)! + 1}`);
    if (next) expect(next.every((x) => x === committed.at(-1)! + 1)).toBe(true); // either absent or whole
    await store.close();
  });
});
