// What Embedder.create assembles before it has an Embedder: the model folder (downloaded if need be), the recipe
// (the caller's options, then what the folder's sentence-transformers files state, then the registry entry), the int8 copy and ORT's optimised graph, the native session pool
// and the tokenizer (loaded side by side), the vector width and the fingerprint that keys every cache entry.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { usableCpus } from '../runtime/cpus.js';
import { binding, loadOnnxRuntime, type NativeModel, type Pooling } from '../runtime/binding.js';
import { TextTokenizer } from '../runtime/tokenizer.js';
import { checkModelDir, defaultCacheDir, ensureModelDir } from '../models/loader.js';
import { contentFingerprint, fusedModel, INT8_VERSION, optimizedGraphPath, quantizedModel } from '../models/artifacts.js';
import { readFolderRecipe, recipeConflicts } from '../models/folder-recipe.js';
import { findModelSpec, getModelSpec, type ModelSpec } from '../models/registry.js';
import { FastembedError } from '../util/errors.js';
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

/**
 * The recipe: each field from the options, else from the folder's own sentence-transformers files, else from the
 * registry entry, else the defaults; and the name it is reported under, which is a registry id only when the recipe
 * is that entry's.
 */
function recipeFor(dir: string, spec: ModelSpec | undefined, options: EmbedderOptions): Recipe {
  // A registry model's cache folder holds the registry's files: only a modelPath folder speaks for itself.
  const folder = options.modelPath !== undefined ? readFolderRecipe(dir, { poolingGiven: options.pooling !== undefined }) : {};
  if (spec && options.modelPath !== undefined) {
    // `model` with `modelPath` claims "these files are that model". A folder whose own files state another recipe
    // contradicts the claim: we refuse rather than pick one silently, because running the folder's recipe under its
    // own name would quietly change the name a service routes, caches and reports by, and running the registry's
    // would embed unlike sentence-transformers does for that folder. The options decide a field when they set it.
    const conflicts = recipeConflicts(folder, spec, options);
    if (conflicts.length > 0) {
      throw new FastembedError(
        `${dir} states its own recipe, which is not ${spec.id}'s: ${conflicts.join(', ')}. Leave out model ` +
          "(CLI: --model) to run the folder's recipe under the folder's name, or set those fields " +
          'yourself (maxLength, pooling, queryPrefix, passagePrefix; CLI: --max-length, --pooling, --query-prefix, ' +
          '--passage-prefix) to choose',
        'ERR_MODEL_RECIPE',
      );
    }
  }
  const recipe: Recipe = {
    id: spec?.id ?? path.basename(dir),
    pooling: options.pooling ?? folder.pooling ?? spec?.pooling ?? 'mean',
    normalize: options.normalize ?? spec?.normalize ?? true,
    maxLength: options.maxLength ?? folder.maxLength ?? spec?.maxLength ?? 512,
    queryPrefix: options.queryPrefix ?? folder.queryPrefix ?? spec?.queryPrefix ?? '',
    passagePrefix: options.passagePrefix ?? folder.passagePrefix ?? spec?.passagePrefix ?? '',
    symmetricPrefix: options.symmetricPrefix ?? spec?.symmetricPrefix ?? '',
  };
  // A custom model's folder named like a registry model (a copy of its files, say) keeps that name only if it runs
  // that model's recipe; otherwise the label would promise vectors it does not give.
  const namesake = spec ? undefined : findModelSpec(recipe.id);
  const fields = ['pooling', 'normalize', 'maxLength', 'queryPrefix', 'passagePrefix', 'symmetricPrefix'] as const;
  if (namesake && fields.some((f) => recipe[f] !== namesake[f])) recipe.id = `${recipe.id} (custom recipe)`;
  return recipe;
}

export async function loadModel(options: EmbedderOptions): Promise<LoadedModel> {
  // A registry id gives the recipe (its files or, with modelPath, a folder that must not say otherwise); a bare
  // modelPath is a custom model: the options, then its folder's own files, then the defaults.
  const spec: ModelSpec | undefined =
    options.model !== undefined || options.modelPath === undefined ? getModelSpec(options.model ?? DEFAULT_MODEL) : undefined;
  const cacheDir = options.cacheDir ?? defaultCacheDir();
  const dir =
    options.modelPath !== undefined
      ? path.resolve(options.modelPath)
      : await ensureModelDir(spec!, { cacheDir, showProgress: options.showProgress, endpoint: options.hubEndpoint });
  const sourceModel = checkModelDir(dir);
  const recipe = recipeFor(dir, spec, options);
  // Before quantising: the int8 calibration runs the model.
  const runtime = loadOnnxRuntime(options.onnxRuntimePath);
  const derived = () => (options.quantize === 'int8' ? quantizedModel(cacheDir, sourceModel) : fusedModel(cacheDir, sourceModel));
  let modelFile = await derived();
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
      threadNice: options.inferenceNice ?? 0,
      optimizedModelPath,
      // Cached, the prepacked weights are one mapped file the whole pool shares; uncached, a private copy each.
      prepackWeights: options.prepackWeights ?? (poolSize === 1 || optimizedModelPath !== undefined),
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
    // A cached artifact (int8 or fused copy, optimised graph) that no longer loads — truncated by a full disk, say — is
    // made again from the source model, once; a source model that fails is the user's error to see.
    const artifacts = [modelFile !== sourceModel ? modelFile : undefined, optimizedModelPath].filter((f): f is string => !!f && fs.existsSync(f));
    if (artifacts.length === 0) throw err;
    for (const f of artifacts) fs.rmSync(f, { force: true, recursive: true });
    modelFile = await derived();
    optimizedModelPath = optimizedPath(); // named after the (new) file it is made from
    try {
      native = await load();
    } catch (again) {
      // A fused graph this ONNX Runtime refuses: the model as exported still runs, a little slower.
      if (options.quantize === 'int8' || modelFile === sourceModel) throw again;
      process.emitWarning(`${sourceModel}: the fused-attention copy does not load (${(again as Error).message}); running the model unfused`, {
        code: 'FASTEMBED_ATTENTION_FUSION',
      });
      modelFile = sourceModel;
      optimizedModelPath = optimizedPath();
      native = await load();
    }
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
