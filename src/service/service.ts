// The service layer: the public similarity API of the original Go service and everything a long-running process
// needs around the engine (config, model loading with retry, the L1/L2 cache and micro-batching, the Jaccard
// fallback, health, counting, a draining close). It may import engine/, runtime/, models/, cache/ and util/; never
// http/, cli/ or adapters/, which sit above it.
//
// SimilarityService: a facade over a ModelHandle (load, retry, close) and, once the model is loaded, a VectorSource
// (cache, micro-batching, deadlines). It adds the similarity math (native SIMD kernels), search by cosine, BM25 or
// both (ranking.ts, hybrid.ts, LexicalIndexes, DenseIndexes), the fallback when the model is unavailable, fails or is
// too slow, health and close(). About 390 lines: the original service's ~20 public methods, each a few lines over
// those pieces.
import { resolveConfig, type SimilarityConfig } from './config.js';
import { DEFAULT_MODEL } from '../engine/embedder-options.js';
import { assertPositiveInteger, assertText, assertTexts } from '../util/arguments.js';
import { ClosedError, FastembedError, invalidArgument } from '../util/errors.js';
import { JaccardFallback } from './fallback.js';
import { CallTracker } from './call-tracker.js';
import { modelInfoOf, type ModelInfo } from './model-info.js';
import { ModelHandle } from './model-handle.js';
import type { TokenDetail, TokenizedText, TruncationDirection } from '../runtime/tokenizer.js';
import { VectorSource } from './vector-source.js';
import type { CallOptions, DocumentMatch, SearchOptions, SearchPage, ServiceDependencies, ServiceStats, ServiceStatus, SimilarityMethod, SimilarityResult } from './service-types.js';
import { cosine, scoreAll, topK } from '../runtime/vector.js';
import type { TopKResult } from '../runtime/binding.js';
import { byScore, documentMatrix, passages, rankMatches } from './ranking.js';
import { checkSearchOptions, type SearchMode } from './hybrid.js';
import { LexicalIndexes } from './lexical-indexes.js';
import { DenseIndexes } from './dense-indexes.js';
import { isTextStream, preloadStream, type PreloadOptions } from './preload-stream.js';

export type * from './service-types.js';
export type { ModelInfo } from './model-info.js';
export type { PreloadOptions } from './preload-stream.js';


export class SimilarityService {
  readonly config: Readonly<SimilarityConfig>;
  readonly #handle: ModelHandle;
  #source: VectorSource | undefined;
  readonly #calls: CallTracker;
  readonly #lexical = new LexicalIndexes();
  readonly #dense: DenseIndexes;
  #closed: Promise<void> | undefined;

  constructor(config: Partial<SimilarityConfig> = {}, deps: ServiceDependencies = {}) {
    this.config = Object.freeze(resolveConfig(config));
    // A disabled service (the original's enabled: false) is Jaccard by design, fallback or not.
    this.#calls = new CallTracker(this.config.fallback || !this.config.enabled);
    const { searchPrecision: precision, searchIndexMinDocuments: minDocuments, searchIndexMb } = this.config;
    this.#dense = new DenseIndexes({ precision, minDocuments, maxBytes: searchIndexMb * 1024 * 1024 });
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

  async #vectors(texts: string[], call: CallOptions): Promise<Float32Array[]> {
    return (await this.#vectorSource()).vectors(texts, call);
  }

  #result(similarity: number, method: SimilarityMethod): SimilarityResult {
    const embedder = this.#source?.embedder;
    return (method === 'fastembed_cosine' || method === 'hybrid') && embedder
      ? { similarity, method, model: embedder.model, dimension: embedder.dim }
      : { similarity, method, model: method === 'jaccard_fallback' ? 'jaccard' : 'bm25', dimension: 0 };
  }

  /** The embedding of one text (no fallback: Jaccard has no vectors). */
  computeEmbedding(text: string, options: CallOptions = {}): Promise<Float32Array> {
    assertText(text, 'text');
    return this.#calls.call('computeEmbedding', async () => (await this.#vectors([text], options))[0]);
  }

  /** Embeddings of many texts, in order. */
  computeBatchEmbeddings(texts: string[], options: CallOptions = {}): Promise<Float32Array[]> {
    assertTexts(texts);
    return this.#calls.call('computeBatchEmbeddings', () => this.#vectors(texts, options));
  }

