// The service's public result, option and statistics types (SimilarityService's signatures use them; the HTTP
// layer maps them to each API's JSON).
import type { CacheStats } from '../cache/embedding-cache.js';
import type { EmbeddingStore } from '../cache/store.js';
import type { AdmissionStats } from '../engine/admission.js';
import type { Embedder } from '../engine/embedder.js';
import type { LexicalIndexOptions } from '../lexical/lexical-index.js';
import type { FusionOptions, SearchMode } from './hybrid.js';
import type { DenseIndexStats } from './dense-indexes.js';

export type { FusionOptions, SearchMode } from './hybrid.js';

/**
 * How a score was made: the model's cosine, BM25 (mode 'lexical'), both fused (mode 'hybrid'), or a fallback while
 * the model is unavailable: Jaccard word overlap, or BM25 ranking when `fallbackRanking: 'bm25'`.
 */
export type SimilarityMethod = 'fastembed_cosine' | 'bm25' | 'hybrid' | 'jaccard_fallback' | 'bm25_fallback';
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
  /** Mode 'hybrid': the parts fused into `similarity` (the cosine, and the BM25 score, 0 for no shared term). */
  scores?: { dense: number; lexical: number };
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
  /**
   * How long this call may take, in ms, if shorter than the configured `timeout`. Work the model's queue could not
   * finish by then is refused at once with OverloadedError (`retryAfterMs`), not accepted to time out.
   */
  timeoutMs?: number;
}

/** Search options: the ranking (`mode`, default 'dense'), its fusion, and BM25's analysis for 'lexical'/'hybrid'. */
export interface SearchOptions extends CallOptions, FusionOptions {
  mode?: SearchMode;
  /** BM25 parameters and analysis (default English with stemming and stopwords, k1 1.5, b 0.75). */
  lexical?: LexicalIndexOptions;
}

export interface ServiceStats {
  status: ServiceStatus;
  reasons: string[];
  initialized: boolean;
  model: string;
  dimension: number;
  poolSize: number;
  /** 'int8' when the model runs quantised (config `quantize`), else 'none'. */
  quantize: 'none' | 'int8';
  requests: number;
  requestsByMethod: Record<string, number>;
  cache: CacheStats & { enabled: boolean };
  fallbackCount: number;
  errors: number;
  latency: { avgMs: number; p50Ms: number; p99Ms: number };
  textsEmbedded: number;
  microBatches: { batches: number; requests: number };
  /** The model's work queue: tokens accepted and not yet embedded, its measured speed, the predicted wait, refusals. */
  queue: AdmissionStats;
  /** Large document sets kept for dense search (config searchPrecision): how many, their bytes, hits and builds. */
  searchIndexes: DenseIndexStats;
  uptimeMs: number;
}

export interface ServiceDependencies {
  /** A second-level cache (e.g. RedisStore); overrides config.diskCachePath. */
  store?: EmbeddingStore;
  /** An already created Embedder (shared, or for tests); the service does not close it. */
  embedder?: Embedder;
}
