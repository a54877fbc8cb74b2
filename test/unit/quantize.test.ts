// int8 dynamic quantisation: the rewritten graph, its accuracy against fp32, and the cached copy.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { Embedder } from '../../src/engine/embedder.js';
import { configFromArgs } from '../../src/cli/args.js';
import { ConfigError, configFromEnv, loadConfigFile, resolveConfig } from '../../src/service/config.js';
import { SimilarityService } from '../../src/service/service.js';
import { floatsOf, parseModel, withGraph } from '../../src/models/onnx-graph.js';
import { DataType, encodeModel, writeInitializer } from '../../src/models/onnx-writer.js';
import { ProtoWriter } from '../../src/models/protobuf.js';
import { outlierChannels } from '../../src/models/outlier-channels.js';
import { downProjections, quantizeInt8 } from '../../src/models/quantize.js';
import { binding, loadOnnxRuntime } from '../../src/runtime/binding.js';
import { cosineJs } from '../fixtures/reference.js';
import { fullSizeModel, needsFullSize, sentences } from '../fixtures/shared.js';
import { makeTinyModelDir, tinyBert } from '../fixtures/tiny-bert.js';

const texts = sentences(30);
const ops = (model: Uint8Array) => parseModel(model).nodes.map((n) => n.op);
const count = (list: string[], op: string) => list.filter((o) => o === op).length;

/** `model` written into `dir` and run once in ONNX Runtime on a short real sentence's token ids. */
async function runOnce(dir: string, model: Uint8Array, pooling: 'mean' | 'none'): Promise<Float32Array> {
  const file = path.join(dir, `model-${model.length}-${pooling}.onnx`);
  fs.writeFileSync(file, model);
  loadOnnxRuntime();
  const ids = Int32Array.from([101, 7592, 2088, 2003, 1037, 3231, 102]);
  const m = await binding().createModel(file, { pooling, normalize: pooling === 'mean' });
  try {
    return await m.run(ids, new Int32Array(ids.length).fill(1), null, [1, ids.length]);
  } finally {
    await m.close();
  }
}

