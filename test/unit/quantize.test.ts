// int8 dynamic quantisation: the rewritten graph, its accuracy against fp32, and the cached copy.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { Embedder } from '../../src/embedder.js';
import { outlierChannels } from '../../src/models/outlier-channels.js';
import { downProjections, quantizeInt8 } from '../../src/models/quantize.js';
import { binding, loadOnnxRuntime } from '../../src/binding.js';
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

  test('with outlier channels, a down projection is split: those channels in fp32, the rest in int8, the same result', async () => {
    const dir = makeTinyModelDir({ hidden: 32 });
    const before = fs.readFileSync(path.join(dir, 'model.onnx'));
    const downs = downProjections(before);
    expect(downs.map((d) => d.K)).toEqual([128]); // the FFN's 4H → H
    const split = quantizeInt8(before, new Map([[downs[0].weight, [3, 64, 127]]]));
    expect(split.report).toMatchObject({ matmuls: 8, quantized: 6, keptFp32: 0, split: 1 });
    const text = Buffer.from(split.bytes).toString('latin1');
    for (const op of ['Gather', 'Add', 'Mul']) expect(text).toContain(op);
    const whole = quantizeInt8(before, new Map([[downs[0].weight, []]])); // no outliers: plain int8
    expect(whole.report).toMatchObject({ quantized: 6, split: 0 });
    // Both run in ONNX Runtime and stay close to fp32 on real token ids.
    loadOnnxRuntime();
    const ids = Int32Array.from([101, 7592, 2088, 2003, 1037, 3231, 102]);
    const mask = new Int32Array(ids.length).fill(1);
    const run = async (bytes: Uint8Array) => {
      const file = path.join(dir, `q-${bytes.length}.onnx`);
      fs.writeFileSync(file, bytes);
      const m = await binding().createModel(file, { pooling: 'mean', normalize: true });
      try {
        return await m.run(ids, mask, null, [1, ids.length]);
      } finally {
        await m.close();
      }
    };
    const fp32 = await run(before);
    expect(cosineJs(fp32, await run(split.bytes))).toBeGreaterThan(0.99);
    expect(cosineJs(fp32, await run(whole.bytes))).toBeGreaterThan(0.99);
  });

  test('outlier channels: those far above the median channel, largest first up to 1/32 of them, in channel order', () => {
    const amax = new Float32Array(2 * 64).fill(1);
    amax.set([9, 4, 2.9, 30], 10); // first projection: channels 10 (9×), 11 (4×) and 13 (30×) are over 3× the median
    amax[64 + 5] = 50;
    const found = outlierChannels([{ input: 'a', weight: 'w1', K: 64 }, { input: 'b', weight: 'w2', K: 64 }], amax);
    expect(found.get('w1')).toEqual([10, 13]); // 64/32 = 2 at most: the two largest
    expect(found.get('w2')).toEqual([5]);
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