  /** Cosine similarity of two texts (both with the model's symmetric prefix, e.g. e5's "query: "). */
  computeSimilarity(a: string, b: string, options: CallOptions = {}): Promise<SimilarityResult> {
    assertText(a, 'text1');
    assertText(b, 'text2');
    return this.#calls.call(
      'computeSimilarity',
      async () => {
        const source = await this.#vectorSource();
        const prefix = source.embedder.symmetricPrefix;
        const [va, vb] = await source.vectors([prefix + a, prefix + b], options);
        return this.#result(cosine(va, vb), 'fastembed_cosine');
      },
      () => this.#result(JaccardFallback.similarity(a, b), 'jaccard_fallback'),
    );
  }

  /** Similarity of the query to every document, in document order. */
  computeMultipleSimilarities(query: string, documents: string[], options: CallOptions = {}): Promise<DocumentMatch[]> {
    assertText(query, 'query');
    assertTexts(documents, 'documents');
    return this.#calls.call(
      'computeMultipleSimilarities',
      async () => {
        const scores = await this.#scores(query, documents, options);
        return documents.map((text, index) => ({ text, index, ...this.#result(scores[index], 'fastembed_cosine') }));
      },
      () => this.#fallbackMatches(query, documents),
    );
  }

  /**
   * The k most similar documents, best first (k larger than the list returns every document). `mode`: 'dense'
   * (cosine, the default), 'lexical' (BM25, no model needed) or 'hybrid' (both fused; `rrfK` or `alpha`).
   */
  findMostSimilar(query: string, documents: string[], k = 5, options: SearchOptions = {}): Promise<DocumentMatch[]> {
    assertText(query, 'query');
    assertTexts(documents, 'documents');
    assertPositiveInteger(k, 'k');
    const mode = checkSearchOptions(options);
    return this.#calls.call(
      'findMostSimilar',
      async () => {
        if (mode !== 'dense') return this.#ranked(query, documents, mode, options, k);
        if (documents.length === 0) return [];
        const { indices, scores } = await this.#denseTopK(query, documents, k, options);
        return Array.from(indices, (index, i) => ({ text: documents[index], index, ...this.#result(scores[i], 'fastembed_cosine') }));
      },
      () => this.#fallbackRanked(query, documents, k),
    );
  }

  /**
   * Every document with cosine similarity ≥ threshold, best first. Dense only: BM25 and fused scores have no
   * fixed range to hold a threshold against (rank those with findMostSimilar or searchPage).
   */
  filterBySimilarity(query: string, documents: string[], threshold: number, options: SearchOptions = {}): Promise<DocumentMatch[]> {
    if (typeof threshold !== 'number' || Number.isNaN(threshold) || threshold < -1 || threshold > 1) {
      throw invalidArgument('range', `threshold must be a number from -1 to 1, got ${String(threshold)}`);
    }
    if (checkSearchOptions(options) !== 'dense') {
      throw invalidArgument('range', `filterBySimilarity thresholds cosine similarity (mode 'dense'); BM25 and hybrid scores are unbounded, so rank with findMostSimilar or searchPage and mode '${String(options.mode)}' instead`);
    }
    return this.computeMultipleSimilarities(query, documents, options).then((all) =>
      all.filter((m) => m.similarity >= threshold).sort(byScore),
    );
  }

  /** One page (1-based) of the documents ranked as findMostSimilar ranks them (`mode` and fusion options too). */
  async searchPage(query: string, documents: string[], page = 1, pageSize = 10, options: SearchOptions = {}): Promise<SearchPage> {
    assertText(query, 'query');
    assertTexts(documents, 'documents');
    assertPositiveInteger(page, 'page');
    assertPositiveInteger(pageSize, 'pageSize');
    const mode = checkSearchOptions(options);
    const ranked = await this.#calls.call(
      'searchPage',
      () => this.#ranked(query, documents, mode, options),
      () => this.#fallbackRanked(query, documents),
    );
    const start = (page - 1) * pageSize;
    return {
      results: ranked.slice(start, start + pageSize),
      page,
      pageSize,
      total: ranked.length,
      totalPages: Math.ceil(ranked.length / pageSize),
    };
  }

  /**
   * Embeds and caches documents ahead of time (e.g. a document set at start-up), as search will embed them, and
   * returns how many were read. `texts` may be an array or, for a corpus too large to hold, any (async) iterable of
   * strings (a generator, a Readable in object mode): it is embedded in chunks of `chunkSize`, reading the next while
   * one embeds. Only as many vectors as the cache holds (`cacheSize`, plus the disk or Redis store) stay cached.
   */
  async preload(texts: readonly string[] | Iterable<string> | AsyncIterable<string>, options: PreloadOptions = {}): Promise<number> {
    const stream = !Array.isArray(texts);
    if (stream && !isTextStream(texts)) {
      throw invalidArgument('type', `texts must be an array or an (async) iterable of strings, got ${texts === null ? 'null' : typeof texts}`);
    }
    if (!stream) assertTexts(texts);
    return this.#calls.call('preload', async () => {
      const source = await this.#vectorSource();
      const embed = (chunk: string[]) => source.vectors(passages(source.embedder, chunk), options);
      if (stream) return preloadStream(texts, embed, options);
      await embed(texts as string[]);
      return (texts as string[]).length;
    });
  }

  /**
   * Holds room in the model's queue for `texts` about to be embedded as one call within the timeout (or
   * `options.timeoutMs`), or throws OverloadedError at once. A server calls it before tokenising a request, so a
   * refusal costs next to nothing; call the returned release just before the embedding call. Calls smaller than a
   * micro-batch are never refused for time.
   */
  reserveCapacity(texts: readonly string[], options: CallOptions = {}): () => void {
    const source = this.modelLoaded ? this.#source : undefined;
    return source ? source.reserve(texts, source.timeoutOf(options)) : () => {};
  }

  /**
   * Texts as the model sees them: token ids after truncation (at the end, or the start with `truncation: 'left'`)
   * and whether each was cut. Loads the model if needed.
   */
  tokenize(texts: string[], options: { truncation?: TruncationDirection } = {}): Promise<TokenizedText[]> {
    assertTexts(texts);
    return this.#calls.call('tokenize', async () => (await this.#vectorSource()).embedder.tokenize(texts, options.truncation));
  }

  /** Each text's tokens with their strings, special flags and character offsets. */
  tokenDetails(texts: string[]): Promise<TokenDetail[][]> {
    assertTexts(texts);
    return this.#calls.call('tokenDetails', async () => (await this.#vectorSource()).embedder.tokenDetails(texts));
  }

  /** Token ids back to text. */
  decode(ids: number[][], skipSpecialTokens = true): Promise<string[]> {
    return this.#calls.call('decode', async () => (await this.#vectorSource()).embedder.decode(ids, skipSpecialTokens));
  }

  /** Embeddings of token id sequences of this model's vocabulary (e.g. from tokenize()); not cached. */
  embedTokens(inputs: Array<TokenizedText | number[]>, options: CallOptions = {}): Promise<Float32Array[]> {
    return this.#calls.call('embedTokens', async () => (await this.#vectorSource()).tokenVectors(inputs, options));
  }

  /** What the loaded model is (undefined until it loads): id, dimension, longest input, normalisation, prefixes. */
  get modelInfo(): ModelInfo | undefined {
    return this.#handle.embedder && modelInfoOf(this.#handle.embedder);
  }

  /** modelInfo, loading the model if needed (ERR_MODEL_UNAVAILABLE with the reason when it cannot load). */
  async describeModel(): Promise<ModelInfo> {
    return modelInfoOf((await this.#vectorSource()).embedder);
  }

  /**
   * The k best documents by cosine. A large set searched before is answered from its index (DenseIndexes: only the
   * query is embedded); one that qualifies is indexed now. topK searches large matrices on worker threads and small
   * ones inline; k past the rows gives all rows.
   */
  async #denseTopK(query: string, documents: string[], k: number, call: CallOptions): Promise<TopKResult> {
    const source = await this.#vectorSource();
    if (!this.#dense.wants(documents.length, source.embedder.dim)) {
      const vectors = await this.#searchVectors(query, documents, call);
      return topK(vectors[0], documentMatrix(vectors), k);
    }
    const [q] = await source.vectors([source.embedder.queryPrefix + query], call);
    const hit = await this.#dense.search(documents, q, k);
    if (hit) return hit;
    const vectors = await source.vectors(passages(source.embedder, documents), call);
    return this.#dense.build(documents, documentMatrix([q, ...vectors]), q, k);
  }

  async #scores(query: string, documents: string[], call: CallOptions): Promise<Float32Array> {
    if (documents.length === 0) return new Float32Array(0);
    const vectors = await this.#searchVectors(query, documents, call);
    return scoreAll(vectors[0], documentMatrix(vectors));
  }

  /**
   * The query with the model's query prefix and the documents with its passage prefix (BGE's retrieval
   * instruction, e5's "query: "/"passage: "), exactly as Embedder.embedQuery/embedPassages embed them.
   */
  async #searchVectors(query: string, documents: string[], call: CallOptions): Promise<Float32Array[]> {
    const source = await this.#vectorSource();
    return source.vectors([source.embedder.queryPrefix + query, ...passages(source.embedder, documents)], call);
  }

  /** Every document ranked by `mode`: cosine, BM25 (without the model), or both fused. */
  async #ranked(query: string, documents: string[], mode: SearchMode, options: SearchOptions, limit?: number): Promise<DocumentMatch[]> {
    const lexical = mode === 'dense' ? undefined : this.#lexical.scores(query, documents, options.lexical);
    const dense = mode === 'lexical' ? undefined : await this.#scores(query, documents, options);
    const method = mode === 'dense' ? 'fastembed_cosine' : mode === 'lexical' ? 'bm25' : 'hybrid';
    return rankMatches(documents, { dense, lexical }, method, options, (s, m) => this.#result(s, m), limit);
  }

  /** A search's answer while the model is unavailable: Jaccard, or BM25 with fallbackRanking 'bm25'. */
  #fallbackRanked(query: string, documents: string[], limit?: number): DocumentMatch[] {
    if (this.config.fallbackRanking === 'jaccard') return this.#fallbackMatches(query, documents).sort(byScore).slice(0, limit);
    return rankMatches(documents, { lexical: this.#lexical.scores(query, documents) }, 'bm25_fallback', {}, (s, m) => this.#result(s, m), limit);
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
    const { status, reasons } = this.health();
    const calls = this.#calls.counts();
    return {
      status,
      reasons,
      initialized: embedder !== undefined,
      model: embedder?.model ?? this.config.model ?? (this.config.modelPath ? 'custom' : DEFAULT_MODEL),
      dimension: embedder?.dim ?? 0,
      poolSize: embedder?.poolSize ?? 0,
      quantize: embedder?.quantize ?? this.config.quantize,
      requests: calls.requests,
      requestsByMethod: calls.requestsByMethod,
      cache: sourceStats.cache,
      fallbackCount: calls.fallbackCount,
      errors: calls.errors,
      latency: calls.latency,
      textsEmbedded: sourceStats.textsEmbedded,
      microBatches: sourceStats.microBatches,
      queue: embedder?.load ?? { queuedTokens: 0, tokensPerSecond: undefined, predictedWaitMs: 0, refused: 0 },
      searchIndexes: this.#dense.stats(),
      uptimeMs: calls.uptimeMs,
    };
  }

  /** Empties the in-memory and the persistent cache and resets their counters. */
  async clearCache(): Promise<void> {
    this.#lexical.clear();
    this.#dense.clear();
    await this.#source?.clearCache();
  }

  /**
   * Refuses new calls at once (ClosedError), lets the calls already running finish (up to `deadlineMs`, default
   * 30 s; past it they fail with ClosedError), then frees the model and the cache. Idempotent.
   */
  close(options: { deadlineMs?: number } = {}): Promise<void> {
    this.#closed ??= this.#shutdown(options.deadlineMs ?? 30_000);
    return this.#closed;
  }

  async #shutdown(deadlineMs: number): Promise<void> {
    this.#calls.close();
    await this.#calls.drain(deadlineMs);
    this.#source?.flush();
    await this.#handle.close(); // waits for the model's running batches
    this.#dense.clear();
    await this.#source?.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
