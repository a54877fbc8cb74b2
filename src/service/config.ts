// SimilarityService configuration: defaults, the three presets, the seed's JSON file format and env vars.
// Validation reports every invalid field at once.
import fs from 'node:fs';
import { usableCpus } from '../runtime/cpus.js';
import { FastembedError, invalidArgument } from '../util/errors.js';
import type { EmbedderOptions } from '../engine/embedder.js';
import { defaultCacheDir } from '../models/loader.js';
import type { ModelName } from '../models/registry.js';
import type { SearchPrecision } from './dense-indexes.js';

export interface SimilarityConfig {
  /** false: never load a model; every similarity is Jaccard. */
  enabled: boolean;
  /**
   * Registry id or alias. Unset: all-MiniLM-L6-v2, or with `modelPath` a custom model (mean pooling unless
   * `pooling` says otherwise), never silently another model's recipe.
   */
  model?: ModelName;
  /** A local model directory (offline); otherwise the model cache / a download is used. */
  modelPath?: string;
  cacheDir: string;
  /** For a custom model (modelPath), or to override the registry's recipe: pooling, normalisation and prefixes. */
  pooling?: 'mean' | 'cls';
  normalize?: boolean;
  queryPrefix?: string;
  passagePrefix?: string;
  /** Longest input in tokens; default the model's recipe (all-MiniLM-L6-v2: 256), as sentence-transformers uses. */
  maxLength?: number;
  batchSize: number;
  /**
   * 'int8' serves the model quantised on first use (EmbedderOptions.quantize: faster, vectors within ≈ 0.99 cosine of
   * fp32, README *Quality*); 'none' (default) the fp32 model. /info says which (TEI's model_dtype).
   */
  quantize: 'none' | 'int8';
  enableCache: boolean;
  poolSize: number;
  /** Intra-op threads per session; 0 = cores / poolSize. */
  threads: number;
  /** Nice value (0–19) of the inference threads: under full load the event loop runs first (see EmbedderOptions). */
  inferenceNice: number;
  /** Per-request embedding timeout in milliseconds (0 = none); on expiry the fallback answers. */
  timeout: number;
  /**
   * Answer with Jaccard similarity when the model is unavailable, fails or times out (with a warning, see health).
   * Default false: only a caller who asks gets scores that are not embeddings (`serve` asks).
   */
  fallback: boolean;
  /**
   * How search and paged search rank while falling back: 'jaccard' (the original service's, the default) or 'bm25'
   * (much better ranking, README *Quality*). Pairwise similarity and filtering stay Jaccard: a bounded score.
   */
  fallbackRanking: 'jaccard' | 'bm25';
  /** First delay (ms) before a failed model load is retried in the background, doubling up to 60 s; 0 = never retry. */
  loadRetryMs: number;
  /** L1 cache: most entries kept in memory. */
  cacheSize: number;
  /** L1 cache: time to live in ms (0 = no expiry). */
  cacheTtl: number;
  /** L2 cache on disk (LMDB directory); "" = none. */
  diskCachePath: string;
  /** L2 cache shared by replicas (redis:// URL); "" = none. */
  redisUrl: string;
  /** Most tokens one call may send to the model (after truncation); more is a RangeError (HTTP 413). 0 = no limit. */
  maxRequestTokens: number;
  /**
   * Most tokens accepted by the model's queue and not yet embedded; a call past it is refused at once with
   * OverloadedError (HTTP 429 + Retry-After). 0 = no bound: calls are still refused when the queue could not finish
   * them within `timeout`.
   */
  maxQueueTokens: number;
  /**
   * How dense search keeps a large document set it has searched, so a repeat is neither embedded nor looked up again:
   * 'int8' (default) or 'binary' codes beside the fp32 rows, which rescore the candidates so results equal fp32
   * search (README *Compact vectors*); 'float32' keeps nothing.
   */
  searchPrecision: SearchPrecision;
  /** Smallest document set so kept (smaller sets are searched as they come). */
  searchIndexMinDocuments: number;
  /** Most memory (MB) the kept sets may take together; the least recently searched go first. */
  searchIndexMb: number;
  /**
   * Micro-batching: how long single requests wait to be coalesced while the model has a free session (ms; 0, the
   * default: those requested in the same turn of the event loop), and the most per batch.
   */
  batchWindowMs: number;
  maxBatchTexts: number;
  onnxRuntimePath?: string;
}

