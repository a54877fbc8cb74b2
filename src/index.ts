export { Embedder, type EmbedderOptions, type EmbedOptions, type EmbeddingMatrix } from './embedder.js';
export { FastembedError, ClosedError } from './errors.js';
export { MODELS, MODEL_ALIASES, getModelSpec, type ModelSpec, type ModelFile, type PoolingKind } from './models/registry.js';
export { downloadFile, type DownloadOptions, type DownloadProgress } from './models/download.js';
export { defaultCacheDir, ensureModelDir, checkModelDir } from './models/loader.js';
export { loadOnnxRuntime, runtimeCandidates, type Metric, type TopKResult } from './binding.js';
export { dot, cosine, normalize, scoreAll, topK, topKSync, ASYNC_TOPK_ELEMENTS } from './vector.js';
