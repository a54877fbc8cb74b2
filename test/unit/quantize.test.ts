// int8 dynamic quantisation: the rewritten graph, its accuracy against fp32, and the cached copy.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { Embedder } from '../../src/embedder.js';
import { quantizeInt8 } from '../../src/models/quantize.js';
import { cosineJs } from '../fixtures/reference.js';
import { fullSizeModel, needsFullSize, sentences } from '../fixtures/shared.js';
import { makeTinyModelDir } from '../fixtures/tiny-bert.js';

const texts = sentences(30);

describe('quantizeInt8', () => {
  test('rewrites every MatMul by a constant weight, and only those', () => {
    const dir = makeTinyModelDir({ hidden: 32 });
    const before = fs.readFileSync(path.join(dir, 'model.onnx'));
    const { bytes, report } = quantizeInt8(before);
    // tiny BERT: q, k, v, output, FFN in and out are weights (6); q·kᵀ and probs·v multiply activations (2).
    // FFN out is a down projection (4H → H) and stays fp32.
    expect(report).toMatchObject({ matmuls: 8, quantized: 5, keptFp32: 1 });
    const text = Buffer.from(bytes).toString('latin1');
    expect(text.split('DynamicQuantizeMatMul').length - 1).toBe(5);
    expect(text).toContain('com.microsoft');
    expect(bytes.length).toBeLessThan(before.length);
  });

  test('rejects bytes that are not a model', () => {
    expect(() => quantizeInt8(new Uint8Array([1, 2, 3]))).toThrow();
  });
});

describe("Embedder quantize: 'int8'", () => {
  test('embeddings stay within cosine 0.99 of fp32, and the quantised file is made once', async () => {
    const dir = makeTinyModelDir({ hidden: 64 });
    const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fe-q-'));
    const fp32 = await Embedder.create({ modelPath: dir, cacheDir });
    const int8 = await Embedder.create({ modelPath: dir, cacheDir, quantize: 'int8' });
    const a = await fp32.embed(texts);
    const b = await int8.embed(texts);
    const cos = a.map((v, i) => cosineJs(v, b[i]));
    expect(Math.min(...cos)).toBeGreaterThanOrEqual(0.99);
    // and it is a different computation, not the fp32 model again
    expect(Math.min(...cos)).toBeLessThan(0.999999);
    const files = fs.readdirSync(path.join(cacheDir, 'quantized'));
    expect(files).toHaveLength(1);
    const mtime = fs.statSync(path.join(cacheDir, 'quantized', files[0])).mtimeMs;
    const again = await Embedder.create({ modelPath: dir, cacheDir, quantize: 'int8' });
    expect(fs.statSync(path.join(cacheDir, 'quantized', files[0])).mtimeMs).toBe(mtime);
    await Promise.all([fp32.close(), int8.close(), again.close()]);
  });

  test('a corrupt cached int8 copy or optimised graph is made again from the source model', async () => {
    const dir = makeTinyModelDir({ hidden: 32 });
    const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fe-q-'));
    try {
      const first = await Embedder.create({ modelPath: dir, cacheDir, quantize: 'int8', cacheOptimizedModel: true });
      const [expected] = await first.embed(['corruption test']);
      await first.close();
      const only = (sub: string) => fs.readdirSync(path.join(cacheDir, sub)).map((f) => path.join(cacheDir, sub, f));
      // Truncated, as by a full disk: first the optimised graph, then the int8 copy it was made from.
      for (const sub of ['optimized', 'quantized']) {
        const [file] = only(sub);
        fs.writeFileSync(file, fs.readFileSync(file).subarray(0, 100));
        const again = await Embedder.create({ modelPath: dir, cacheDir, quantize: 'int8', cacheOptimizedModel: true });
        const [v] = await again.embed(['corruption test']);
        expect(cosineJs(v, expected)).toBeGreaterThan(0.99999);
        await again.close();
        expect(only(sub).map((f) => fs.statSync(f).size).every((size) => size > 100)).toBe(true);
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
      fs.rmSync(cacheDir, { recursive: true, force: true });
    }
  });

  test.skipIf(!fullSizeModel)(`the full-size model's int8 copy loads and stays within cosine 0.99 of fp32${needsFullSize}`, async () => {
    const dir = fullSizeModel!;
    const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fe-q-'));
    const fp32 = await Embedder.create({ model: 'all-MiniLM-L6-v2', modelPath: dir, cacheDir });
    const int8 = await Embedder.create({ model: 'all-MiniLM-L6-v2', modelPath: dir, cacheDir, quantize: 'int8' });
    const a = await fp32.embed(texts.slice(0, 12));
    const b = await int8.embed(texts.slice(0, 12));
    a.forEach((v, i) => expect(cosineJs(v, b[i])).toBeGreaterThanOrEqual(0.99));
    await Promise.all([fp32.close(), int8.close()]);
  });

  test('bad values are a RangeError', async () => {
    await expect(Embedder.create({ modelPath: makeTinyModelDir({ hidden: 16 }), quantize: 'int4' as never })).rejects.toThrow(
      /quantize must be 'none' or 'int8'/,
    );
  });
});
