// The native core: SessionPool, BatchRunner and the async bindings, against the tiny generated BERT and every
// full-size model in the shared fixtures (when present), with onnxruntime-node's own API as the reference.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { binding, loadOnnxRuntime, type NativeModel } from '../../src/runtime/binding.js';
import { TextTokenizer } from '../../src/runtime/tokenizer.js';
import { assertSameEmbeddings, cosineJs, normJs, referenceEmbeddings } from '../fixtures/reference.js';
import { fullSizeModel, needsFullSize, sentences as realSentences, sharedModelDirs } from '../fixtures/shared.js';
import { makeTinyModelDir, type TinyBertOptions } from '../fixtures/tiny-bert.js';

const native = binding();
beforeAll(() => {
  loadOnnxRuntime();
});

/** Pads id lists into one batch, the way the Embedder does. */
function pad(ids: number[][]): { inputIds: Int32Array; mask: Int32Array; shape: [number, number] } {
  const seq = Math.max(...ids.map((r) => r.length));
  const inputIds = new Int32Array(ids.length * seq);
  const mask = new Int32Array(ids.length * seq);
  ids.forEach((r, i) => {
    inputIds.set(r, i * seq);
    mask.fill(1, i * seq, i * seq + r.length);
  });
  return { inputIds, mask, shape: [ids.length, seq] };
}

function rows(data: Float32Array, dim: number): Float32Array[] {
  return Array.from({ length: data.length / dim }, (_, i) => data.subarray(i * dim, (i + 1) * dim));
}

const SAMPLE_IDS = [
  [101, 7592, 2088, 102],
  [101, 1037, 2158, 2003, 2652, 1037, 2858, 1012, 102],
  [101, 102],
  [101, 2023, 2003, 1037, 2936, 6251, 2008, 2038, 2062, 19204, 2015, 2084, 1996, 2500, 1012, 102],
];

