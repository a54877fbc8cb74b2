// Embedder: text in, L2-normalised embeddings out, batched across a pool of native ORT sessions.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { usableCpus } from '../runtime/cpus.js';
import { FairSlots, type Lane } from './fair-slots.js';
import { binding, loadOnnxRuntime, type NativeModel, type Pooling } from '../runtime/binding.js';
import { buildBatch, planBatches, takeBatch } from './batching.js';
import { abortError, ClosedError, invalidArgument } from '../util/errors.js';
import { checkModelDir, defaultCacheDir, ensureModelDir } from '../models/loader.js';
import { contentFingerprint, INT8_VERSION, optimizedGraphPath, quantizedModel } from '../models/artifacts.js';
import { getModelSpec, type ModelName, type ModelSpec } from '../models/registry.js';
import { TextTokenizer, type TokenDetail, type TokenizedText, type TruncationDirection } from '../runtime/tokenizer.js';

export interface EmbedderOptions {
  /** Registry id or alias (default all-MiniLM-L6-v2). With `modelPath`, the registry's recipe for those files. */
  model?: ModelName;
  /** A local directory holding model.onnx and tokenizer.json; nothing is downloaded. */
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
  /** Intra-op threads per session (default: cores / poolSize). */
  threads?: number;
  /** Path of a libonnxruntime to use (e.g. a GPU build); also ONNX_PATH. */
  onnxRuntimePath?: string;
  /** Progress bar on a TTY while downloading. */
  showProgress?: boolean;
  /** For custom models (no registry entry): pooling and normalisation. */
  pooling?: Exclude<Pooling, 'none'>;
  normalize?: boolean;
  queryPrefix?: string;
  passagePrefix?: string;
  /**
   * Save ONNX Runtime's optimised graph in ORT format in cacheDir/optimized and start from it next time, the file
   * mapped and every pooled session reading its weights from it in place (default true: the next start takes
   * ≈ 115–130 ms instead of ≈ 280, and a pool holds one copy of the weights instead of one per session).
   */
  cacheOptimizedModel?: boolean;
  /**
   * ONNX Runtime's prepacked (GEMM-ready) copy of the weights, one per session: ≈ 5% faster (≈ 7% int8), 20–40 MB
   * more per session and ≈ 40 ms more at start. Default: on for one session, off for a pool (so its sessions share
   * one copy of the weights).
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
}

export interface EmbeddingMatrix {
  /** rows × dim, row-major. */
  data: Float32Array;
  rows: number;
  dim: number;
}

interface Recipe {
  id: string;
  pooling: Exclude<Pooling, 'none'>;
  normalize: boolean;
  maxLength: number;
  queryPrefix: string;
  passagePrefix: string;
}

export const DEFAULT_MODEL = 'all-MiniLM-L6-v2';

function positiveInt(value: unknown, name: string, max: number): void {
  if (value === undefined) return;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > max) {
    throw invalidArgument('range', `${name} must be an integer from 1 to ${max}, got ${String(value)}`);
  }
}

/** Token ids: an array of non-negative integers (below the vocabulary size when it is known). */
function assertTokenIds(ids: unknown, name: string, vocabSize = 0): asserts ids is number[] {
  if (!Array.isArray(ids)) throw invalidArgument('type', `${name} must be an array of token ids, got ${typeof ids}`);
  for (const id of ids) {
    if (!Number.isInteger(id) || id < 0 || (vocabSize > 0 && id >= vocabSize)) {
      throw invalidArgument('range', `${name} holds ${String(id)}, not a token id of this model${vocabSize > 0 ? ` (0 to ${vocabSize - 1})` : ''}`);
    }
  }
}

/** Rejects non-arrays and non-string items with a TypeError naming the index. */
export function assertTexts(texts: unknown, name = 'texts'): asserts texts is string[] {
  if (!Array.isArray(texts)) throw invalidArgument('type', `${name} must be an array of strings, got ${typeof texts}`);
  for (let i = 0; i < texts.length; i++) {
    if (typeof texts[i] !== 'string') {
      throw invalidArgument('type', `${name}[${i}] must be a string, got ${texts[i] === null ? 'null' : typeof texts[i]}`);
    }
  }
}

