// Embedder: token ids, the reference recipe on every shared model, batching, prefixes and bad input.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Embedder } from '../../src/engine/embedder.js';
import { ClosedError } from '../../src/util/errors.js';
import { getModelSpec, MODELS } from '../../src/models/registry.js';
import { TextTokenizer } from '../../src/runtime/tokenizer.js';
import { assertSameEmbeddings, cosineJs, normJs, referenceEmbeddings } from '../fixtures/reference.js';
import { fullSizeModel, needsFullSize, sentences, TOKENIZERS } from '../fixtures/shared.js';
import { makeTinyModelDir } from '../fixtures/tiny-bert.js';

const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fe-cache-'));


describe('tokenisation reproduces the known token ids', () => {
  test.each([
    ['all-MiniLM-L6-v2', 'hello world', [101, 7592, 2088, 102]],
    ['all-MiniLM-L6-v2', 'A man is playing a guitar.', [101, 1037, 2158, 2003, 2652, 1037, 2858, 1012, 102]],
    ['bge-small-en-v1.5', 'hello world', [101, 7592, 2088, 102]],
    ['e5-small-v2', 'A man is playing a guitar.', [101, 1037, 2158, 2003, 2652, 1037, 2858, 1012, 102]],
    ['bge-small-zh-v1.5', '样例数据-1', [101, 3416, 891, 3144, 2945, 118, 122, 102]],
  ])('%s: %s', async (tok, text, ids) => {
    const t = TextTokenizer.load(path.join(TOKENIZERS, tok), 512);
    const [enc] = await t.encodeBatch([text]);
    expect(enc.ids).toEqual(ids);
  });

  test("MiniLM's baked-in Fixed(128) padding and 128 truncation are overridden", async () => {
    const t = TextTokenizer.load(path.join(TOKENIZERS, 'all-MiniLM-L6-v2'), 256);
    const long = 'word '.repeat(400);
    const [short, truncated] = await t.encodeBatch(['hello world', long]);
    expect(short.length).toBe(4);
    expect(truncated.length).toBe(256);
    expect(truncated.ids[255]).toBe(102); // still ends in [SEP]
  });

  test('maxLength is capped by the model position limit', () => {
    const dir = makeTinyModelDir({ hidden: 8, maxPositions: 64 });
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ max_position_embeddings: 64 }));
    expect(TextTokenizer.load(dir, 512).maxLength).toBe(64);
  });
});

describe.skipIf(!fullSizeModel)(`Embedder on the full-size model${needsFullSize}`, () => {
  const dir = fullSizeModel!;
  let embedder: Embedder;
  beforeAll(async () => {
    embedder = await Embedder.create({ model: 'all-MiniLM-L6-v2', modelPath: dir, cacheDir, batchSize: 8, poolSize: 2, threads: 1 });
  });
  afterAll(() => embedder.close());

  test('embeddings equal the reference recipe in input order, duplicates included (cosine ≥ 0.9999)', async () => {
    const texts = sentences(40);
    texts.push(texts[3], texts[0], ''); // duplicates and the empty string
    const out = await embedder.embed(texts);
    expect(out.length).toBe(texts.length);
    const tokenizer = TextTokenizer.load(dir, embedder.maxLength);
    const ids = (await tokenizer.encodeBatch(texts)).map((t) => t.ids);
    const ref = await referenceEmbeddings(path.join(dir, 'model.onnx'), { ids, pooling: 'mean' });
    out.forEach((v) => expect(v.length).toBe(embedder.dim));
    assertSameEmbeddings(out, ref, 0.9999);
    expect(Array.from(out[texts.length - 3])).toEqual(Array.from(out[3]));
  });
});