describe('NativeModel on a tiny random BERT', () => {
  let dir: string;
  let model: NativeModel;
  beforeAll(async () => {
    dir = makeTinyModelDir({ hidden: 32 });
    model = await native.createModel(path.join(dir, 'model.onnx'), { poolSize: 2, pooling: 'mean' });
  });
  afterAll(async () => {
    await model.close();
  });

  test('reads names and dimension from the model', () => {
    const info = model.info();
    expect(info).toMatchObject({
      dim: 32,
      inputNames: ['input_ids', 'attention_mask', 'token_type_ids'],
      outputName: 'last_hidden_state',
      outputRank: 3,
      poolSize: 2,
      closed: false,
    });
    expect(info.intraOpThreads).toBeGreaterThanOrEqual(1);
  });

  test('returns one contiguous rows × dim Float32Array of unit vectors equal to the reference', async () => {
    const { inputIds, mask, shape } = pad(SAMPLE_IDS);
    const out = await model.run(inputIds, mask, null, shape);
    expect(out).toBeInstanceOf(Float32Array);
    expect(out.length).toBe(SAMPLE_IDS.length * 32);
    const ref = await referenceEmbeddings(path.join(dir, 'model.onnx'), { ids: SAMPLE_IDS, pooling: 'mean' });
    rows(out, 32).forEach((v) => expect(normJs(v)).toBeCloseTo(1, 5));
    assertSameEmbeddings(rows(out, 32), ref, 0.99999);
  });

  test('is deterministic, and BigInt64Array / Uint32Array inputs give the same result', async () => {
    const { inputIds, mask, shape } = pad(SAMPLE_IDS);
    const a = await model.run(inputIds, mask, null, shape);
    const b = await model.run(BigInt64Array.from(inputIds, BigInt), BigInt64Array.from(mask, BigInt), null, shape);
    const c = await model.run(Uint32Array.from(inputIds), Uint32Array.from(mask), new Int32Array(inputIds.length), shape);
    expect(Array.from(b)).toEqual(Array.from(a));
    expect(Array.from(c)).toEqual(Array.from(a));
  });

  test('padding does not change a row: alone and in a padded batch agree', async () => {
    const alone = pad([SAMPLE_IDS[0]]);
    const single = await model.run(alone.inputIds, alone.mask, null, alone.shape);
    const batch = pad(SAMPLE_IDS);
    const many = await model.run(batch.inputIds, batch.mask, null, batch.shape);
    expect(cosineJs(single, many.subarray(0, 32))).toBeGreaterThanOrEqual(0.99999);
  });

  test('200 simultaneous runs on a pool of 2 all resolve correctly while the event loop keeps ticking', async () => {
    const { inputIds, mask, shape } = pad(SAMPLE_IDS);
    const expected = Array.from(await model.run(inputIds, mask, null, shape));
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    const results = await Promise.all(Array.from({ length: 200 }, () => model.run(inputIds, mask, null, shape)));
    clearInterval(timer);
    for (const r of results) expect(Array.from(r)).toEqual(expected);
    expect(ticks).toBeGreaterThan(0);
  });

  test('rejects bad input with TypeError / RangeError before any native work', async () => {
    const { inputIds, mask, shape } = pad(SAMPLE_IDS);
    expect(() => model.run(Float32Array.from(inputIds) as never, mask, null, shape)).toThrow(TypeError);
    expect(() => model.run(Array.from(inputIds) as never, mask, null, shape)).toThrow(
      /inputIds must be an Int32Array, Uint32Array or BigInt64Array/,
    );
    expect(() => model.run(inputIds, mask.subarray(1), null, shape)).toThrow(RangeError);
    expect(() => model.run(inputIds, mask.subarray(1), null, shape)).toThrow(/attentionMask has \d+ elements but shape/);
    expect(() => model.run(inputIds, mask, new Int32Array(3), shape)).toThrow(/tokenTypeIds has 3 elements/);
    expect(() => model.run(new Int32Array(0), new Int32Array(0), null, [0, 4])).toThrow(/shape\[0\] \(rows\) must be a positive integer/);
    expect(() => model.run(new Int32Array(0), new Int32Array(0), null, [2, 0])).toThrow(/shape\[1\] \(seqLen\) must be a positive integer/);
    expect(() => model.run(inputIds, mask, null, [Number.NaN, 4])).toThrow(RangeError);
    expect(() => model.run(inputIds, mask, null, [4] as never)).toThrow(TypeError);
    expect(() => model.run(new Int32Array([101, 102]), new Int32Array([0, 0]), null, [1, 2])).toThrow(
      /attentionMask row 0 is all zeros/,
    );
  });

  test('an ORT failure mid-batch (token id outside the vocabulary) rejects with ORT\'s message and code', async () => {
    const err = await model.run(new Int32Array([101, 999999, 102]), new Int32Array([1, 1, 1]), null, [1, 3]).catch((e) => e);
    expect(err).toBeInstanceOf(Error);
    expect(err.code).toMatch(/^ERR_ORT_/);
    expect(err.message).toMatch(/ONNX Runtime failed to run the batch/);
    // and the pool still works afterwards
    const ok = await model.run(new Int32Array([101, 102]), new Int32Array([1, 1]), null, [1, 2]);
    expect(ok.length).toBe(32);
  });
});