export class Embedder {
  readonly model: string;
  readonly dim: number;
  readonly maxLength: number;
  readonly poolSize: number;
  /** Intra-op threads each session runs with (what ONNX Runtime was given). */
  readonly threads: number;
  readonly modelDir: string;
  readonly queryPrefix: string;
  readonly passagePrefix: string;
  /** True when vectors come out L2-normalised (the recipe's normalisation). */
  readonly normalized: boolean;
  readonly pooling: Exclude<Pooling, 'none'>;
  /**
   * Identifies everything that decides a vector besides the text: the model and tokenizer files (by content), the
   * quantization, pooling, normalisation and max length. Cache keys use it, so two recipes never share entries.
   */
  readonly fingerprint: string;
  readonly #native: NativeModel;
  readonly #tokenizer: TextTokenizer;
  readonly #batchSize: number;
  readonly #tokenBudget: number;
  #closed = false;
  #closing: Promise<void> | undefined;
  readonly #slots: FairSlots;

  private constructor(
    native: NativeModel,
    dim: number,
    tokenizer: TextTokenizer,
    recipe: Recipe,
    dir: string,
    opts: EmbedderOptions,
    fingerprint: string,
  ) {
    this.#native = native;
    this.#tokenizer = tokenizer;
    const info = native.info();
    this.model = recipe.id;
    this.dim = dim;
    this.maxLength = tokenizer.maxLength;
    this.poolSize = info.poolSize;
    this.threads = info.intraOpThreads;
    this.modelDir = dir;
    this.queryPrefix = recipe.queryPrefix;
    this.passagePrefix = recipe.passagePrefix;
    this.normalized = recipe.normalize;
    this.pooling = recipe.pooling;
    this.fingerprint = fingerprint;
    this.#slots = new FairSlots(info.poolSize);
    this.#batchSize = opts.batchSize ?? 32;
    this.#tokenBudget = opts.tokenBudget ?? 512;
  }

  static async create(options: EmbedderOptions = {}): Promise<Embedder> {
    if (options === null || typeof options !== 'object') throw invalidArgument('type', 'Embedder.create options must be an object');
    positiveInt(options.maxLength, 'maxLength', 8192);
    positiveInt(options.batchSize, 'batchSize', 4096);
    positiveInt(options.tokenBudget, 'tokenBudget', 1 << 22);
    positiveInt(options.poolSize, 'poolSize', 64);
    positiveInt(options.threads, 'threads', 256);
    if (options.quantize !== undefined && options.quantize !== 'none' && options.quantize !== 'int8') {
      throw invalidArgument('range', `quantize must be 'none' or 'int8', got ${String(options.quantize)}`);
    }
    for (const flag of ['cacheOptimizedModel', 'prepackWeights'] as const) {
      if (options[flag] !== undefined && typeof options[flag] !== 'boolean') throw invalidArgument('type', `${flag} must be a boolean, got ${typeof options[flag]}`);
    }
    if (options.pooling !== undefined && options.pooling !== 'mean' && options.pooling !== 'cls') {
      throw invalidArgument('range', `pooling must be 'mean' or 'cls', got ${String(options.pooling)}`);
    }

    // A registry id always gives the recipe; a bare modelPath is a custom model with the given (or default) recipe.
    const spec: ModelSpec | undefined =
      options.model !== undefined || options.modelPath === undefined ? getModelSpec(options.model ?? DEFAULT_MODEL) : undefined;
    const cacheDir = options.cacheDir ?? defaultCacheDir();
    let dir: string;
    if (options.modelPath !== undefined) {
      dir = path.resolve(options.modelPath);
    } else {
      dir = await ensureModelDir(spec!, { cacheDir, showProgress: options.showProgress, endpoint: options.hubEndpoint });
    }
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
    return new Embedder(native, dim, tokenizer, recipe, dir, options, fingerprint);
  }

