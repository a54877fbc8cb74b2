// The cache directory's made files (int8 copy, optimised graph): one slot each, a new version replacing the old ones
// once they have gone unused for STALE_AFTER_MS; other slots and foreign files left alone.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { Embedder } from '../../src/engine/embedder.js';
import { STALE_AFTER_MS } from '../../src/models/artifacts.js';
import { makeTinyModelDir } from '../fixtures/tiny-bert.js';

const dir = makeTinyModelDir({ hidden: 32 });
const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fe-artifacts-'));
const list = (sub: string) => fs.readdirSync(path.join(cacheDir, sub)).sort();
const files = () => ({ optimized: list('optimized'), quantized: list('quantized') });
/** Last used (atime) long enough ago to be stale; mtime kept. */
const unusedFor = (file: string, ms: number) => fs.utimesSync(file, new Date(Date.now() - ms), fs.statSync(file).mtime);

afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.rmSync(cacheDir, { recursive: true, force: true });
});

async function start(quantize: 'none' | 'int8'): Promise<Float32Array> {
  const e = await Embedder.create({ modelPath: dir, cacheDir, quantize });
  try {
    return (await e.embed(['a cached model']))[0];
  } finally {
    await e.close();
  }
}

test('a changed model replaces its cached files once the old ones go unused; other slots and files stay', async () => {
  await start('none');
  await start('int8');
  const first = files();
  expect(first.optimized).toHaveLength(2); // fp32 and int8, each its own slot: a folder with the graph and its weights
  for (const f of first.optimized) expect(fs.readdirSync(path.join(cacheDir, 'optimized', f)).sort()).toEqual(['model.data', 'model.onnx']);
  expect(first.quantized).toHaveLength(1);
  // Left by the older one-hash naming (one unused for long, one recently used), and a file that isn't ours.
  const legacyOld = path.join(cacheDir, 'optimized', '0123456789abcdef01234567.ort');
  const legacyRecent = path.join(cacheDir, 'optimized', '76543210fedcba9876543210.ort');
  const foreign = path.join(cacheDir, 'optimized', 'notes.txt');
  // A single-file ORT-format graph of the layout before cache folders, in the fp32 slot, unused for long.
  const singleFile = path.join(cacheDir, 'optimized', `${first.optimized[0].slice(0, 13)}000000000000.ort`);
  for (const f of [legacyOld, legacyRecent, foreign, singleFile]) fs.writeFileSync(f, 'x');
  for (const f of [legacyOld, foreign, singleFile]) unusedFor(f, 2 * STALE_AFTER_MS);

  // The model is re-exported in place: same path, new mtime. The old files were used a moment ago (another replica
  // may still run on them), so they stay beside the new ones.
  const model = path.join(dir, 'model.onnx');
  const later = new Date(fs.statSync(model).mtimeMs + 60_000);
  fs.utimesSync(model, later, later);
  await start('none');
  await start('int8');
  const second = files();
  expect(second.quantized).toHaveLength(2);
  expect(second.optimized.filter((f) => first.optimized.includes(f))).toHaveLength(2);
  expect(fs.existsSync(legacyOld)).toBe(false);
  expect(fs.existsSync(singleFile)).toBe(false);
  expect(fs.existsSync(legacyRecent)).toBe(true);

  // A day on, nobody uses the old versions: the next start removes them.
  for (const f of first.optimized) unusedFor(path.join(cacheDir, 'optimized', f), STALE_AFTER_MS + 60_000);
  for (const f of first.quantized) unusedFor(path.join(cacheDir, 'quantized', f), STALE_AFTER_MS + 60_000);
  const fp32 = await start('none');
  const int8 = await start('int8');
  const third = files();
  expect(third.quantized).toEqual(second.quantized.filter((f) => !first.quantized.includes(f)));
  const folders = (names: string[]) => names.filter((f) => /^[0-9a-f]{12}-[0-9a-f]{12}$/.test(f));
  expect(folders(third.optimized)).toEqual(folders(second.optimized).filter((f) => !first.optimized.includes(f)));
  expect(folders(third.optimized)).toHaveLength(2);
  expect(third.optimized).toContain('notes.txt');
  // The files kept still give the model's vectors (int8 within its tolerance of fp32).
  let dot = 0;
  for (let i = 0; i < fp32.length; i++) dot += fp32[i] * int8[i];
  expect(dot).toBeGreaterThan(0.99);
});