describe('model variants', () => {
  test.each<[string, TinyBertOptions]>([
    ['no token_type_ids input', { tokenTypes: false }],
    ['int32 id inputs', { idType: 'int32' }],
    ['a differently named output', { outputName: 'token_embeddings' }],
    ['an extra pooled output beside the token embeddings', { pooledOutput: 'extra' }],
  ])('runs a model with %s and matches the reference', async (_name, opts) => {
    const dir = makeTinyModelDir({ hidden: 16, ...opts });
    const model = await native.createModel(path.join(dir, 'model.onnx'), { pooling: 'mean' });
    const info = model.info();
    expect(info.outputRank).toBe(3);
    expect(info.inputNames.includes('token_type_ids')).toBe(opts.tokenTypes !== false);
    const { inputIds, mask, shape } = pad(SAMPLE_IDS);
    const out = await model.run(inputIds, mask, null, shape);
    const ref = await referenceEmbeddings(path.join(dir, 'model.onnx'), { ids: SAMPLE_IDS, pooling: 'mean' });
    rows(out, 16).forEach((v, i) => expect(cosineJs(v, ref[i])).toBeGreaterThanOrEqual(0.99999));
    await model.close();
  });

  test('CLS pooling takes the first token; normalize:false keeps the raw vector', async () => {
    const dir = makeTinyModelDir({ hidden: 16 });
    const cls = await native.createModel(path.join(dir, 'model.onnx'), { pooling: 'cls', normalize: false });
    const { inputIds, mask, shape } = pad(SAMPLE_IDS);
    const out = await cls.run(inputIds, mask, null, shape);
    const ref = await referenceEmbeddings(path.join(dir, 'model.onnx'), { ids: SAMPLE_IDS, pooling: 'cls', normalize: false });
    rows(out, 16).forEach((v, i) => {
      for (let d = 0; d < 16; d++) expect(v[d]).toBeCloseTo(ref[i][d], 4);
    });
    expect(Math.abs(normJs(out.subarray(0, 16)) - 1)).toBeGreaterThan(1e-3);
    await cls.close();
  });

  test('a model whose only output is already pooled ([batch, dim]) is used as is', async () => {
    const dir = makeTinyModelDir({ hidden: 16, pooledOutput: 'only' });
    const model = await native.createModel(path.join(dir, 'model.onnx'), { pooling: 'mean' });
    expect(model.info()).toMatchObject({ outputName: 'sentence_embedding', outputRank: 2, dim: 16 });
    const { inputIds, mask, shape } = pad(SAMPLE_IDS);
    const out = await model.run(inputIds, mask, null, shape);
    const ref = await referenceEmbeddings(path.join(dir, 'model.onnx'), { ids: SAMPLE_IDS, pooling: 'cls' });
    rows(out, 16).forEach((v, i) => expect(cosineJs(v, ref[i])).toBeGreaterThanOrEqual(0.99999));
    await model.close();
  });
});

