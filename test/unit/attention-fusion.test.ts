// Attention fusion: which blocks become ORT's Attention, that the fused graph computes what the exported one does
// (padded batches included), and the cached fused copy the loader uses.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { Embedder } from '../../src/engine/embedder.js';
import { fuseAttention } from '../../src/models/attention-fusion.js';
import { bertToOnnx } from '../../src/models/bert-export.js';
import { parseModel } from '../../src/models/onnx-graph.js';
import { quantizeInt8 } from '../../src/models/quantize.js';
import type { Tensor } from '../../src/models/safetensors.js';
import { binding, loadOnnxRuntime } from '../../src/runtime/binding.js';
import { TextTokenizer } from '../../src/runtime/tokenizer.js';
import { fullSizeModel, needsFullSize, sentences, TOKENIZERS } from '../fixtures/shared.js';
import { tempDirs } from '../fixtures/temp-dirs.js';
import { tinyBert } from '../fixtures/tiny-bert.js';

const tmpDir = tempDirs('fe-fusion-');
const ops = (model: Uint8Array) => parseModel(model).nodes.map((n) => n.op);
const count = (model: Uint8Array, op: string) => ops(model).filter((o) => o === op).length;
/** fuseAttention's model, joined. */
const fuse = (model: Uint8Array) => {
  const { chunks, report } = fuseAttention(model);
  return { bytes: Buffer.concat(chunks), chunks, report };
};

/** A BERT checkpoint with random weights, exported the way `convert` exports real ones: 4 heads of 8, `layers` layers. */
function randomBert(layers = 2): Uint8Array {
  const H = 32;
  const I = 64;
  let s = 7;
  const rand = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32 - 0.5) * 0.4;
  const shapeOf = (name: string): number[] => {
    if (name.includes('word_embeddings')) return [30522, H];
    if (name.includes('position_embeddings')) return [512, H];
    if (name.includes('token_type_embeddings')) return [2, H];
    if (name.includes('LayerNorm') || name.endsWith('.bias')) return [name.includes('intermediate') ? I : H];
    if (name.includes('intermediate')) return [I, H];
    if (/layer\.\d+\.output\.dense/.test(name)) return [H, I];
    return [H, H];
  };
  const weights = new (class extends Map<string, Tensor> {
    override get(name: string): Tensor {
      const shape = shapeOf(name);
      const data = Float32Array.from({ length: shape[0] * (shape[1] ?? 1) }, () => (name.endsWith('LayerNorm.weight') ? 1 + rand() : rand()));
      return { shape, data };
    }
  })();
  return bertToOnnx({ model_type: 'bert', hidden_size: H, num_hidden_layers: layers, num_attention_heads: 4, intermediate_size: I }, weights);
}

/**
 * What `model` gives for `texts` in one padded batch (all-MiniLM-L6-v2's tokenizer): each text's mean token state
 * over its unpadded tokens, then each text's first token's state.
 */
async function states(model: Uint8Array, texts: string[]): Promise<Float32Array> {
  const file = path.join(tmpDir(), 'model.onnx');
  fs.writeFileSync(file, model);
  const encoded = await TextTokenizer.load(path.join(TOKENIZERS, 'all-MiniLM-L6-v2'), 128).encodeBatch(texts);
  const L = Math.max(...encoded.map((e) => e.ids.length));
  const ids = new Int32Array(texts.length * L);
  const mask = new Int32Array(texts.length * L);
  encoded.forEach((e, r) => e.ids.forEach((id, j) => ((ids[r * L + j] = id), (mask[r * L + j] = 1))));
  loadOnnxRuntime();
  const out: Float32Array[] = [];
  for (const pooling of ['mean', 'none'] as const) {
    const m = await binding().createModel(file, { pooling, normalize: false });
    try {
      out.push(await m.run(ids, mask, null, [texts.length, L]));
    } finally {
      await m.close();
    }
  }
  return Float32Array.from([...out[0], ...out[1]]);
}

/** Largest |a − b| (NaN if either has a NaN). */
const maxDiff = (a: Float32Array, b: Float32Array) => a.reduce((worst, x, i) => Math.max(worst, Math.abs(x - b[i])), 0);

// Texts of different lengths, so the batch has padding the mask must hide.
const texts = [...sentences(3), 'Short.'];

