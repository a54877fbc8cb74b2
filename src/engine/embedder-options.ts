// The Embedder's options and the checks every public entry runs on its arguments before anything is loaded or run.
import type { Pooling } from '../runtime/binding.js';
import type { ModelName } from '../models/registry.js';
import { optionalIntegerInRange } from '../util/arguments.js';
import { invalidArgument } from '../util/errors.js';

export interface EmbedderOptions {
  /**
   * Registry id or alias (default all-MiniLM-L6-v2). With `modelPath`, the registry's recipe for those files; a
   * folder whose own sentence-transformers files state another recipe is refused (ERR_MODEL_RECIPE).
   */
  model?: ModelName;
  /**
   * A local directory holding model.onnx and tokenizer.json; nothing is downloaded. Its sentence-transformers files
   * (sentence_bert_config.json, 1_Pooling/config.json, config_sentence_transformers.json) give its recipe.
   */
  modelPath?: string;
  /** Where models (and optimised graphs) are cached; default FASTEMBED_CACHE_DIR or ~/.cache/fastembed-native. */
  cacheDir?: string;
  /** Longest input in tokens; longer texts are truncated. Default: the model's. */
  maxLength?: number;
  /** Most texts per inference batch (default 32). */
  batchSize?: number;
  /**
   * Most padded tokens per batch (default 512: on CPU, small padded batches beat big ones). While other calls wait
   * for the model, batches are cut to a quarter of it, so they wait for a short batch, not a long one.
   */
  tokenBudget?: number;
  /** ORT sessions run concurrently (default 1). */
  poolSize?: number;
  /**
   * Most tokens accepted and not yet embedded; a call that would go past it is refused at once with
   * OverloadedError (a server's bound on queued work). Default: no bound.
   */
  maxQueueTokens?: number;
  /** Intra-op threads per session (default: cores / poolSize). */
  threads?: number;
  /**
   * Nice value (0–19, Linux) of the threads that run inference, so that under full load the JS thread (a server's
   * health checks and refusals, your timers) runs first; the model gets the same CPU time. Default 0 (unchanged);
   * SimilarityService and `serve` use 10. A thread's priority is never raised again.
   */
  inferenceNice?: number;
  /** Path of a libonnxruntime to use (e.g. a GPU build); also ONNX_PATH. */
  onnxRuntimePath?: string;
  /** Progress bar on a TTY while downloading. */
  showProgress?: boolean;
  /** For custom models (no registry entry): pooling and normalisation. */
  pooling?: Exclude<Pooling, 'none'>;
  normalize?: boolean;
  queryPrefix?: string;
  passagePrefix?: string;
  /** Prefix both texts of a symmetric comparison get (computeSimilarity; e5's "query: "). */
  symmetricPrefix?: string;
  /**
   * Save ONNX Runtime's optimised graph once in a folder of cacheDir/optimized (model.onnx, and model.data with the
   * weights and their prepacked forms) and build every later session from it (default true): ORT maps the data
   * file, so a pool's sessions share one copy of the weights, prepacked ones included, and a start skips the
   * optimiser (create → first vector ≈ 140–190 ms on a 2-core host).
   */
  cacheOptimizedModel?: boolean;
  /**
   * ONNX Runtime's prepacked (GEMM-ready) weights: one short query ≈ 1.5× faster, bulk 1.03–1.3×. Read from the
   * cache folder, they cost no memory per session; without it (cacheOptimizedModel false) each session keeps a
   * private copy (20–40 MB). Default: on, except for a pool without the cache folder.
   */
  prepackWeights?: boolean;
  /** Hub base URL for downloads (default HF_ENDPOINT or the Hugging Face hub). */
  hubEndpoint?: string;
  /**
   * 'int8': run a dynamically quantised copy of the model (weights int8 per column, made once and kept in
   * cacheDir/quantized). Faster on CPUs with fast integer dot products; a little less exact (see BENCHMARKS.md).
   */
  quantize?: 'none' | 'int8';
}

export interface EmbedOptions {
  /** Called after each batch with the number of distinct texts done so far. */
  onProgress?: (done: number, total: number) => void;
  signal?: AbortSignal;
  /**
   * How long, in ms, the caller will wait. A call the work queued ahead of it would finish later than that is
   * refused at once with OverloadedError (`retryAfterMs` says when to retry) instead of starting; a bulk call with a
   * deadline also waits its turn behind earlier ones. No deadline (the default): never refused for time.
   */
  deadlineMs?: number;
}

/** RangeError unless deadlineMs is absent or a positive number of milliseconds. */
export function checkEmbedOptions(options: EmbedOptions): void {
  const d = options.deadlineMs;
  if (d !== undefined && !(typeof d === 'number' && d > 0)) throw invalidArgument('range', `deadlineMs must be a positive number of milliseconds, got ${String(d)}`);
}

export interface EmbeddingMatrix {
  /** rows × dim, row-major. */
  data: Float32Array;
  rows: number;
  dim: number;
}

export const DEFAULT_MODEL = 'all-MiniLM-L6-v2';

/** Embedder.create's option checks: a TypeError or RangeError naming the option, before anything loads. */
export function validateEmbedderOptions(options: EmbedderOptions): void {
  if (options === null || typeof options !== 'object') throw invalidArgument('type', 'Embedder.create options must be an object');
  optionalIntegerInRange(options.maxLength, 'maxLength', 8192);
  optionalIntegerInRange(options.batchSize, 'batchSize', 4096);
  optionalIntegerInRange(options.tokenBudget, 'tokenBudget', 1 << 22);
  optionalIntegerInRange(options.poolSize, 'poolSize', 64);
  optionalIntegerInRange(options.threads, 'threads', 256);
  optionalIntegerInRange(options.inferenceNice, 'inferenceNice', 19, 0);
  optionalIntegerInRange(options.maxQueueTokens, 'maxQueueTokens', Number.MAX_SAFE_INTEGER);
  if (options.quantize !== undefined && options.quantize !== 'none' && options.quantize !== 'int8') {
    throw invalidArgument('range', `quantize must be 'none' or 'int8', got ${String(options.quantize)}`);
  }
  for (const flag of ['cacheOptimizedModel', 'prepackWeights'] as const) {
    if (options[flag] !== undefined && typeof options[flag] !== 'boolean') throw invalidArgument('type', `${flag} must be a boolean, got ${typeof options[flag]}`);
  }
  if (options.pooling !== undefined && options.pooling !== 'mean' && options.pooling !== 'cls') {
    throw invalidArgument('range', `pooling must be 'mean' or 'cls', got ${String(options.pooling)}`);
  }
}

/** Token ids: an array of non-negative integers (below the vocabulary size when it is known). */
export function assertTokenIds(ids: unknown, name: string, vocabSize = 0): asserts ids is number[] {
  if (!Array.isArray(ids)) throw invalidArgument('type', `${name} must be an array of token ids, got ${typeof ids}`);
  for (const id of ids) {
    if (!Number.isInteger(id) || id < 0 || (vocabSize > 0 && id >= vocabSize)) {
      throw invalidArgument('range', `${name} holds ${String(id)}, not a token id of this model${vocabSize > 0 ? ` (0 to ${vocabSize - 1})` : ''}`);
    }
  }
}