describe('Embedder on a tiny model', () => {
  let dir: string;
  let embedder: Embedder;
  beforeAll(async () => {
    dir = makeTinyModelDir({ hidden: 32 });
    embedder = await Embedder.create({ modelPath: dir, cacheDir, batchSize: 4 });
  });
  afterAll(() => embedder.close());

  test('a bare modelPath is a custom model with mean pooling and normalisation', () => {
    expect(embedder.model).toBe(path.basename(dir));
    expect(embedder.dim).toBe(32);
    expect(embedder.maxLength).toBe(512);
  });

  test('embedMatrix is one contiguous buffer; embed returns views on it', async () => {
    const texts = sentences(10);
    const m = await embedder.embedMatrix(texts);
    expect(m).toMatchObject({ rows: 10, dim: 32 });
    expect(m.data.length).toBe(320);
    const views = await embedder.embed(texts);
    expect(views[1].buffer).toBe(views[0].buffer);
    views.forEach((v, i) => expect(Array.from(v)).toEqual(Array.from(m.data.subarray(i * 32, (i + 1) * 32))));
  });

  test('results do not depend on batch size or token budget', async () => {
    const texts = sentences(30);
    const one = await Embedder.create({ modelPath: dir, cacheDir, batchSize: 1 });
    const tight = await Embedder.create({ modelPath: dir, cacheDir, batchSize: 64, tokenBudget: 40 });
    const a = await embedder.embed(texts);
    const b = await one.embed(texts);
    const c = await tight.embed(texts);
    a.forEach((v, i) => {
      expect(cosineJs(v, b[i])).toBeGreaterThanOrEqual(0.99999);
      expect(cosineJs(v, c[i])).toBeGreaterThanOrEqual(0.99999);
    });
    await Promise.all([one.close(), tight.close()]);
  });

  test('reports progress after each batch, ending at the number of distinct texts', async () => {
    const texts = sentences(18);
    texts.push(texts[0]);
    const seen: Array<[number, number]> = [];
    await embedder.embed(texts, { onProgress: (done, total) => seen.push([done, total]) });
    expect(seen.length).toBe(Math.ceil(18 / 4));
    expect(seen.at(-1)).toEqual([18, 18]);
    for (let i = 1; i < seen.length; i++) expect(seen[i][0]).toBeGreaterThan(seen[i - 1][0]);
  });

  test('an empty list gives an empty result', async () => {
    expect(await embedder.embed([])).toEqual([]);
    expect(await embedder.embedMatrix([])).toMatchObject({ rows: 0, dim: 32 });
  });

  test('edge-case texts embed to unit vectors: empty, whitespace, 1 MB, lone surrogates, emoji, CJK', async () => {
    const texts = ['', '   \n\t ', 'x '.repeat(512 * 1024), '\uD800 lone \uDFFF surrogates', '🎸🎶', '样例数据-1'];
    const out = await embedder.embed(texts);
    out.forEach((v) => {
      expect(v.every(Number.isFinite)).toBe(true);
      expect(normJs(v)).toBeCloseTo(1, 4);
    });
    expect(await embedder.countTokens([texts[2]])).toEqual([512]);
  });

  test('bad input is a TypeError naming what was wrong', async () => {
    await expect(embedder.embed('hello' as never)).rejects.toThrow(/texts must be an array of strings, got string/);
    await expect(embedder.embed(['ok', 42] as never)).rejects.toThrow(TypeError);
    await expect(embedder.embed(['ok', 42] as never)).rejects.toThrow(/texts\[1\] must be a string, got number/);
    await expect(embedder.embed(['ok', null] as never)).rejects.toThrow(/texts\[1\] must be a string, got null/);
    await expect(embedder.embed([['nested']] as never)).rejects.toThrow(/texts\[0\] must be a string, got object/);
    await expect(embedder.embedQuery(undefined as never)).rejects.toThrow(/text must be a string/);
  });

  test('an aborted signal rejects with AbortError', async () => {
    const ac = new AbortController();
    ac.abort();
    await expect(embedder.embed(['a'], { signal: ac.signal })).rejects.toMatchObject({ name: 'AbortError' });
    const ac2 = new AbortController();
    const running = embedder.embed(sentences(40), { signal: ac2.signal, onProgress: () => ac2.abort() });
    await expect(running).rejects.toMatchObject({ name: 'AbortError' });
  });

  test('options are validated', async () => {
    await expect(Embedder.create({ modelPath: dir, batchSize: 0 })).rejects.toThrow(/batchSize must be an integer from 1/);
    await expect(Embedder.create({ modelPath: dir, poolSize: 1.5 })).rejects.toThrow(RangeError);
    await expect(Embedder.create({ modelPath: dir, pooling: 'max' as never })).rejects.toThrow(/pooling must be 'mean' or 'cls'/);
    await expect(Embedder.create({ model: 'no-such-model', modelPath: dir })).rejects.toThrow(
      /Unknown model 'no-such-model'. Known models: all-MiniLM-L6-v2, bge-small-en-v1.5/,
    );
    await expect(Embedder.create({ modelPath: path.join(dir, 'missing') })).rejects.toThrow(/does not exist/);
  });

  test('a model whose output declares a symbolic hidden size: the dimension is learned from a probe run', async () => {
    const sym = await Embedder.create({ modelPath: makeTinyModelDir({ hidden: 24, symbolicHidden: true }), cacheDir });
    expect(sym.dim).toBe(24);
    expect((await sym.embed(['x']))[0].length).toBe(24);
    await sym.close();
  });

  test('a directory without tokenizer.json is rejected with the missing file named', async () => {
    const bare = fs.mkdtempSync(path.join(os.tmpdir(), 'fe-bare-'));
    fs.copyFileSync(path.join(dir, 'model.onnx'), path.join(bare, 'model.onnx'));
    await expect(Embedder.create({ modelPath: bare })).rejects.toThrow(/is missing tokenizer.json/);
  });

  test('close() is idempotent and later calls fail with ClosedError', async () => {
    const e = await Embedder.create({ modelPath: dir, cacheDir });
    await e.close();
    await e.close();
    expect(e.closed).toBe(true);
    await expect(e.embed(['x'])).rejects.toThrow(ClosedError);
    await expect(e.embed(['x'])).rejects.toThrow(/Embedder is closed/);
  });
});

