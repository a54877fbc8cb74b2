// What Embedder.create assembles before it has an Embedder: the model folder (downloaded if need be), the recipe
// (registry entry plus the caller's overrides), the int8 copy and ORT's optimised graph, the native session pool
// and the tokenizer (loaded side by side), the vector width and the fingerprint that keys every cache entry.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { usableCpus } from '../runtime/cpus.js';
import { binding, loadOnnxRuntime, type NativeModel, type Pooling } from '../runtime/binding.js';
import { TextTokenizer } from '../runtime/tokenizer.js';
import { checkModelDir, defaultCacheDir, ensureModelDir } from '../models/loader.js';
import { contentFingerprint, INT8_VERSION, optimizedGraphPath, quantizedModel } from '../models/artifacts.js';
import { getModelSpec, type ModelSpec } from '../models/registry.js';
import { DEFAULT_MODEL, type EmbedderOptions } from './embedder-options.js';

/** How a model's outputs become vectors and how its inputs are prepared. */
export interface Recipe {
  id: string;
  pooling: Exclude<Pooling, 'none'>;
  normalize: boolean;
  maxLength: number;
  queryPrefix: string;
  passagePrefix: string;
  symmetricPrefix: string;
}

export interface LoadedModel {
  native: NativeModel;
  tokenizer: TextTokenizer;
  recipe: Recipe;
  dir: string;
  dim: number;
  /** The model and tokenizer files (by content), quantization, pooling, normalisation, max length and width. */
  fingerprint: string;
}

export async function loadModel(options: EmbedderOptions): Promise<LoadedModel> {
  // A registry id always gives the recipe; a bare modelPath is a custom model with the given (or default) recipe.
  const spec: ModelSpec | undefined =
    options.model !== undefined || options.modelPath === undefined ? getModelSpec(options.model ?? DEFAULT_MODEL) : undefined;
  const cacheDir = options.cacheDir ?? defaultCacheDir();
  const dir =
    options.modelPath !== undefined
      ? path.resolve(options.modelPath)
      : await ensureModelDir(spec!, { cacheDir, showProgress: options.showProgress, endpoint: options.hubEndpoint });
  const sourceModel = checkModelDir(dir);
  // Before quantising: the int8 calibration runs the model.
  const runtime = loadOnnxRuntime(options.onnxRuntimePath);
  let modelFile = options.quantize === 'int8' ? await quantizedModel(cacheDir, sourceModel) : sourceModel;
  const recipe: Recipe = {
    id: spec?.id ?? path.basename(dir),
    pooling: options.pooling ?? spec?.pooling ?? 'mean',
    normalize: options.normalize ?? spec?.normalize ?? true,
    maxLength: options.maxLength ?? spec?.maxLength ?? 512,
    queryPrefix: options.queryPrefix ?? spec?.queryPrefix ?? '',
    passagePrefix: options.passagePrefix ?? spec?.passagePrefix ?? '',
    symmetricPrefix: options.symmetricPrefix ?? spec?.symmetricPrefix ?? '',
  };

  const optimizedPath = () =>
    options.cacheOptimizedModel !== false
      ? optimizedGraphPath(cacheDir, sourceModel, options.quantize ?? 'none', modelFile, runtime.version)
      : undefined;
  let optimizedModelPath = optimizedPath();
  const cpus = usableCpus();
  const poolSize = options.poolSize ?? 1;
  const threads = options.threads ?? Math.max(1, Math.floor(cpus / poolSize));
  const load = () =>
    binding().createModel(modelFile, {
      poolSize,
      // Threads for the CPUs this process may use (cgroup quota included), split across the pool; ORT's spinning
      // threads only help when every thread has a CPU of its own.
      intraOpThreads: threads,
      allowSpinning: poolSize * threads <= cpus,
      optimizedModelPath,
      prepackWeights: options.prepackWeights ?? poolSize === 1,
      pooling: recipe.pooling,
      normalize: recipe.normalize,
    });
  // The sessions are built on a worker thread while the tokenizer loads here.
  const loading = load();
  let tokenizer: TextTokenizer;
  try {
    tokenizer = TextTokenizer.load(dir, recipe.maxLength);
  } catch (err) {
    await loading.then((m) => m.close(), () => undefined);
    throw err;
  }
  let native: NativeModel;
  try {
    native = await loading;
  } catch (err) {
    // A cached artifact (int8 copy, optimised graph) that no longer loads — truncated by a full disk, say — is
    // made again from the source model, once; a source model that fails is the user's error to see.
    const artifacts = [modelFile !== sourceModel ? modelFile : undefined, optimizedModelPath].filter((f): f is string => !!f && fs.existsSync(f));
    if (artifacts.length === 0) throw err;
    for (const f of artifacts) fs.rmSync(f, { force: true });
    if (options.quantize === 'int8') modelFile = await quantizedModel(cacheDir, sourceModel);
    optimizedModelPath = optimizedPath(); // named after the (new) file it is made from
    native = await load();
  }
  // Models that leave the hidden size dynamic in their output shape: learn it from one real run.
  let dim = native.info().dim;
  if (dim <= 0) {
    const [probe] = await tokenizer.encodeBatch(['']);
    const ids = Int32Array.from(probe.ids);
    dim = (await native.run(ids, new Int32Array(ids.length).fill(1), null, [1, ids.length])).length;
  }
  const fingerprint = createHash('sha256')
    .update(
      [
        'recipe-v1',
        recipe.id,
        contentFingerprint(sourceModel),
        contentFingerprint(path.join(dir, 'tokenizer.json')),
        options.quantize === 'int8' ? INT8_VERSION : 'none',
        recipe.pooling,
        recipe.normalize,
        tokenizer.maxLength,
        dim,
      ].join('\0'),
    )
    .digest('base64url');
  return { native, tokenizer, recipe, dir, dim, fingerprint };
}
