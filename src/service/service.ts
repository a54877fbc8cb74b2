// SimilarityService: the public API, a facade over a ModelHandle (load, retry, close) and, once the model is loaded,
// a VectorSource (cache, micro-batching, deadlines). It adds the similarity math (native SIMD kernels), the Jaccard
// fallback when the model is unavailable, fails or is too slow, counting, health and a draining close().
import type { CacheStats } from '../cache/embedding-cache.js';
import type { EmbeddingStore } from '../cache/store.js';
import { resolveConfig, type SimilarityConfig } from './config.js';
import { assertTexts, DEFAULT_MODEL, type Embedder } from '../engine/embedder.js';
import { ClosedError, FastembedError, invalidArgument } from '../util/errors.js';
import { JaccardFallback } from './fallback.js';
import { LatencyTracker } from './latency.js';
import { ModelHandle } from './model-handle.js';
import type { TokenDetail, TokenizedText, TruncationDirection } from '../runtime/tokenizer.js';
import { VectorSource } from './vector-source.js';
import { cosine, scoreAll, topK } from '../runtime/vector.js';

export type SimilarityMethod = 'fastembed_cosine' | 'jaccard_fallback';
export type ServiceStatus = 'initializing' | 'healthy' | 'degraded' | 'closed';

export interface SimilarityResult {
  similarity: number;
  method: SimilarityMethod;
  model: string;
  dimension: number;
}

export interface DocumentMatch extends SimilarityResult {
  text: string;
  index: number;
}

export interface SearchPage {
  results: DocumentMatch[];
  page: number;
  pageSize: number;
  total: number;
  totalPages: number;
}

export interface ModelInfo {
  id: string;
  dimension: number;
  /** Longest input in tokens; longer texts are truncated. */
  maxLength: number;
  /** Vectors are L2-normalised. */
  normalized: boolean;
  pooling: 'mean' | 'cls';
  queryPrefix: string;
  passagePrefix: string;
}

export interface CallOptions {
  signal?: AbortSignal;
}

export interface ServiceStats {
  status: ServiceStatus;
  reasons: string[];
  initialized: boolean;
  model: string;
  dimension: number;
  poolSize: number;
  requests: number;
  requestsByMethod: Record<string, number>;
  cache: CacheStats & { enabled: boolean };
  fallbackCount: number;
  errors: number;
  latency: { avgMs: number; p50Ms: number; p99Ms: number };
  textsEmbedded: number;
  microBatches: { batches: number; requests: number };
  uptimeMs: number;
}

export interface ServiceDependencies {
  /** A second-level cache (e.g. RedisStore); overrides config.diskCachePath. */
  store?: EmbeddingStore;
  /** An already created Embedder (shared, or for tests); the service does not close it. */
  embedder?: Embedder;
}

const FALLBACK_MODEL = 'jaccard';

function assertPositiveInteger(value: unknown, name: string): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw invalidArgument('range', `${name} must be a positive integer, got ${String(value)}`);
  }
}

function assertText(value: unknown, name: string): asserts value is string {
  if (typeof value !== 'string') throw invalidArgument('type', `${name} must be a string, got ${value === null ? 'null' : typeof value}`);
}

export class SimilarityService {
  readonly config: Readonly<SimilarityConfig>;
  readonly #handle: ModelHandle;
  #source: VectorSource | undefined;
  /** Public calls running now; close() waits for them (#drained) before freeing the model. */
  #active = 0;
  readonly #drained: Array<() => void> = [];
  #closing = false;
  #closed: Promise<void> | undefined;
  readonly #started = Date.now();
  readonly #latency = new LatencyTracker();
  readonly #byMethod: Record<string, number> = {};
  #requests = 0;
  #fallbacks = 0;
  #errors = 0;