describe('fuseAttention', () => {
  test('fuses every attention block of a bert-export graph into one Attention node, and computes the same states', async () => {
    const model = randomBert(2);
    const { bytes, report } = fuse(model);
    expect(report).toEqual({ softmaxes: 2, fused: 2 });
    expect(count(bytes, 'Attention')).toBe(2);
    // QKᵀ, softmax, the per-head reshapes and the mask bias are gone; the 4 other MatMuls per layer stay.
    for (const op of ['Softmax', 'Transpose', 'Reshape', 'Sub']) expect(count(bytes, op), op).toBe(0);
    expect(count(bytes, 'MatMul')).toBe(count(model, 'MatMul') - 2 * 5);
    expect(maxDiff(await states(model, texts), await states(bytes, texts))).toBeLessThan(1e-5);
  });

  test('fuses the int8 model around its int8 projections into MultiHeadAttention, and computes the same states', async () => {
    const { bytes: int8 } = quantizeInt8(randomBert(2));
    const { bytes, report } = fuse(int8);
    expect(report).toEqual({ softmaxes: 2, fused: 2 });
    expect(count(bytes, 'MultiHeadAttention')).toBe(2);
    expect(count(bytes, 'DynamicQuantizeMatMul')).toBe(count(int8, 'DynamicQuantizeMatMul')); // Q, K, V stay int8
    for (const op of ['Softmax', 'Transpose', 'Reshape', 'Sub']) expect(count(bytes, op), op).toBe(0);
    expect(maxDiff(await states(int8, texts), await states(bytes, texts))).toBeLessThan(1e-5);
  });

  test(`fuses PyTorch's export (computed reshape shapes, its mask chain) and computes the same states${needsFullSize}`, async () => {
    if (!fullSizeModel) return;
    const model = fs.readFileSync(path.join(fullSizeModel, 'model.onnx'));
    const { bytes, report } = fuse(model);
    expect(report).toEqual({ softmaxes: 6, fused: 6 });
    expect(count(bytes, 'Softmax')).toBe(0);
    expect(bytes.length).toBeLessThan(model.length); // the shape arithmetic of the fused blocks went too
    expect(maxDiff(await states(model, texts), await states(bytes, texts))).toBeLessThan(1e-4);
  });

  test('leaves a graph alone when its attention is not the expected block (single head, no reshapes)', () => {
    const model = tinyBert({ hidden: 32 });
    const { chunks, report } = fuse(model);
    expect(report).toEqual({ softmaxes: 1, fused: 0 });
    // The same bytes object, untouched (toEqual on a 4 MB array took vitest 30 s).
    expect(chunks).toHaveLength(1);
    expect(chunks[0]).toBe(model);
  });

  test('leaves a block alone whose mask bias is not a large negative (it would not hide the padding the same way)', () => {
    const model = randomBert(1);
    const g = parseModel(model);
    const maskMin = g.inits.get('mask_min')!;
    // The scalar's 4 bytes, -10000 → -1: same length, so the protobuf around it is unchanged.
    const raw = maskMin.fields.find((f) => f.field === 9 || f.field === 4)!.bytes!;
    expect(new DataView(raw.buffer, raw.byteOffset, 4).getFloat32(0, true)).toBe(-10000);
    const changed = Uint8Array.from(model);
    new DataView(changed.buffer, raw.byteOffset - model.byteOffset, 4).setFloat32(0, -1, true);
    expect(fuseAttention(changed).report).toEqual({ softmaxes: 1, fused: 0 });
  });
});

describe('the loader runs the fused copy', () => {
  test('Embedder.create fuses once into cacheDir/fused, embeds like the exported graph, and remakes a damaged copy', async () => {
    const dir = tmpDir();
    fs.writeFileSync(path.join(dir, 'model.onnx'), randomBert(2));
    for (const f of fs.readdirSync(path.join(TOKENIZERS, 'all-MiniLM-L6-v2'))) fs.copyFileSync(path.join(TOKENIZERS, 'all-MiniLM-L6-v2', f), path.join(dir, f));
    const cacheDir = tmpDir();
    const embed = async () => {
      // Without ORT's optimised-graph cache, so that every load reads the fused copy.
      const e = await Embedder.create({ modelPath: dir, cacheDir, cacheOptimizedModel: false });
      try {
        return await e.embed(texts);
      } finally {
        await e.close();
      }
    };
    const first = await embed();
    const fused = fs.readdirSync(path.join(cacheDir, 'fused'));
    expect(fused).toHaveLength(1);
    const file = path.join(cacheDir, 'fused', fused[0]);
    expect(count(fs.readFileSync(file), 'Attention')).toBe(2);

    // The vectors of the exported graph itself, pooled and normalised the same way.
    loadOnnxRuntime();
    const m = await binding().createModel(path.join(dir, 'model.onnx'), { pooling: 'mean', normalize: true });
    const reference: Float32Array[] = [];
    for (const t of await TextTokenizer.load(dir, 512).encodeBatch(texts)) {
      const ids = Int32Array.from(t.ids);
      reference.push(await m.run(ids, new Int32Array(ids.length).fill(1), null, [1, ids.length]));
    }
    await m.close();
    first.forEach((v, i) => v.forEach((x, j) => expect(Math.abs(x - reference[i][j])).toBeLessThan(1e-5)));

    // A truncated copy (a full disk, say) is made again, not used and not fatal.
    fs.truncateSync(file, 1000);
    const again = await embed();
    expect(fs.statSync(file).size).toBeGreaterThan(1000);
    again.forEach((v, i) => v.forEach((x, j) => expect(Math.abs(x - first[i][j])).toBeLessThan(1e-6)));

    // A cache it cannot write the copy into: the exported graph runs, and a warning says why it is slower.
    const blocked = tmpDir();
    fs.writeFileSync(path.join(blocked, 'fused'), 'a file where the folder would go');
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on('warning', onWarning);
    try {
      const e = await Embedder.create({ modelPath: dir, cacheDir: blocked });
      const vectors = await e.embed(texts);
      await e.close();
      vectors.forEach((v, i) => v.forEach((x, j) => expect(Math.abs(x - reference[i][j])).toBeLessThan(1e-6)));
      await new Promise((r) => setImmediate(r)); // warnings are emitted on the next tick
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings.map((w) => (w as Error & { code?: string }).code)).toContain('FASTEMBED_ATTENTION_FUSION');
  });
});
