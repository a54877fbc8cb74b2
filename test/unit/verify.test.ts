// Pinned model files in the cache are checked before use, however they got there: size at every start, the sha256
// once per size and mtime. A modelPath folder holds the user's own files and is not held to the pins.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { Embedder } from '../../src/engine/embedder.js';
import { ensureModelDir } from '../../src/models/loader.js';
import { getModelSpec, type ModelSpec } from '../../src/models/registry.js';
import { tempDirs } from '../fixtures/temp-dirs.js';
import { makeTinyModelDir } from '../fixtures/tiny-bert.js';

const tmpDir = tempDirs('fe-verify-');

const sha256 = (file: string) => createHash('sha256').update(fs.readFileSync(file)).digest('hex');
/** Nothing listens here: a test that reached the network would fail, not hang. */
const OFFLINE = 'http://127.0.0.1:9';

describe('a cached model file that is not the pinned one', () => {
  test('is refused by Embedder.create, naming the file, both digests and the fix', async () => {
    const cacheDir = tmpDir();
    const dir = path.join(cacheDir, 'all-MiniLM-L6-v2');
    fs.renameSync(makeTinyModelDir({ hidden: 16 }), dir);
    const file = path.join(dir, 'model.onnx');
    const pin = getModelSpec('all-MiniLM-L6-v2').files[0];
    const err = await Embedder.create({ cacheDir, hubEndpoint: OFFLINE }).catch((e) => e);
    expect(err.code).toBe('ERR_CHECKSUM');
    expect(err.message).toBe(
      `${file} is not the file model 'all-MiniLM-L6-v2' pins (it has sha256 ${sha256(file)}, ${fs.statSync(file).size} bytes; ` +
        `the pin is sha256 ${pin.sha256}, ${pin.size} bytes). Delete ${dir} to download the model again, or pass modelPath ` +
        '(CLI: --model-path) pointing at a folder of your own files, which are not checked against the pins.',
    );
    // The same files as the user's own folder: their files, not held to the hub's pins.
    const own = await Embedder.create({ model: 'all-MiniLM-L6-v2', modelPath: dir, cacheDir: tmpDir() });
    expect(own.model).toBe('all-MiniLM-L6-v2');
    await own.close();
  });
});

describe('ensureModelDir checks pinned files already in the cache', () => {
  const files = (dir: string) => ({ model: path.join(dir, 'model.onnx'), tokenizer: path.join(dir, 'tokenizer.json') });
  /** A cache folder with two files, and a registry-like entry pinning model.onnx to its current bytes. */
  function pinnedCache(): { cacheDir: string; dir: string; spec: ModelSpec } {
    const cacheDir = tmpDir();
    const dir = path.join(cacheDir, 'pinned');
    fs.mkdirSync(dir);
    fs.writeFileSync(files(dir).model, 'the model bytes');
    fs.writeFileSync(files(dir).tokenizer, '{}');
    // A whole-millisecond mtime, so the test can put it back exactly after rewriting the file.
    fs.utimesSync(files(dir).model, new Date(1_700_000_000_000), new Date(1_700_000_000_000));
    const spec = {
      ...getModelSpec('all-MiniLM-L6-v2'),
      id: 'pinned',
      files: [
        { path: 'model.onnx', local: 'model.onnx', sha256: sha256(files(dir).model), size: 15 },
        { path: 'tokenizer.json', local: 'tokenizer.json' },
      ],
    };
    return { cacheDir, dir, spec };
  }

  test('the digest is computed once and remembered by size and mtime; the size is checked at every start', async () => {
    const { cacheDir, dir, spec } = pinnedCache();
    await expect(ensureModelDir(spec, { cacheDir, endpoint: OFFLINE })).resolves.toBe(dir);
    const record = JSON.parse(fs.readFileSync(path.join(dir, '.fastembed-verified.json'), 'utf8'));
    const st = fs.statSync(files(dir).model);
    expect(record).toEqual({ 'model.onnx': { size: 15, mtimeMs: st.mtimeMs, sha256: spec.files[0].sha256 } });

    // Same size and mtime: the remembered digest stands (the file is not read again).
    fs.writeFileSync(files(dir).model, 'THE MODEL BYTES');
    fs.utimesSync(files(dir).model, st.atime, st.mtime);
    await expect(ensureModelDir(spec, { cacheDir, endpoint: OFFLINE })).resolves.toBe(dir);

    // A new mtime: hashed again, and refused.
    fs.utimesSync(files(dir).model, st.atime, new Date(st.mtimeMs + 5000));
    await expect(ensureModelDir(spec, { cacheDir, endpoint: OFFLINE })).rejects.toThrow(
      `is not the file model 'pinned' pins (it has sha256 ${sha256(files(dir).model)}, 15 bytes; the pin is sha256 ${spec.files[0].sha256}, 15 bytes)`,
    );

    // Another size is refused whatever the record says.
    fs.writeFileSync(files(dir).model, 'the model bytes!');
    const mtime = fs.statSync(files(dir).model).mtimeMs;
    fs.writeFileSync(path.join(dir, '.fastembed-verified.json'), JSON.stringify({ 'model.onnx': { size: 16, mtimeMs: mtime, sha256: spec.files[0].sha256 } }));
    await expect(ensureModelDir(spec, { cacheDir, endpoint: OFFLINE })).rejects.toMatchObject({ code: 'ERR_CHECKSUM', message: expect.stringMatching(/16 bytes; the pin is sha256 [0-9a-f]{64}, 15 bytes/) });
  });

  test('a corrupt record is ignored: the files are hashed again', async () => {
    const { cacheDir, dir, spec } = pinnedCache();
    fs.writeFileSync(path.join(dir, '.fastembed-verified.json'), '{not json');
    await expect(ensureModelDir(spec, { cacheDir, endpoint: OFFLINE })).resolves.toBe(dir);
    expect(JSON.parse(fs.readFileSync(path.join(dir, '.fastembed-verified.json'), 'utf8'))['model.onnx'].sha256).toBe(spec.files[0].sha256);
  });
});