describe('quantizeInt8', () => {
  test('rewrites every MatMul by a constant weight, and only those, with the bias Add after it folded in', () => {
    const dir = makeTinyModelDir({ hidden: 32 });
    const before = fs.readFileSync(path.join(dir, 'model.onnx'));
    const { bytes, report } = quantizeInt8(before);
    // tiny BERT: q, k, v, output, FFN in and out are weights (6); q·kᵀ and probs·v multiply activations (2).
    // FFN out is a down projection (4H → H) and stays fp32. Only FFN in has a bias.
    expect(report).toMatchObject({ matmuls: 8, quantized: 5, keptFp32: 1, split: 0, foldedBiases: 1 });
    const after = ops(bytes);
    expect(count(after, 'DynamicQuantizeMatMul')).toBe(5);
    expect(count(after, 'MatMul')).toBe(3);
    expect(count(after, 'Add')).toBe(count(ops(before), 'Add') - 1);
    expect(bytes.length).toBeLessThan(before.length);
  });

  test('with outlier channels, the FFN is split by channel: theirs through an fp32 copy of it, the rest in int8', async () => {
    const dir = makeTinyModelDir({ hidden: 32 });
    const before = fs.readFileSync(path.join(dir, 'model.onnx'));
    const downs = downProjections(before);
    expect(downs.map((d) => d.K)).toEqual([128]); // the FFN's 4H → H
    const split = quantizeInt8(before, new Map([[downs[0].weight, [3, 64, 127]]]));
    expect(split.report).toMatchObject({ matmuls: 8, quantized: 6, keptFp32: 0, split: 1 });
    // Up and down projections in int8 for 125 channels; a second up projection, activation (one Erf) and down
    // projection for the 3 outliers in fp32; no op over the whole activation added.
    const after = ops(split.bytes);
    expect(count(after, 'DynamicQuantizeMatMul')).toBe(6);
    expect(count(after, 'Erf')).toBe(2);
    expect(count(after, 'MatMul')).toBe(4);
    expect(count(after, 'Gather')).toBe(count(ops(before), 'Gather'));
    const int8Up = parseModel(split.bytes).inits.get(`${parseModel(before).nodes.find((n) => n.outputs[0] === 'h0')!.inputs[1]}_rest_int8`);
    expect(int8Up?.dims).toEqual([32, 125]);
    const whole = quantizeInt8(before, new Map([[downs[0].weight, []]])); // no outliers: plain int8
    expect(whole.report).toMatchObject({ quantized: 6, split: 0 });
    // Both run in ONNX Runtime and stay close to fp32 on real token ids.
    const fp32 = await runOnce(dir, before, 'mean');
    expect(cosineJs(fp32, await runOnce(dir, split.bytes, 'mean'))).toBeGreaterThan(0.99);
    expect(cosineJs(fp32, await runOnce(dir, whole.bytes, 'mean'))).toBeGreaterThan(0.99);
  });

  test('an outlier channel costs plain int8 over 4× the error of the split model', async () => {
    // The tiny model with one FFN channel made an outlier, as real text makes a few in trained models: its GELU
    // output is ~200 for every token while the others stay near 1, so one uint8 step of a shared scale (~0.8) rounds
    // the small channels away.
    const model = tinyBert({ hidden: 32 });
    const g = parseModel(model);
    const up = g.nodes.find((n) => n.outputs[0] === 'h0')!.inputs[1];
    const [H, K] = g.inits.get(up)!.dims;
    const w = floatsOf(g.inits.get(up)!)!;
    const b = floatsOf(g.inits.get('b1')!)!;
    const channel = 7;
    for (let r = 0; r < H; r++) w[r * K + channel] *= 4;
    b[channel] += 200;
    const graph = new ProtoWriter();
    for (const f of g.graph) {
      const t = [...g.inits.values()].find((i) => i.field === f);
      if (t?.name === up || t?.name === 'b1') writeInitializer(graph, { name: t.name, dims: t.dims, type: DataType.FLOAT, data: t.name === up ? w : b });
      else graph.raw(f.raw);
    }
    const outlier = withGraph(g.modelFields, graph.finish());
    const down = downProjections(outlier)[0].weight;
    const dir = makeTinyModelDir({ hidden: 32 });
    const fp32 = await runOnce(dir, outlier, 'none');
    const plain = cosineJs(fp32, await runOnce(dir, quantizeInt8(outlier, new Map([[down, []]])).bytes, 'none'));
    const split = cosineJs(fp32, await runOnce(dir, quantizeInt8(outlier, new Map([[down, [channel]]])).bytes, 'none'));
    expect(split).toBeGreaterThan(plain);
    expect(1 - split).toBeLessThan((1 - plain) / 4); // measured: 6e-6 vs 8e-5
  });

  test('an FFN whose activation is read elsewhere is not split: its down projection stays fp32', () => {
    const ffn = (exposeActivation: boolean) =>
      encodeModel({
        name: 'ffn',
        nodes: [
          { op: 'MatMul', inputs: ['x', 'w1'], outputs: ['h0'] },
          { op: 'Add', inputs: ['h0', 'b1'], outputs: ['h1'] },
          { op: 'Relu', inputs: ['h1'], outputs: ['act'] },
          { op: 'MatMul', inputs: ['act', 'w2'], outputs: ['y'] },
        ],
        initializers: [
          { name: 'w1', dims: [16, 64], type: DataType.FLOAT, data: new Float32Array(16 * 64).fill(0.1) },
          { name: 'b1', dims: [64], type: DataType.FLOAT, data: new Float32Array(64) },
          { name: 'w2', dims: [64, 16], type: DataType.FLOAT, data: new Float32Array(64 * 16).fill(0.1) },
        ],
        inputs: [{ name: 'x', type: DataType.FLOAT, shape: ['batch', 16] }],
        outputs: [{ name: 'y', type: DataType.FLOAT, shape: ['batch', 16] }, ...(exposeActivation ? [{ name: 'act', type: DataType.FLOAT, shape: ['batch', 64] }] : [])],
        opset: 17,
      });
    const outliers = new Map([['w2', [5]]]);
    expect(quantizeInt8(ffn(false), outliers).report).toMatchObject({ quantized: 2, split: 1, keptFp32: 0 });
    expect(quantizeInt8(ffn(true), outliers).report).toMatchObject({ quantized: 1, split: 0, keptFp32: 1 });
  });

  test('outlier channels: those far above the median channel, rounded up to 8 with the next largest, at most 1/32', () => {
    const amax = new Float32Array(512 + 64).fill(1);
    amax.set([9, 4, 2.9, 30], 10); // channels 10 (9×), 11 (4×) and 13 (30×) are over 3× the median; 12 is next
    amax.set([2, 2.5, 1.5, 1.2], 100); // the next largest, to round 3 up to 8
    amax[512 + 5] = 50; // second projection, K = 64: at most 2 channels
    amax[512 + 6] = 40;
    amax[512 + 7] = 30;
    const found = outlierChannels([{ input: 'a', weight: 'w1', K: 512 }, { input: 'b', weight: 'w2', K: 64 }], amax);
    expect(found.get('w1')).toEqual([10, 11, 12, 13, 100, 101, 102, 103]);
    expect(found.get('w2')).toEqual([5, 6]);
    const none = outlierChannels([{ input: 'a', weight: 'w1', K: 64 }], new Float32Array(64).fill(1));
    expect(none.get('w1')).toEqual([]);
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
      // Truncated, as by a full disk: first the optimised graph's weights, then the int8 copy it was made from.
      for (const sub of ['optimized', 'quantized']) {
        // The optimised graph is a folder; its weights file is what a full disk cuts short.
        const weights = (made: string) => (sub === 'optimized' ? path.join(made, 'model.data') : made);
        const file = weights(only(sub)[0]);
        fs.writeFileSync(file, fs.readFileSync(file).subarray(0, 100));
        const again = await Embedder.create({ modelPath: dir, cacheDir, quantize: 'int8', cacheOptimizedModel: true });
        const [v] = await again.embed(['corruption test']);
        expect(cosineJs(v, expected)).toBeGreaterThan(0.99999);
        await again.close();
        expect(only(sub).map((f) => fs.statSync(weights(f)).size).every((size) => size > 100)).toBe(true);
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

describe("the service's quantize setting (serve --quantize int8)", () => {
  test('config file key, env var, CLI flag and their check', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fe-qc-'));
    try {
      const file = path.join(dir, 'config.json');
      fs.writeFileSync(file, JSON.stringify({ fastembed: { quantize: 'int8' } }));
      expect(loadConfigFile(file).quantize).toBe('int8');
      expect(configFromEnv({ FASTEMBED_QUANTIZE: 'int8' }).quantize).toBe('int8');
      expect(resolveConfig({}).quantize).toBe('none');
      expect(configFromArgs({ quantize: 'int8' }).quantize).toBe('int8');
      expect(() => resolveConfig({ quantize: 'fp16' as never })).toThrow(ConfigError);
      expect(() => resolveConfig({ quantize: 'fp16' as never })).toThrow(/quantize: must be 'none' or 'int8', got "fp16"/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test("a service with quantize 'int8' embeds with the int8 model and says so in modelInfo and its stats", async () => {
    const dir = makeTinyModelDir({ hidden: 64 });
    const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fe-qs-'));
    const fp32 = new SimilarityService({ modelPath: dir, cacheDir, enableCache: false });
    const int8 = new SimilarityService({ modelPath: dir, cacheDir, enableCache: false, quantize: 'int8' });
    try {
      const a = await fp32.computeBatchEmbeddings(texts.slice(0, 8));
      const b = await int8.computeBatchEmbeddings(texts.slice(0, 8));
      const cos = a.map((v, i) => cosineJs(v, b[i]));
      expect(Math.min(...cos)).toBeGreaterThanOrEqual(0.99);
      expect(Math.min(...cos)).toBeLessThan(0.999999); // the int8 graph ran, not the fp32 one
      expect(fs.readdirSync(path.join(cacheDir, 'quantized'))).toHaveLength(1);
      expect(int8.modelInfo?.quantize).toBe('int8');
      expect(int8.getStats().quantize).toBe('int8');
      expect(fp32.modelInfo?.quantize).toBe('none');
      expect(fp32.getStats().quantize).toBe('none');
    } finally {
      await Promise.all([fp32.close(), int8.close()]);
      fs.rmSync(dir, { recursive: true, force: true });
      fs.rmSync(cacheDir, { recursive: true, force: true });
    }
  });
});
