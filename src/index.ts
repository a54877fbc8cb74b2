/**
 * Embeddings with ONNX sentence-embedding models (Embedder), the similarity service (SimilarityService), the
 * model registry, SIMD vector math and BM25 ranking (LexicalIndex).
 *
 * @packageDocumentation
 * @module fastembed-native
 */
export { Embedder, type EmbedderOptions, type EmbedOptions, type EmbeddingMatrix } from './engine/embedder.js';
export type { AdmissionStats } from './engine/admission.js';
export { embedStream, type EmbedStreamChunk, type EmbedStreamInput, type EmbedStreamOptions, type EmbedStreamProgress } from './engine/embed-stream.js';
export { FastembedError, ClosedError, OverloadedError } from './util/errors.js';
export {
  MODELS,
  MODEL_IDS,
  MODEL_ALIASES,
  getModelSpec,
  type ModelId,
  type ModelName,
  type ModelSpec,
  type ModelFile,
  type PoolingKind,
} from './models/registry.js';
export { downloadFile, type DownloadOptions, type DownloadProgress } from './models/download.js';
export { exportBertCheckpoint } from './models/bert-export.js';
export { defaultCacheDir, ensureModelDir, checkModelDir, type ResolveOptions } from './models/loader.js';
export { loadOnnxRuntime, runtimeCandidates, type Metric, type TopKResult } from './runtime/binding.js';
export { dot, cosine, normalize, scoreAll, topK, topKSync, ASYNC_TOPK_ELEMENTS } from './runtime/vector.js';
export {
  CompactVectorIndex,
  type CompactIndexOptions,
  type CompactPrecision,
  type CompactSearchOptions,
  type CompactSearchResult,
} from './runtime/compact-vectors.js';
export {
  SimilarityService,
  type SimilarityMethod,
  type SimilarityResult,
  type DocumentMatch,
  type SearchPage,
  type CallOptions,
  type PreloadOptions,
  type SearchOptions,
  type SearchMode,
  type FusionOptions,
  type ServiceStats,
  type ServiceStatus,
  type ServiceDependencies,
  type ModelInfo,
} from './service/service.js';
export { ModelSet } from './service/model-set.js';
export type { TokenizedText, TokenDetail, TruncationDirection } from './runtime/tokenizer.js';
export { DEFAULT_CONFIG, presets, resolveConfig, loadConfigFile, configFromEnv, ConfigError, type SimilarityConfig, type PresetName } from './service/config.js';
export { JaccardFallback } from './service/fallback.js';
export type { DenseIndexStats, SearchPrecision } from './service/dense-indexes.js';
export { LexicalIndex, type LexicalIndexOptions, type LexicalHits } from './lexical/lexical-index.js';
export { Analyzer, type AnalyzerOptions } from './lexical/analyzer.js';
export { EmbeddingCache, type CacheStats } from './cache/embedding-cache.js';
export type { EmbeddingStore } from './cache/store.js';
export { MicroBatcher, type EmbedMany } from './engine/micro-batcher.js';
export { planBatches, type BatchPlanOptions } from './engine/batching.js';