describe('lifecycle', () => {
  test('close() waits for running jobs, frees the sessions, and later runs fail with ERR_CLOSED', async () => {
    const dir = makeTinyModelDir({ hidden: 32 });
    const model = await native.createModel(path.join(dir, 'model.onnx'), { poolSize: 2 });
    const { inputIds, mask, shape } = pad(SAMPLE_IDS);
    const jobs = Array.from({ length: 20 }, () => model.run(inputIds, mask, null, shape));
    const closing = model.close();
    const results = await Promise.allSettled(jobs);
    await closing;
    expect(results.every((r) => r.status === 'fulfilled')).toBe(true);
    expect(model.info()).toMatchObject({ closed: true, poolSize: 0 });
    expect(() => model.run(inputIds, mask, null, shape)).toThrow(/The model was closed/);
    await model.close(); // idempotent
  });

  test.skipIf(!fullSizeModel)(`cancel(token) stops a batch while ONNX Runtime runs it, and one that has not started${needsFullSize}`, async () => {
    const model = await native.createModel(path.join(fullSizeModel!, 'model.onnx'), { poolSize: 1 });
    try {
      // 64 × 512 tokens through the full-size model: ~10 s of work, so a cancel 1 s in lands mid-run even when other
      // test files hold the libuv threads for a while (200 ms was not always enough for the run to start).
      const rows = 64;
      const seq = 512;
      const ids = new Int32Array(rows * seq).fill(2000);
      const mask = new Int32Array(rows * seq).fill(1);
      const running = model.cancelToken();
      const waiting = model.cancelToken();
      const first = model.run(ids, mask, null, [rows, seq], running);
      const second = model.run(ids, mask, null, [rows, seq], waiting); // queued behind the first (pool of 1)
      setTimeout(() => {
        model.cancel(running);
        model.cancel(waiting);
      }, 1000);
      const [a, b] = await Promise.allSettled([first, second]);
      expect(a).toMatchObject({ status: 'rejected', reason: { code: 'ERR_CANCELLED', message: expect.stringMatching(/cancelled while it ran/) } });
      expect(b).toMatchObject({ status: 'rejected', reason: { code: 'ERR_CANCELLED', message: expect.stringMatching(/cancelled before it ran/) } });
      // The model still works afterwards, and a run without a token is unaffected.
      expect((await model.run(ids.subarray(0, seq), mask.subarray(0, seq), null, [1, seq])).length).toBe(384);
      expect(() => model.cancel({} as never)).toThrow(/token must come from cancelToken/);
    } finally {
      await model.close();
    }
  });

  test('the optimised graph is saved once into its folder (graph, and weights with their prepacked forms) and reused, with identical output', async () => {
    const dir = makeTinyModelDir({ hidden: 32 });
    const parent = fs.mkdtempSync(path.join(os.tmpdir(), 'fe-opt-'));
    const cache = path.join(parent, 'tiny');
    const source = await native.createModel(path.join(dir, 'model.onnx'), { prepackWeights: false });
    const first = await native.createModel(path.join(dir, 'model.onnx'), { optimizedModelPath: cache });
    expect(first.info().loadedFromCache).toBe(false);
    expect(fs.readdirSync(cache).sort()).toEqual(['model.data', 'model.onnx']);
    expect(fs.readdirSync(parent)).toEqual(['tiny']); // no temp folder left behind
    const second = await native.createModel(path.join(dir, 'model.onnx'), { optimizedModelPath: cache });
    expect(second.info().loadedFromCache).toBe(true);
    const { inputIds, mask, shape } = pad(SAMPLE_IDS);
    const expected = rows(await source.run(inputIds, mask, null, shape), 32);
    for (const m of [first, second]) rows(await m.run(inputIds, mask, null, shape), 32).forEach((v, i) => expect(cosineJs(v, expected[i])).toBeGreaterThanOrEqual(0.99999));
    await Promise.all([source.close(), first.close(), second.close()]);
  });

  test('a pool built on the cached folder, prepacked weights on or off, gives the source model\'s output from every session', async () => {
    const dir = makeTinyModelDir({ hidden: 32 });
    const cache = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'fe-pool-')), 'tiny');
    const source = await native.createModel(path.join(dir, 'model.onnx'));
    const saving = await native.createModel(path.join(dir, 'model.onnx'), { optimizedModelPath: cache, poolSize: 2, prepackWeights: false });
    expect(saving.info()).toMatchObject({ loadedFromCache: false, poolSize: 2 });
    const pool = await native.createModel(path.join(dir, 'model.onnx'), { optimizedModelPath: cache, poolSize: 3 });
    expect(pool.info()).toMatchObject({ loadedFromCache: true, poolSize: 3 });
    const { inputIds, mask, shape } = pad(SAMPLE_IDS);
    const expected = rows(await source.run(inputIds, mask, null, shape), 32);
    // Runs at once keep every session of both pools busy on the shared mapped weights.
    const outs = await Promise.all([saving, saving, pool, pool, pool, pool, pool, pool].map((m) => m.run(inputIds, mask, null, shape)));
    for (const out of outs) rows(out, 32).forEach((v, i) => expect(cosineJs(v, expected[i])).toBeGreaterThanOrEqual(0.99999));
    await Promise.all([source.close(), saving.close(), pool.close()]);
  });

  test('pools of one model started at once in one process each write their own temp folder: all load, one folder is kept', async () => {
    const dir = makeTinyModelDir({ hidden: 32 });
    const parent = fs.mkdtempSync(path.join(os.tmpdir(), 'fe-same-pid-'));
    const cache = path.join(parent, 'tiny');
    // Two services (or two replicas in a test) of one model in one process: same pid, same cache folder.
    const models = await Promise.all(Array.from({ length: 8 }, () => native.createModel(path.join(dir, 'model.onnx'), { optimizedModelPath: cache })));
    expect(fs.readdirSync(parent)).toEqual(['tiny']); // no temp folder left behind
    expect(fs.readdirSync(cache).sort()).toEqual(['model.data', 'model.onnx']);
    const { inputIds, mask, shape } = pad(SAMPLE_IDS);
    const outs = await Promise.all(models.map((m) => m.run(inputIds, mask, null, shape)));
    for (const out of outs) expect(Array.from(out)).toEqual(Array.from(outs[0]));
    await Promise.all(models.map((m) => m.close()));
  });

  test('an existing cache folder is never replaced: a second writer serves from its own session and leaves it as found', async () => {
    const dir = makeTinyModelDir({ hidden: 32 });
    const cache = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'fe-race-')), 'tiny');
    fs.mkdirSync(cache);
    fs.writeFileSync(path.join(cache, 'someone-elses.txt'), 'kept');
    // No model.onnx in it yet (another process is between its save and its rename, say): this one builds from source.
    const model = await native.createModel(path.join(dir, 'model.onnx'), { optimizedModelPath: cache });
    expect(model.info().loadedFromCache).toBe(false);
    expect(fs.readdirSync(cache)).toEqual(['someone-elses.txt']);
    expect(fs.readdirSync(path.dirname(cache))).toEqual(['tiny']);
    const { inputIds, mask, shape } = pad(SAMPLE_IDS);
    expect((await model.run(inputIds, mask, null, shape)).length).toBe(SAMPLE_IDS.length * 32);
    await model.close();
  });

  test('a corrupt model file rejects with ORT\'s error and code, and does not crash', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fe-bad-'));
    fs.writeFileSync(path.join(dir, 'model.onnx'), Buffer.from('this is not an onnx model'));
    const err = await native.createModel(path.join(dir, 'model.onnx')).catch((e) => e);
    expect(err.message).toMatch(/Loading model .*model.onnx failed/);
    expect(err.code).toMatch(/^ERR_ORT_/);
    const missing = await native.createModel(path.join(dir, 'nope.onnx')).catch((e) => e);
    expect(missing.code).toMatch(/^ERR_ORT_/);
  });

  test('createModel validates its options', () => {
    expect(() => native.createModel(42 as never)).toThrow(TypeError);
    expect(() => native.createModel('x.onnx', { poolSize: 0 })).toThrow(RangeError);
    expect(() => native.createModel('x.onnx', { pooling: 'max' as never })).toThrow(/pooling must be 'mean', 'cls' or 'none'/);
  });
});

