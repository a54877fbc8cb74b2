// SimilarityService: the public API. Embeddings through a cache and a micro-batcher, similarity with the native
// SIMD kernels, and the Jaccard fallback when the model is unavailable, fails or is too slow.
import { EmbeddingCache, type CacheStats } from './cache/embedding-cache.js';
import type { EmbeddingStore } from './cache/store.js';
import { embedderOptionsFrom, resolveConfig, type SimilarityConfig } from './config.js';
import { assertTexts, Embedder } from './embedder.js';
import { abortError, ClosedError, FastembedError } from './errors.js';
import { JaccardFallback } from './fallback.js';
import { LatencyTracker } from './latency.js';
import { MicroBatcher } from './micro-batcher.js';
import { cosine, scoreAll, topK } from './vector.js';

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
    throw new RangeError(`${name} must be a positive integer, got ${String(value)}`);
  }
}

function assertText(value: unknown, name: string): asserts value is string {
  if (typeof value !== 'string') throw new TypeError(`${name} must be a string, got ${value === null ? 'null' : typeof value}`);
}

/** Rejects when `ms` passes (ERR_TIMEOUT) or `signal` aborts; the work itself goes on and may still be cached. */
function withDeadline<T>(work: Promise<T>, ms: number, signal: AbortSignal | undefined): Promise<T> {
  if (ms <= 0 && !signal) return work;
  return new Promise<T>((resolve, reject) => {
    const timer =
      ms > 0 ? setTimeout(() => reject(new FastembedError(`Embedding took longer than the ${ms} ms timeout`, 'ERR_TIMEOUT')), ms) : undefined;
    const onAbort = () => reject(abortError(signal!));
    signal?.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    });
  });
}

export class SimilarityService {
  readonly config: Readonly<SimilarityConfig>;
  readonly #deps: ServiceDependencies;
  #embedder: Embedder | undefined;
  #ownsEmbedder = false;
  #cache: EmbeddingCache | undefined;
  #batcher: MicroBatcher | undefined;
  #ready: Promise<void> | undefined;
  #status: ServiceStatus = 'initializing';
  #initError: string | undefined;
  #retryTimer: NodeJS.Timeout | undefined;
  /** Public calls running now; close() waits for them (#drained) before freeing the model. */
  #active = 0;
  readonly #drained: Array<() => void> = [];
  #closing = false;
  #closed: Promise<void> | undefined;
  #retryDelay = 0;
  #lastFailure: string | undefined;
  #storeError: string | undefined;
  readonly #started = Date.now();
  readonly #latency = new LatencyTracker();
  readonly #byMethod: Record<string, number> = {};
  #requests = 0;
  #fallbacks = 0;
  #errors = 0;
  #textsEmbedded = 0;

  constructor(config: Partial<SimilarityConfig> = {}, deps: ServiceDependencies = {}) {
    this.config = Object.freeze(resolveConfig(config));
    this.#deps = deps;
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
    this.#ready ??= this.#initialize();
    return this.#ready;
  }

  /** True once a model is loaded: the service answers with embeddings, not the fallback. */
  get modelLoaded(): boolean {
    return this.#batcher !== undefined;
  }