describe('registry recipes with local files', () => {
  test('bge-small-en-v1.5 recipe: CLS pooling, and embedQuery adds the retrieval instruction', async () => {
    const dir = makeTinyModelDir({ hidden: 32, tokenizer: 'bge-small-en-v1.5' });
    const e = await Embedder.create({ model: 'fast-bge-small-en-v1.5', modelPath: dir, cacheDir });
    expect(e.model).toBe('bge-small-en-v1.5');
    const spec = getModelSpec('bge-small-en-v1.5');
    expect(e.queryPrefix).toBe(spec.queryPrefix);
    const texts = ['what is a guitar?', 'A man is playing a guitar.'];
    const out = await e.embed(texts);
    const ids = (await TextTokenizer.load(dir, 512).encodeBatch(texts)).map((t) => t.ids);
    const ref = await referenceEmbeddings(path.join(dir, 'model.onnx'), { ids, pooling: 'cls' });
    out.forEach((v, i) => expect(cosineJs(v, ref[i])).toBeGreaterThanOrEqual(0.9999));
    const q = await e.embedQuery('what is a guitar?');
    const [withPrefix] = await e.embed([spec.queryPrefix + 'what is a guitar?']);
    expect(Array.from(q)).toEqual(Array.from(withPrefix));
    expect(cosineJs(q, out[0])).toBeLessThan(0.99999);
    await e.close();
  });

  test('multilingual-e5-small recipe: "query: " and "passage: " prefixes', async () => {
    const dir = makeTinyModelDir({ hidden: 16, tokenizer: 'e5-small-v2' });
    const e = await Embedder.create({ model: 'multilingual-e5-small', modelPath: dir, cacheDir });
    const [p] = await e.embedPassages(['a cat']);
    const [raw] = await e.embed(['passage: a cat']);
    expect(Array.from(p)).toEqual(Array.from(raw));
    const q = await e.embedQuery('a cat');
    const [rawQ] = await e.embed(['query: a cat']);
    expect(Array.from(q)).toEqual(Array.from(rawQ));
    await e.close();
  });

  test('the registry has every required model, with the documented dims and pooling', () => {
    const table = Object.fromEntries(MODELS.map((m) => [m.id, [m.dim, m.pooling]]));
    expect(table).toMatchObject({
      'all-MiniLM-L6-v2': [384, 'mean'],
      'bge-small-en-v1.5': [384, 'cls'],
      'bge-base-en-v1.5': [768, 'cls'],
      'bge-small-zh-v1.5': [512, 'cls'],
      'bge-base-zh-v1.5': [768, 'cls'],
      'multilingual-e5-small': [384, 'mean'],
      'bge-small-en': [384, 'cls'],
      'bge-base-en': [768, 'cls'],
      'e5-small-v2': [384, 'mean'],
    });
    expect(getModelSpec('bge-small-zh-v1.5').queryPrefix).toBe('为这个句子生成表示以用于检索相关文章：');
    // The Go service's config names and fastembed-go's model names give the models that service ran.
    const original: Record<string, string> = {
      'bge-small-en': 'bge-small-en',
      'bge-base-en': 'bge-base-en',
      'all-minilm-l6-v2': 'all-MiniLM-L6-v2',
      'bge-small-zh': 'bge-small-zh-v1.5',
      'fast-bge-small-en': 'bge-small-en',
      'fast-bge-small-en-v1.5': 'bge-small-en-v1.5',
      'fast-bge-small-zh-v1.5': 'bge-small-zh-v1.5',
      'fast-all-MiniLM-L6-v2': 'all-MiniLM-L6-v2',
    };
    for (const [name, id] of Object.entries(original)) expect(getModelSpec(name).id, name).toBe(id);
    expect(getModelSpec('e5-small-v2')).toMatchObject({ queryPrefix: 'query: ', passagePrefix: 'passage: ', symmetricPrefix: 'query: ' });
  });
});