export const DEFAULT_CONFIG: Readonly<SimilarityConfig> = Object.freeze({
  enabled: true,
  cacheDir: defaultCacheDir(),
  batchSize: 32,
  quantize: 'none',
  enableCache: true,
  poolSize: 1,
  threads: 0,
  inferenceNice: 10,
  timeout: 30_000,
  // Off in the library: a caller who did not ask for Jaccard scores gets the model's error, not other numbers.
  // `serve` turns it on (the original service's behaviour); a config file or FASTEMBED_FALLBACK can too.
  fallback: false,
  fallbackRanking: 'jaccard',
  loadRetryMs: 1_000,
  maxRequestTokens: 1_000_000,
  maxQueueTokens: 0,
  cacheSize: 10_000,
  cacheTtl: 3_600_000,
  diskCachePath: '',
  redisUrl: '',
  searchPrecision: 'int8',
  searchIndexMinDocuments: 10_000,
  searchIndexMb: 256,
  batchWindowMs: 0,
  maxBatchTexts: 64,
});

/** The seed's three ready-made configurations. */
export const presets = {
  /** Small caches, generous timeout, one session. */
  development: (): SimilarityConfig => ({ ...DEFAULT_CONFIG, poolSize: 1, timeout: 60_000, cacheSize: 1_000 }),
  /** Two sessions, bounded timeout, bigger cache. */
  production: (): SimilarityConfig => ({ ...DEFAULT_CONFIG, poolSize: 2, timeout: 10_000, cacheSize: 50_000 }),
  /** One session per core, large batches and cache, tight timeout. */
  highPerformance: (): SimilarityConfig => ({
    ...DEFAULT_CONFIG,
    poolSize: usableCpus(),
    threads: 1,
    batchSize: 64,
    cacheSize: 200_000,
    timeout: 5_000,
    maxBatchTexts: 128,
  }),
} as const;

export type PresetName = keyof typeof presets;