describe.skipIf(!fullSizeModel)(`parity with onnxruntime-node on every shared full-size model${needsFullSize}`, () => {
  const dirs = sharedModelDirs();
  const sentences = realSentences(12);

  test.each(dirs.map((d) => [path.basename(d), d]))('%s: pooled, normalised rows match (cosine ≥ 0.99999)', async (_n, dir) => {
    const tokenizer = TextTokenizer.load(dir, 256);
    const ids = (await tokenizer.encodeBatch(sentences)).map((t) => t.ids);
    const model = await native.createModel(path.join(dir, 'model.onnx'), { pooling: 'mean' });
    const { inputIds, mask, shape } = pad(ids);
    const out = await model.run(inputIds, mask, null, shape);
    const dim = model.info().dim;
    const ref = await referenceEmbeddings(path.join(dir, 'model.onnx'), { ids, pooling: 'mean' });
    assertSameEmbeddings(rows(out, dim), ref, 0.99999);
    // The check can fail: rows swapped between texts are caught even when all vectors point the same way.
    const swapped = rows(out, dim);
    [swapped[0], swapped[1]] = [swapped[1], swapped[0]];
    expect(() => assertSameEmbeddings(swapped, ref, 0.99999)).toThrow(/row 0/);
    await model.close();
  });
});