  async #initialize(): Promise<void> {
    const c = this.config;
    try {
      if (!c.enabled) throw new FastembedError('the model is disabled in the configuration (enabled: false)', 'ERR_DISABLED');
      if (this.#deps.embedder) {
        this.#embedder = this.#deps.embedder;
      } else {
        this.#embedder = await Embedder.create(embedderOptionsFrom(c));
        this.#ownsEmbedder = true;
      }
      if (this.#status === 'closed') {
        await this.#closeEmbedder();
        return;
      }
      if (c.enableCache) {
        const l2 = await this.#openStore();
        this.#cache = new EmbeddingCache({ recipe: this.#embedder.fingerprint, maxEntries: c.cacheSize, ttlMs: c.cacheTtl, l2 });
      }
      const embedder = this.#embedder;
      this.#batcher = new MicroBatcher((texts) => this.#embedUncached(embedder, texts), {
        windowMs: c.batchWindowMs,
        maxTexts: c.maxBatchTexts,
      });
      this.#initError = undefined;
      this.#status = 'healthy';
    } catch (err) {
      // A half-initialised attempt frees what it made, so a retry starts clean.
      await this.#closeEmbedder().catch(() => undefined);
      this.#embedder = undefined;
      this.#ownsEmbedder = false;
      const first = this.#initError === undefined;
      this.#initError = `model unavailable: ${(err as Error).message}`;
      if (!c.fallback) {
        this.#status = 'degraded';
        throw err;
      }
      if (this.#status === 'closed') return;
      this.#status = 'degraded';
      const retry = c.enabled && c.loadRetryMs > 0 && !this.#deps.embedder;
      if (first && c.enabled) {
        process.emitWarning(
          `${this.#initError}\nAnswering with Jaccard similarity (method 'jaccard_fallback') ` +
            (retry ? 'while the load is retried in the background.' : 'until the service is restarted.'),
          { code: 'FASTEMBED_FALLBACK' },
        );
      }
      if (retry) this.#scheduleRetry();
    }
  }

  #scheduleRetry(): void {
    this.#retryDelay = Math.min(60_000, this.#retryDelay === 0 ? this.config.loadRetryMs : this.#retryDelay * 2);
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      this.#ready = this.#initialize();
    }, this.#retryDelay);
    // A retry never keeps the process alive on its own (the CLI exits, a server stays up for its socket).
    this.#retryTimer.unref();
  }

  /**
   * The L2 store; one that cannot open leaves the service working on L1 alone, with the reason in health(). The
   * store modules (and lmdb / ioredis) load only when configured: they cost start-up time otherwise.
   */
  async #openStore(): Promise<EmbeddingStore | undefined> {
    const c = this.config;
    if (this.#deps.store) return this.#deps.store;
    try {
      if (c.redisUrl) {
        const { RedisStore } = await import('./cache/redis-store.js');
        return new RedisStore(c.redisUrl, { ttlSeconds: Math.ceil(c.cacheTtl / 1000) });
      }
      if (c.diskCachePath) {
        const { DiskStore } = await import('./cache/disk-store.js');
        return DiskStore.open(c.diskCachePath);
      }
    } catch (err) {
      const code = (err as { code?: string }).code;
      const missing = code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND';
      const fix = missing ? ` (install it: npm install ${c.redisUrl ? 'ioredis' : 'lmdb'})` : '';
      this.#storeError = `L2 cache unavailable (${c.redisUrl ? 'redis' : c.diskCachePath}): ${(err as Error).message}${fix}`;
    }
    return undefined;
  }

  async #embedUncached(embedder: Embedder, texts: string[]): Promise<Float32Array[]> {
    const vectors = await embedder.embed(texts);
    this.#textsEmbedded += texts.length;
    // Only complete results reach the cache: a failed or aborted batch writes nothing.
    if (this.#cache) await this.#cache.setMany(texts.map((t, i) => [this.#cache!.key(t), vectors[i]]));
    return vectors;
  }

  /** Vectors for texts (cache first, misses micro-batched); throws when the model cannot answer in time. */
  async #vectors(texts: string[], signal?: AbortSignal): Promise<Float32Array[]> {
    if (signal?.aborted) throw abortError(signal);
    await this.initialize().catch((err: Error) => {
      throw new FastembedError(this.#initError ?? err.message, 'ERR_MODEL_UNAVAILABLE', { cause: err });
    });
    if (this.#status === 'closed') throw new ClosedError('SimilarityService');
    if (!this.#embedder || !this.#batcher) {
      throw new FastembedError(this.#initError ?? 'model unavailable', 'ERR_MODEL_UNAVAILABLE');
    }
    const out: Array<Float32Array | undefined> = this.#cache
      ? await this.#cache.getMany(texts.map((t) => this.#cache!.key(t)))
      : new Array<undefined>(texts.length).fill(undefined);
    const missing: number[] = [];
    for (let i = 0; i < out.length; i++) if (out[i] === undefined) missing.push(i);
    if (missing.length > 0) {
      const fresh = await withDeadline(this.#batcher.embedMany(missing.map((i) => texts[i])), this.config.timeout, signal);
      missing.forEach((i, j) => (out[i] = fresh[j]));
      this.#lastFailure = undefined;
    }
    return out as Float32Array[];
  }

  /** Runs one public call: counts it, times it, and maps failures to the fallback (or rethrows). */
  async #call<T>(method: string, work: () => Promise<T>, fallback?: () => T): Promise<T> {
    if (this.#status === 'closed' || this.#closing) throw new ClosedError('SimilarityService');
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
        this.#lastFailure = e.message;
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
    return method === 'fastembed_cosine'
      ? { similarity, method, model: this.#embedder!.model, dimension: this.#embedder!.dim }
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
      throw new RangeError(`threshold must be a number from -1 to 1, got ${String(threshold)}`);
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
      await this.initialize().catch(() => undefined);
      return this.#vectors(this.#passages(texts), options.signal);
    });
    return texts.length;
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
    await this.initialize().catch(() => undefined); // the prefixes need the model; #vectors reports a failed load
    return this.#vectors([this.#queryPrefix() + query, ...this.#passages(documents)], signal);
  }

  #queryPrefix(): string {
    return this.#embedder?.queryPrefix ?? '';
  }

  #passages(documents: string[]): string[] {
    const prefix = this.#embedder?.passagePrefix ?? '';
    return prefix ? documents.map((d) => prefix + d) : documents;
  }

  /** Documents' vectors (all but the first, the query) as one contiguous matrix for the SIMD kernels. */
  #matrix(vectors: Float32Array[]): Float32Array {
    const dim = vectors[0].length;
    const matrix = new Float32Array((vectors.length - 1) * dim);
    for (let i = 1; i < vectors.length; i++) matrix.set(vectors[i], (i - 1) * dim);
    return matrix;
  }

  #fallbackMatches(query: string, documents: string[]): DocumentMatch[] {
    const scores = JaccardFallback.scoreAll(query, documents);
    return documents.map((text, index) => ({ text, index, ...this.#result(scores[index], 'jaccard_fallback') }));
  }

  get status(): ServiceStatus {
    return this.#status;
  }

  /** Why the service is degraded (empty when healthy). */
  reasons(): string[] {
    const out: string[] = [];
    if (this.#initError) out.push(this.#initError);
    if (this.#lastFailure) out.push(`last embedding failed: ${this.#lastFailure}`);
    const l2 = this.#storeError ?? this.#cache?.l2Problem();
    if (l2) out.push(l2);
    return out;
  }

  /** healthy / degraded (with reasons) / initializing / closed. */
  health(): { status: ServiceStatus; reasons: string[] } {
    const reasons = this.reasons();
    const status = this.#status === 'healthy' && reasons.length > 0 ? 'degraded' : this.#status;
    return { status, reasons };
  }

  getStats(): ServiceStats {
    const cache = this.#cache?.stats() ?? { size: 0, hits: 0, misses: 0, hitRate: 0, l1Hits: 0, l2Hits: 0, l2Errors: 0, l2: undefined };
    const { avgMs, p50Ms, p99Ms } = this.#latency.summary();
    const { status, reasons } = this.health();
    return {
      status,
      reasons,
      initialized: this.#embedder !== undefined,
      model: this.#embedder?.model ?? this.config.model,
      dimension: this.#embedder?.dim ?? 0,
      poolSize: this.#embedder?.poolSize ?? 0,
      requests: this.#requests,
      requestsByMethod: { ...this.#byMethod },
      cache: { ...cache, enabled: this.#cache !== undefined },
      fallbackCount: this.#fallbacks,
      errors: this.#errors,
      latency: { avgMs, p50Ms, p99Ms },
      textsEmbedded: this.#textsEmbedded,
      microBatches: this.#batcher?.stats() ?? { batches: 0, requests: 0 },
      uptimeMs: Date.now() - this.#started,
    };
  }

  /** Empties the in-memory and the persistent cache and resets their counters. */
  async clearCache(): Promise<void> {
    await this.#cache?.clear();
  }

  async #closeEmbedder(): Promise<void> {
    if (this.#ownsEmbedder) await this.#embedder?.close();
  }

  /**
   * Refuses new calls at once (ClosedError), lets the calls already running finish (up to `deadlineMs`, default
   * 30 s; past it they fail with ClosedError), then frees the model and the cache. Idempotent.
   */
  async close(options: { deadlineMs?: number } = {}): Promise<void> {
    if (this.#status === 'closed' || this.#closing) return this.#closed;
    this.#closing = true;
    clearTimeout(this.#retryTimer);
    this.#closed = this.#shutdown(options.deadlineMs ?? 30_000);
    return this.#closed;
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
    this.#status = 'closed';
    this.#batcher?.flush();
    await this.#ready?.catch(() => undefined);
    await this.#closeEmbedder();
    await this.#cache?.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

function byScore(a: DocumentMatch, b: DocumentMatch): number {
  return b.similarity - a.similarity || a.index - b.index;
}