  constructor(config: Partial<SimilarityConfig> = {}, deps: ServiceDependencies = {}) {
    this.config = Object.freeze(resolveConfig(config));
    this.#handle = new ModelHandle(this.config, deps.embedder, async (embedder) => {
      this.#source = await VectorSource.open(embedder, this.config, deps.store);
    });
  }

  /** Creates and initialises a service. */
  static async create(config: Partial<SimilarityConfig> = {}, deps: ServiceDependencies = {}): Promise<SimilarityService> {
    const service = new SimilarityService(config, deps);
    await service.initialize();
    return service;
  }

  /**
   * Loads the model. With the fallback enabled a model that cannot load leaves the service degraded (Jaccard
   * answers, a process warning with the reason, /ready 503) and the load is retried in the background with
   * backoff until it succeeds; without the fallback, the error is thrown. Idempotent.
   */
  initialize(): Promise<void> {
    return this.#handle.load();
  }

  /** True once a model is loaded: the service answers with embeddings, not the fallback. */
  get modelLoaded(): boolean {
    return this.#handle.embedder !== undefined;
  }

  /** The loaded model's vector source; ERR_MODEL_UNAVAILABLE (with the reason) when there is none. */
  async #vectorSource(): Promise<VectorSource> {
    await this.#handle.load().catch((err: Error) => {
      throw new FastembedError(this.#handle.error ?? err.message, 'ERR_MODEL_UNAVAILABLE', { cause: err });
    });
    if (this.#handle.state === 'closed') throw new ClosedError('SimilarityService');
    if (!this.modelLoaded || !this.#source) throw new FastembedError(this.#handle.error ?? 'model unavailable', 'ERR_MODEL_UNAVAILABLE');
    return this.#source;
  }

  async #vectors(texts: string[], signal?: AbortSignal): Promise<Float32Array[]> {
    return (await this.#vectorSource()).vectors(texts, signal);
  }

  /** Runs one public call: counts it, times it, and maps failures to the fallback (or rethrows). */
  async #call<T>(method: string, work: () => Promise<T>, fallback?: () => T): Promise<T> {
    if (this.#closing) throw new ClosedError('SimilarityService');
    this.#active++;
    try {
      return await this.#run(method, work, fallback);
    } finally {
      if (--this.#active === 0) for (const wake of this.#drained.splice(0)) wake();
    }
  }

  async #run<T>(method: string, work: () => Promise<T>, fallback?: () => T): Promise<T> {
    this.#requests++;
    this.#byMethod[method] = (this.#byMethod[method] ?? 0) + 1;
    const start = performance.now();
    try {
      return await work();
    } catch (err) {
      const e = err as Error;
      const callerError = e instanceof TypeError || e instanceof RangeError || e.name === 'AbortError' || e instanceof ClosedError;
      if (!callerError) {
        if (fallback && this.config.fallback) {
          this.#fallbacks++;
          return fallback();
        }
        this.#errors++;
      }
      throw err;
    } finally {
      this.#latency.record(performance.now() - start);
    }
  }

  #result(similarity: number, method: SimilarityMethod): SimilarityResult {
    const embedder = this.#source?.embedder;
    return method === 'fastembed_cosine' && embedder
      ? { similarity, method, model: embedder.model, dimension: embedder.dim }
      : { similarity, method, model: FALLBACK_MODEL, dimension: 0 };
  }

  /** The embedding of one text (no fallback: Jaccard has no vectors). */
  computeEmbedding(text: string, options: CallOptions = {}): Promise<Float32Array> {
    assertText(text, 'text');
    return this.#call('computeEmbedding', async () => (await this.#vectors([text], options.signal))[0]);
  }

  /** Embeddings of many texts, in order. */
  computeBatchEmbeddings(texts: string[], options: CallOptions = {}): Promise<Float32Array[]> {
    assertTexts(texts);
    return this.#call('computeBatchEmbeddings', () => this.#vectors(texts, options.signal));
  }

  /** Cosine similarity of two texts. */
  computeSimilarity(a: string, b: string, options: CallOptions = {}): Promise<SimilarityResult> {
    assertText(a, 'text1');
    assertText(b, 'text2');
    return this.#call(
      'computeSimilarity',
      async () => {
        const [va, vb] = await this.#vectors([a, b], options.signal);
        return this.#result(cosine(va, vb), 'fastembed_cosine');
      },
      () => this.#result(JaccardFallback.similarity(a, b), 'jaccard_fallback'),
    );
  }

  /** Similarity of the query to every document, in document order. */
  computeMultipleSimilarities(query: string, documents: string[], options: CallOptions = {}): Promise<DocumentMatch[]> {
    assertText(query, 'query');
    assertTexts(documents, 'documents');
    return this.#call(
      'computeMultipleSimilarities',
      async () => {
        const scores = await this.#scores(query, documents, options.signal);
        return documents.map((text, index) => ({ text, index, ...this.#result(scores[index], 'fastembed_cosine') }));
      },
      () => this.#fallbackMatches(query, documents),
    );
  }

  /** The k most similar documents, best first (k larger than the list returns every document). */
  findMostSimilar(query: string, documents: string[], k = 5, options: CallOptions = {}): Promise<DocumentMatch[]> {
    assertText(query, 'query');
    assertTexts(documents, 'documents');
    assertPositiveInteger(k, 'k');
    return this.#call(
      'findMostSimilar',
      async () => {
        if (documents.length === 0) return [];
        const vectors = await this.#searchVectors(query, documents, options.signal);
        // topK searches large matrices on worker threads and small ones inline; k past the rows gives all rows.
        const { indices, scores } = await topK(vectors[0], this.#matrix(vectors), k);
        return Array.from(indices, (index, i) => ({ text: documents[index], index, ...this.#result(scores[i], 'fastembed_cosine') }));
      },
      () => this.#fallbackMatches(query, documents).sort(byScore).slice(0, k),
    );
  }

  /** Every document with similarity ≥ threshold, best first. */
  filterBySimilarity(query: string, documents: string[], threshold: number, options: CallOptions = {}): Promise<DocumentMatch[]> {
    if (typeof threshold !== 'number' || Number.isNaN(threshold) || threshold < -1 || threshold > 1) {
      throw invalidArgument('range', `threshold must be a number from -1 to 1, got ${String(threshold)}`);
    }
    return this.computeMultipleSimilarities(query, documents, options).then((all) =>
      all.filter((m) => m.similarity >= threshold).sort(byScore),
    );
  }

  /** One page (1-based) of the documents ranked by similarity. */
  async searchPage(query: string, documents: string[], page = 1, pageSize = 10, options: CallOptions = {}): Promise<SearchPage> {
    assertPositiveInteger(page, 'page');
    assertPositiveInteger(pageSize, 'pageSize');
    const ranked = (await this.computeMultipleSimilarities(query, documents, options)).sort(byScore);
    const start = (page - 1) * pageSize;
    return {
      results: ranked.slice(start, start + pageSize),
      page,
      pageSize,
      total: ranked.length,
      totalPages: Math.ceil(ranked.length / pageSize),
    };
  }

  /** Embeds and caches documents ahead of time (e.g. a document set at start-up), as search will embed them. */
  async preload(texts: string[], options: CallOptions = {}): Promise<number> {
    assertTexts(texts);
    await this.#call('preload', async () => {
      const source = await this.#vectorSource();
      return source.vectors(passages(source.embedder, texts), options.signal);
    });
    return texts.length;
  }

  /**
   * Texts as the model sees them: token ids after truncation (at the end, or the start with `truncation: 'left'`)
   * and whether each was cut. Loads the model if needed.
   */
  tokenize(texts: string[], options: { truncation?: TruncationDirection } = {}): Promise<TokenizedText[]> {
    assertTexts(texts);
    return this.#call('tokenize', async () => (await this.#vectorSource()).embedder.tokenize(texts, options.truncation));
  }

  /** Each text's tokens with their strings, special flags and character offsets. */
  tokenDetails(texts: string[]): Promise<TokenDetail[][]> {
    assertTexts(texts);
    return this.#call('tokenDetails', async () => (await this.#vectorSource()).embedder.tokenDetails(texts));
  }

  /** Token ids back to text. */
  decode(ids: number[][], skipSpecialTokens = true): Promise<string[]> {
    return this.#call('decode', async () => (await this.#vectorSource()).embedder.decode(ids, skipSpecialTokens));
  }

  /** Embeddings of token id sequences of this model's vocabulary (e.g. from tokenize()); not cached. */
  embedTokens(inputs: Array<TokenizedText | number[]>, options: CallOptions = {}): Promise<Float32Array[]> {
    return this.#call('embedTokens', async () => (await this.#vectorSource()).tokenVectors(inputs, options.signal));
  }

  /** What the loaded model is (undefined until it loads): id, dimension, longest input, normalisation, prefixes. */
  get modelInfo(): ModelInfo | undefined {
    return this.#handle.embedder && describe(this.#handle.embedder);
  }

  /** modelInfo, loading the model if needed (ERR_MODEL_UNAVAILABLE with the reason when it cannot load). */
  async describeModel(): Promise<ModelInfo> {
    return describe((await this.#vectorSource()).embedder);
  }

  async #scores(query: string, documents: string[], signal?: AbortSignal): Promise<Float32Array> {
    if (documents.length === 0) return new Float32Array(0);
    const vectors = await this.#searchVectors(query, documents, signal);
    return scoreAll(vectors[0], this.#matrix(vectors));
  }

  /**
   * The query with the model's query prefix and the documents with its passage prefix (BGE's retrieval
   * instruction, e5's "query: "/"passage: "), exactly as Embedder.embedQuery/embedPassages embed them.
   */
  async #searchVectors(query: string, documents: string[], signal?: AbortSignal): Promise<Float32Array[]> {
    const source = await this.#vectorSource();
    return source.vectors([source.embedder.queryPrefix + query, ...passages(source.embedder, documents)], signal);
  }

  /**
   * Documents' vectors (all but the first, the query) as one contiguous matrix for the SIMD kernels, on a
   * SharedArrayBuffer so a large one is searched in place across cores (topK).
   */
  #matrix(vectors: Float32Array[]): Float32Array {
    const dim = vectors[0].length;
    const matrix = new Float32Array(new SharedArrayBuffer((vectors.length - 1) * dim * 4));
    for (let i = 1; i < vectors.length; i++) matrix.set(vectors[i], (i - 1) * dim);
    return matrix;
  }

  #fallbackMatches(query: string, documents: string[]): DocumentMatch[] {
    const scores = JaccardFallback.scoreAll(query, documents);
    return documents.map((text, index) => ({ text, index, ...this.#result(scores[index], 'jaccard_fallback') }));
  }

  get status(): ServiceStatus {
    return this.health().status;
  }

  /** Why the service is degraded (empty when healthy). */
  reasons(): string[] {
    const out: string[] = [];
    if (this.#handle.error) out.push(this.#handle.error);
    if (this.modelLoaded && this.#source) out.push(...this.#source.problems());
    return out;
  }

  /** healthy / degraded (with reasons) / initializing / closed. */
  health(): { status: ServiceStatus; reasons: string[] } {
    const reasons = this.reasons();
    const state = this.#handle.state;
    const status: ServiceStatus =
      state === 'closed' ? 'closed' : state === 'loading' && reasons.length === 0 ? 'initializing' : reasons.length > 0 || state === 'failed' ? 'degraded' : 'healthy';
    return { status, reasons };
  }

  getStats(): ServiceStats {
    const embedder = this.#handle.embedder;
    const source = embedder ? this.#source : undefined;
    const sourceStats = source?.stats() ?? {
      cache: { size: 0, hits: 0, misses: 0, hitRate: 0, l1Hits: 0, l2Hits: 0, l2Errors: 0, l2: undefined, enabled: false },
      textsEmbedded: 0,
      microBatches: { batches: 0, requests: 0 },
    };
    const { avgMs, p50Ms, p99Ms } = this.#latency.summary();
    const { status, reasons } = this.health();
    return {
      status,
      reasons,
      initialized: embedder !== undefined,
      model: embedder?.model ?? this.config.model ?? (this.config.modelPath ? 'custom' : DEFAULT_MODEL),
      dimension: embedder?.dim ?? 0,
      poolSize: embedder?.poolSize ?? 0,
      requests: this.#requests,
      requestsByMethod: { ...this.#byMethod },
      cache: sourceStats.cache,
      fallbackCount: this.#fallbacks,
      errors: this.#errors,
      latency: { avgMs, p50Ms, p99Ms },
      textsEmbedded: sourceStats.textsEmbedded,
      microBatches: sourceStats.microBatches,
      uptimeMs: Date.now() - this.#started,
    };
  }

  /** Empties the in-memory and the persistent cache and resets their counters. */
  async clearCache(): Promise<void> {
    await this.#source?.clearCache();
  }

  /**
   * Refuses new calls at once (ClosedError), lets the calls already running finish (up to `deadlineMs`, default
   * 30 s; past it they fail with ClosedError), then frees the model and the cache. Idempotent.
   */
  close(options: { deadlineMs?: number } = {}): Promise<void> {
    if (!this.#closing) {
      this.#closing = true;
      this.#closed = this.#shutdown(options.deadlineMs ?? 30_000);
    }
    return this.#closed!;
  }

  async #shutdown(deadlineMs: number): Promise<void> {
    if (this.#active > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        new Promise<void>((resolve) => this.#drained.push(resolve)),
        new Promise<void>((resolve) => (timer = setTimeout(resolve, deadlineMs))),
      ]);
      clearTimeout(timer);
    }
    this.#source?.flush();
    await this.#handle.close(); // waits for the model's running batches
    await this.#source?.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

function describe(e: Embedder): ModelInfo {
  return { id: e.model, dimension: e.dim, maxLength: e.maxLength, normalized: e.normalized, pooling: e.pooling, queryPrefix: e.queryPrefix, passagePrefix: e.passagePrefix };
}

/** Documents as the model embeds passages (e5's "passage: "; most models add nothing). */
function passages(embedder: Embedder, documents: string[]): string[] {
  return embedder.passagePrefix ? documents.map((d) => embedder.passagePrefix + d) : documents;
}

function byScore(a: DocumentMatch, b: DocumentMatch): number {
  return b.similarity - a.similarity || a.index - b.index;
}
