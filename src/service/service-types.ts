// The service's public result, option and statistics types (SimilarityService's signatures use them; the HTTP
// layer maps them to each API's JSON).
import type { CacheStats } from '../cache/embedding-cache.js';
import type { EmbeddingStore } from '../cache/store.js';
import type { Embedder } from '../engine/embedder.js';

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