  /** Embeddings in input order (views on one shared buffer). */
  async embed(texts: string[], options: EmbedOptions = {}): Promise<Float32Array[]> {
    const m = await this.embedMatrix(texts, options);
    const out: Float32Array[] = new Array(m.rows);
    for (let i = 0; i < m.rows; i++) out[i] = m.data.subarray(i * m.dim, (i + 1) * m.dim);
    return out;
  }

  /** One query, with the model's query prefix (e.g. BGE's retrieval instruction). */
  async embedQuery(text: string, options: EmbedOptions = {}): Promise<Float32Array> {
    if (typeof text !== 'string') throw invalidArgument('type', `text must be a string, got ${typeof text}`);
    return (await this.embed([this.queryPrefix + text], options))[0];
  }

  /** Documents, with the model's passage prefix (e.g. E5's "passage: "). */
  async embedPassages(texts: string[], options: EmbedOptions = {}): Promise<Float32Array[]> {
    assertTexts(texts);
    return this.embed(this.passagePrefix ? texts.map((t) => this.passagePrefix + t) : texts, options);
  }

  /** Embeddings as one row-major matrix, rows in input order. Duplicate texts are embedded once. */
  async embedMatrix(texts: string[], options: EmbedOptions = {}): Promise<EmbeddingMatrix> {
    assertTexts(texts);
    if (this.#closed) throw new ClosedError('Embedder');
    const { signal, onProgress } = options;
    if (signal?.aborted) throw abortError(signal);

    const uniqueIndex = new Map<string, number>();
    const rowOf = new Int32Array(texts.length);
    const uniques: string[] = [];
    texts.forEach((t, i) => {
      let u = uniqueIndex.get(t);
      if (u === undefined) {
        u = uniques.length;
        uniqueIndex.set(t, u);
        uniques.push(t);
      }
      rowOf[i] = u;
    });

    const dim = this.dim;
    const unique = new Float32Array(uniques.length * dim);
    if (uniques.length > 0) await this.#runBatches(await this.#tokenizer.encodeBatch(uniques), unique, signal, onProgress);
    if (uniques.length === texts.length) return { data: unique, rows: texts.length, dim };
    const data = new Float32Array(texts.length * dim);
    for (let i = 0; i < texts.length; i++) data.set(unique.subarray(rowOf[i] * dim, (rowOf[i] + 1) * dim), i * dim);
    return { data, rows: texts.length, dim };
  }

  /** Token counts of texts after truncation (no padding), e.g. for budgeting. */
  async countTokens(texts: string[]): Promise<number[]> {
    return (await this.tokenize(texts)).map((t) => t.length);
  }

  /**
   * Texts as the model sees them: token ids after truncation to maxLength (at the end, or with 'left' at the
   * start), and whether each was cut.
   */
  async tokenize(texts: string[], direction: TruncationDirection = 'right'): Promise<TokenizedText[]> {
    assertTexts(texts);
    return this.#tokenizerFor(direction).encodeBatch(texts);
  }

  /** Each text's tokens with their strings, special flags and character offsets (after truncation). */
  async tokenDetails(texts: string[]): Promise<TokenDetail[][]> {
    assertTexts(texts);
    return this.#tokenizer.details(texts);
  }

  /** Token ids back to text. */
  async decode(ids: number[][], skipSpecialTokens = true): Promise<string[]> {
    if (!Array.isArray(ids)) throw invalidArgument('type', `ids must be an array of token id arrays, got ${typeof ids}`);
    for (const [i, row] of ids.entries()) assertTokenIds(row, `ids[${i}]`, this.#tokenizer.vocabSize);
    return this.#tokenizer.decode(ids, skipSpecialTokens);
  }

  /**
   * Embeddings of already tokenised inputs (e.g. from tokenize(), or ids a client sent), in order; each must hold
   * 1 to maxLength ids of this model's vocabulary, special tokens included.
   */
  async embedTokens(inputs: Array<TokenizedText | number[]>, options: EmbedOptions = {}): Promise<Float32Array[]> {
    if (!Array.isArray(inputs)) throw invalidArgument('type', `inputs must be an array of token id arrays, got ${typeof inputs}`);
    if (this.#closed) throw new ClosedError('Embedder');
    if (options.signal?.aborted) throw abortError(options.signal);
    const tokenized = inputs.map((input, i): TokenizedText => {
      const ids = Array.isArray(input) ? input : input?.ids;
      assertTokenIds(ids, `inputs[${i}]`, this.#tokenizer.vocabSize);
      if (ids.length === 0 || ids.length > this.maxLength) {
        throw invalidArgument('range', `inputs[${i}] has ${ids.length} tokens; this model takes 1 to ${this.maxLength}`);
      }
      return { ids, length: ids.length, truncated: false };
    });
    const data = new Float32Array(tokenized.length * this.dim);
    if (tokenized.length > 0) await this.#runBatches(tokenized, data, options.signal, options.onProgress);
    return Array.from({ length: tokenized.length }, (_, i) => data.subarray(i * this.dim, (i + 1) * this.dim));
  }

  #tokenizerFor(direction: TruncationDirection): TextTokenizer {
    if (direction === 'right') return this.#tokenizer;
    if (direction !== 'left') throw invalidArgument('range', `truncation direction must be 'right' or 'left', got ${String(direction)}`);
    return TextTokenizer.load(this.modelDir, this.maxLength, 'left');
  }

  async #runBatches(
    tokenized: TokenizedText[],
    out: Float32Array,
    signal: AbortSignal | undefined,
    onProgress: EmbedOptions['onProgress'],
  ): Promise<void> {
    // Planned at a quarter of the budget; a call alone on the model merges them back to the full budget as it goes.
    const full = { batchSize: this.#batchSize, tokenBudget: this.#tokenBudget };
    const pending = planBatches(tokenized, { ...full, tokenBudget: Math.max(1, this.#tokenBudget >> 2) });
    const turns = pending.length;
    const dim = this.dim;
    let done = 0;
    let failure: unknown;
    const lane: Lane = [];
    // An abort also stops the batch ONNX Runtime is running for this call (RunOptions terminate), not only the
    // batches still waiting.
    const token = signal ? this.#native.cancelToken() : undefined;
    const onAbort = () => this.#native.cancel(token!);
    signal?.addEventListener('abort', onAbort, { once: true });
    const runOne = async (): Promise<void> => {
      // At most poolSize batches are handed to native code at once (more would only park libuv threads that
      // tokenisation and file I/O also need), taken in turn with other calls' batches.
      await this.#slots.acquire(lane);
      try {
        if (failure !== undefined) return;
        if (signal?.aborted) throw abortError(signal);
        if (this.#closed) throw new ClosedError('Embedder');
        const rows = takeBatch(pending, tokenized, full, !this.#slots.shared(lane));
        if (!rows) return; // merged into an earlier turn's batch
        const batch = buildBatch(tokenized, rows);
        const result = await this.#native.run(batch.inputIds, batch.attentionMask, null, [rows.length, batch.seqLen], token);
        rows.forEach((r, i) => out.set(result.subarray(i * dim, (i + 1) * dim), r * dim));
        done += rows.length;
        onProgress?.(done, tokenized.length);
      } catch (err) {
        failure ??= signal?.aborted ? abortError(signal) : err;
      } finally {
        this.#slots.release();
      }
    };
    try {
      await Promise.all(Array.from({ length: turns }, runOne));
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
    if (failure !== undefined) throw failure;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Waits for running batches, then frees every ORT session. Idempotent. */
  close(): Promise<void> {
    this.#closed = true;
    this.#closing ??= this.#native.close();
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
