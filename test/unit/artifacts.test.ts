// The cache directory's made files (int8 copy, optimised graph): one per slot, older versions removed when a new
// one is made, other slots and foreign files left alone.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { Embedder } from '../../src/embedder.js';
import { makeTinyModelDir } from '../fixtures/tiny-bert.js';

const dir = makeTinyModelDir({ hidden: 32 });
const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fe-artifacts-'));
const list = (sub: string) => fs.readdirSync(path.join(cacheDir, sub)).sort();

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

test('a changed model replaces its cached files instead of adding to them; other slots and files stay', async () => {
  await start('none');
  await start('int8');
  const before = { optimized: list('optimized'), quantized: list('quantized') };
  expect(before.optimized).toHaveLength(2); // fp32 and int8, each its own slot
  expect(before.quantized).toHaveLength(1);
  // Left by the older one-hash naming, and a file that isn't ours.
  const legacy = path.join(cacheDir, 'optimized', '0123456789abcdef01234567.ort');
  const foreign = path.join(cacheDir, 'optimized', 'notes.txt');
  fs.writeFileSync(legacy, 'old');
  fs.writeFileSync(foreign, 'mine');

  // The model is re-exported in place: same path, new mtime.
  const model = path.join(dir, 'model.onnx');
  const later = new Date(fs.statSync(model).mtimeMs + 60_000);
  fs.utimesSync(model, later, later);
  const fp32 = await start('none');
  const int8 = await start('int8');

  const after = { optimized: list('optimized'), quantized: list('quantized') };
  expect(after.quantized).toHaveLength(1);
  expect(after.quantized[0]).not.toBe(before.quantized[0]);
  expect(after.optimized).toEqual(expect.arrayContaining(['notes.txt']));
  expect(after.optimized.filter((f) => f.endsWith('.ort'))).toHaveLength(2);
  expect(after.optimized.filter((f) => before.optimized.includes(f))).toEqual([]);
  expect(fs.existsSync(legacy)).toBe(false);
  // The remade files still give the model's vectors (int8 within its tolerance of fp32).
  let dot = 0;
  for (let i = 0; i < fp32.length; i++) dot += fp32[i] * int8[i];
  expect(dot).toBeGreaterThan(0.99);
});