export class ConfigError extends FastembedError {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`, 'ERR_CONFIG');
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

type Check = (v: unknown) => string | undefined;
const int = (min: number, max: number): Check => (v) =>
  typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max ? undefined : `must be an integer from ${min} to ${max}`;
const bool: Check = (v) => (typeof v === 'boolean' ? undefined : 'must be true or false');
const str = (nonEmpty: boolean): Check => (v) =>
  typeof v === 'string' && (!nonEmpty || v.length > 0) ? undefined : nonEmpty ? 'must be a non-empty string' : 'must be a string';
const optional = (check: Check): Check => (v) => (v === undefined ? undefined : check(v));
const optStr = optional(str(false));
const redis: Check = (v) =>
  typeof v === 'string' && (v === '' || /^rediss?:\/\//.test(v)) ? undefined : 'must be a redis:// or rediss:// URL, or empty';

const CHECKS: Record<keyof SimilarityConfig, Check> = {
  enabled: bool,
  model: optional(str(true)),
  modelPath: optStr,
  cacheDir: str(true),
  maxLength: optional(int(1, 8192)),
  pooling: optional((v) => (v === 'mean' || v === 'cls' ? undefined : "must be 'mean' or 'cls'")),
  normalize: optional(bool),
  queryPrefix: optStr,
  passagePrefix: optStr,
  batchSize: int(1, 4096),
  quantize: (v) => (v === 'none' || v === 'int8' ? undefined : "must be 'none' or 'int8'"),
  enableCache: bool,
  poolSize: int(1, 64),
  threads: int(0, 256),
  inferenceNice: int(0, 19),
  timeout: int(0, 3_600_000),
  fallback: bool,
  fallbackRanking: (v) => (v === 'jaccard' || v === 'bm25' ? undefined : "must be 'jaccard' or 'bm25'"),
  loadRetryMs: int(0, 3_600_000),
  maxRequestTokens: int(0, 1_000_000_000),
  maxQueueTokens: int(0, 1_000_000_000),
  cacheSize: int(0, 100_000_000),
  cacheTtl: int(0, 2_147_483_647),
  diskCachePath: str(false),
  redisUrl: redis,
  searchPrecision: (v) => (v === 'float32' || v === 'int8' || v === 'binary' ? undefined : "must be 'float32', 'int8' or 'binary'"),
  searchIndexMinDocuments: int(1, 1_000_000_000),
  searchIndexMb: int(0, 1_000_000),
  batchWindowMs: int(0, 1000),
  maxBatchTexts: int(1, 4096),
  onnxRuntimePath: optStr,
};

/** Defaults + `partial`, validated; throws ConfigError listing every invalid or unknown field. */
export function resolveConfig(partial: Partial<SimilarityConfig> = {}, base: SimilarityConfig = DEFAULT_CONFIG): SimilarityConfig {
  if (partial === null || typeof partial !== 'object') throw invalidArgument('type', 'config must be an object');
  const merged = { ...base, ...partial } as SimilarityConfig;
  const problems: string[] = [];
  for (const key of Object.keys(partial)) {
    if (!(key in CHECKS)) problems.push(`${key}: unknown option (known: ${Object.keys(CHECKS).join(', ')})`);
  }
  for (const [key, check] of Object.entries(CHECKS)) {
    const problem = check(merged[key as keyof SimilarityConfig]);
    if (problem) problems.push(`${key}: ${problem}, got ${JSON.stringify(merged[key as keyof SimilarityConfig])}`);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return merged;
}

/** The seed's file keys (snake_case under "fastembed") → our fields. */
const FILE_KEYS: Record<string, [keyof SimilarityConfig, (v: unknown) => unknown]> = {
  enabled: ['enabled', (v) => v],
  model: ['model', (v) => v],
  model_path: ['modelPath', (v) => v],
  cache_dir: ['cacheDir', (v) => v],
  max_length: ['maxLength', (v) => v],
  pooling: ['pooling', (v) => v],
  normalize: ['normalize', (v) => v],
  query_prefix: ['queryPrefix', (v) => v],
  passage_prefix: ['passagePrefix', (v) => v],
  batch_size: ['batchSize', (v) => v],
  quantize: ['quantize', (v) => v],
  enable_cache: ['enableCache', (v) => v],
  pool_size: ['poolSize', (v) => v],
  threads: ['threads', (v) => v],
  inference_nice: ['inferenceNice', (v) => v],
  timeout_seconds: ['timeout', (v) => (typeof v === 'number' ? Math.round(v * 1000) : v)],
  fallback_enabled: ['fallback', (v) => v],
  fallback_ranking: ['fallbackRanking', (v) => v],
  cache_size: ['cacheSize', (v) => v],
  cache_ttl_seconds: ['cacheTtl', (v) => (typeof v === 'number' ? Math.round(v * 1000) : v)],
  disk_cache_path: ['diskCachePath', (v) => v],
  redis_url: ['redisUrl', (v) => v],
  max_queue_tokens: ['maxQueueTokens', (v) => v],
  search_precision: ['searchPrecision', (v) => v],
  search_index_min_documents: ['searchIndexMinDocuments', (v) => v],
  search_index_mb: ['searchIndexMb', (v) => v],
};

/** Reads a JSON config file in the seed's format: {"fastembed": {"enabled", "model", "cache_dir", ...}}. */
export function loadConfigFile(file: string, base: SimilarityConfig = DEFAULT_CONFIG): SimilarityConfig {
  let json: unknown;
  try {
    json = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new ConfigError([`${file}: cannot read JSON (${(err as Error).message})`]);
  }
  const section = (json as { fastembed?: unknown })?.fastembed;
  if (section === null || typeof section !== 'object') {
    throw new ConfigError([`${file}: expected an object under the "fastembed" key`]);
  }
  const partial: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [key, value] of Object.entries(section)) {
    const mapping = FILE_KEYS[key];
    if (!mapping) problems.push(`fastembed.${key}: unknown key (known: ${Object.keys(FILE_KEYS).join(', ')})`);
    else partial[mapping[0]] = mapping[1](value);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return resolveConfig(partial as Partial<SimilarityConfig>, base);
}

/** FASTEMBED_* environment variables over `base`. */
export function configFromEnv(env: Readonly<Record<string, string | undefined>> = process.env, base: SimilarityConfig = DEFAULT_CONFIG): SimilarityConfig {
  const partial: Record<string, unknown> = {};
  const problems: string[] = [];
  const num = (name: string, key: keyof SimilarityConfig, scale = 1) => {
    const raw = env[name];
    if (raw === undefined || raw === '') return;
    const n = Number(raw);
    if (!Number.isFinite(n)) problems.push(`${name}: must be a number, got ${JSON.stringify(raw)}`);
    else partial[key] = Math.round(n * scale);
  };
  const flag = (name: string, key: keyof SimilarityConfig) => {
    const raw = env[name];
    if (raw === undefined || raw === '') return;
    if (/^(1|true|yes|on)$/i.test(raw)) partial[key] = true;
    else if (/^(0|false|no|off)$/i.test(raw)) partial[key] = false;
    else problems.push(`${name}: must be true or false, got ${JSON.stringify(raw)}`);
  };
  const text = (name: string, key: keyof SimilarityConfig) => {
    if (env[name] !== undefined) partial[key] = env[name];
  };
  flag('FASTEMBED_ENABLED', 'enabled');
  text('FASTEMBED_MODEL', 'model');
  text('FASTEMBED_MODEL_PATH', 'modelPath');
  text('FASTEMBED_CACHE_DIR', 'cacheDir');
  num('FASTEMBED_MAX_LENGTH', 'maxLength');
  num('FASTEMBED_MAX_REQUEST_TOKENS', 'maxRequestTokens');
  num('FASTEMBED_MAX_QUEUE_TOKENS', 'maxQueueTokens');
  text('FASTEMBED_POOLING', 'pooling');
  text('FASTEMBED_QUERY_PREFIX', 'queryPrefix');
  text('FASTEMBED_PASSAGE_PREFIX', 'passagePrefix');
  num('FASTEMBED_BATCH_SIZE', 'batchSize');
  text('FASTEMBED_QUANTIZE', 'quantize');
  flag('FASTEMBED_ENABLE_CACHE', 'enableCache');
  num('FASTEMBED_POOL_SIZE', 'poolSize');
  num('FASTEMBED_THREADS', 'threads');
  num('FASTEMBED_INFERENCE_NICE', 'inferenceNice');
  num('FASTEMBED_TIMEOUT_SECONDS', 'timeout', 1000);
  flag('FASTEMBED_FALLBACK', 'fallback');
  text('FASTEMBED_FALLBACK_RANKING', 'fallbackRanking');
  num('FASTEMBED_CACHE_SIZE', 'cacheSize');
  text('FASTEMBED_DISK_CACHE', 'diskCachePath');
  text('FASTEMBED_REDIS_URL', 'redisUrl');
  text('FASTEMBED_SEARCH_PRECISION', 'searchPrecision');
  num('FASTEMBED_SEARCH_INDEX_MIN_DOCUMENTS', 'searchIndexMinDocuments');
  num('FASTEMBED_SEARCH_INDEX_MB', 'searchIndexMb');
  text('ONNX_PATH', 'onnxRuntimePath');
  if (problems.length > 0) throw new ConfigError(problems);
  return resolveConfig(partial as Partial<SimilarityConfig>, base);
}

/** The Embedder options a service configuration implies. */
export function embedderOptionsFrom(c: SimilarityConfig): EmbedderOptions {
  return {
    model: c.model,
    modelPath: c.modelPath,
    cacheDir: c.cacheDir,
    maxLength: c.maxLength,
    pooling: c.pooling,
    normalize: c.normalize,
    queryPrefix: c.queryPrefix,
    passagePrefix: c.passagePrefix,
    batchSize: c.batchSize,
    quantize: c.quantize,
    poolSize: c.poolSize,
    maxQueueTokens: c.maxQueueTokens || undefined,
    threads: c.threads || undefined,
    inferenceNice: c.inferenceNice,
    onnxRuntimePath: c.onnxRuntimePath,
  };
}
