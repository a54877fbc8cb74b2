// VectorSource: the vectors of texts for one loaded model — cache first (L1, then the L2 store), the misses
// micro-batched into the model, each call bounded by the timeout and its AbortSignal.
import { EmbeddingCache, type CacheStats } from '../cache/embedding-cache.js';
import type { EmbeddingStore } from '../cache/store.js';
import type { SimilarityConfig } from './config.js';
import type { Embedder } from '../engine/embedder.js';
import type { TokenizedText } from '../runtime/tokenizer.js';
import { abortError, FastembedError, invalidArgument, OverloadedError } from '../util/errors.js';
import type { CallOptions } from './service-types.js';
import { MicroBatcher } from '../engine/micro-batcher.js';

/**
 * Runs `work` under a deadline and the caller's signal: either rejects the call at once (ERR_TIMEOUT, or the
 * caller's AbortError) and aborts the signal `work` was given, so its batches that have not run are dropped.
 */
function withDeadline<T>(work: (signal: AbortSignal) => Promise<T>, ms: number, signal: AbortSignal | undefined): Promise<T> {
  const controller = new AbortController();
  return new Promise<T>((resolve, reject) => {
    const stop = (err: Error) => {
      reject(err);
      controller.abort(err);
    };
    const timer = ms > 0 ? setTimeout(() => stop(new FastembedError(`Embedding took longer than the ${ms} ms timeout`, 'ERR_TIMEOUT')), ms) : undefined;
    const onAbort = () => stop(abortError(signal!));
    signal?.addEventListener('abort', onAbort, { once: true });
    work(controller.signal)
      .then(resolve, reject)
      .finally(() => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      });
  });
}

/**
 * The configured L2 store; one that cannot open leaves the cache on L1 alone, with the reason. The store modules
 * (and lmdb / ioredis) load only when configured: they cost start-up time otherwise.
 */
async function openStore(c: Readonly<SimilarityConfig>): Promise<{ store?: EmbeddingStore; error?: string }> {
  try {
    if (c.redisUrl) {
      const { RedisStore } = await import('../cache/redis-store.js');
      return { store: new RedisStore(c.redisUrl, { ttlSeconds: Math.ceil(c.cacheTtl / 1000) }) };
    }
    if (c.diskCachePath) {
      const { DiskStore } = await import('../cache/disk-store.js');
      return { store: await DiskStore.open(c.diskCachePath) };
    }
  } catch (err) {
    const code = (err as { code?: string }).code;
    const missing = code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND';
    const fix = missing ? ` (install it: npm install ${c.redisUrl ? 'ioredis' : 'lmdb'})` : '';
    return { error: `L2 cache unavailable (${c.redisUrl ? 'redis' : c.diskCachePath}): ${(err as Error).message}${fix}` };
  }
  return {};
}

/** Characters that make a request a call of its own: about one full batch (512 tokens) of English text. */
const OWN_CALL_CHARS = 2_048;

export class VectorSource {
  readonly embedder: Embedder;
  readonly #cache: EmbeddingCache | undefined;
  readonly #batcher: MicroBatcher;
  readonly #timeout: number;
  readonly #maxRequestTokens: number;
  readonly #storeError: string | undefined;
  #lastFailure: string | undefined;
  #textsEmbedded = 0;

  private constructor(embedder: Embedder, config: Readonly<SimilarityConfig>, cache: EmbeddingCache | undefined, storeError: string | undefined) {
    this.embedder = embedder;
    this.#cache = cache;
    this.#storeError = storeError;
    this.#timeout = config.timeout;
    this.#maxRequestTokens = config.maxRequestTokens;
    this.#batcher = new MicroBatcher((texts, signal, deadlineMs) => this.#embedUncached(texts, signal, deadlineMs), {
      windowMs: config.batchWindowMs,
      maxTexts: config.maxBatchTexts,
      maxChars: OWN_CALL_CHARS,
      concurrency: embedder.poolSize,
    });
  }

  /** `store` overrides the configured L2 (diskCachePath / redisUrl). */
  static async open(embedder: Embedder, config: Readonly<SimilarityConfig>, store?: EmbeddingStore): Promise<VectorSource> {
    if (!config.enableCache) return new VectorSource(embedder, config, undefined, undefined);
    const l2 = store ? { store } : await openStore(config);
    const cache = new EmbeddingCache({ recipe: embedder.fingerprint, maxEntries: config.cacheSize, ttlMs: config.cacheTtl, l2: l2.store });
    return new VectorSource(embedder, config, cache, l2.error);
  }

  async #embedUncached(texts: string[], signal?: AbortSignal, deadlineMs?: number): Promise<Float32Array[]> {
    const vectors = await this.embedder.embed(texts, { signal, deadlineMs });
    this.#textsEmbedded += texts.length;
    // Only complete results reach the cache: a failed or aborted batch writes nothing.
    if (this.#cache) await this.#cache.setMany(texts.map((t, i) => [this.#cache!.key(t), vectors[i]]));
    return vectors;
  }

  /**
   * Vectors for texts, in order (cache first, misses micro-batched); throws on timeout, abort, a model error, or
   * OverloadedError when the model's queue could not finish them within the timeout (the call's `timeoutMs` if
   * shorter).
   */
  async vectors(texts: string[], call: CallOptions = {}): Promise<Float32Array[]> {
    const { signal } = call;
    if (signal?.aborted) throw abortError(signal);
    const timeout = this.timeoutOf(call);
    const out: Array<Float32Array | undefined> = this.#cache
      ? await this.#cache.getMany(texts.map((t) => this.#cache!.key(t)))
      : new Array<undefined>(texts.length).fill(undefined);
    const missing: number[] = [];
    for (let i = 0; i < out.length; i++) if (out[i] === undefined) missing.push(i);
    if (missing.length > 0) {
      const wanted = missing.map((i) => texts[i]);
      await this.#checkBudget(wanted);
      try {
        const fresh = await withDeadline((cancel) => this.#batcher.embedMany(wanted, cancel, timeout), timeout, signal);
        missing.forEach((i, j) => (out[i] = fresh[j]));
        this.#lastFailure = undefined;
      } catch (err) {
        // A caller's abort or a refusal of work past capacity says nothing about the model's health.
        if ((err as Error).name !== 'AbortError' && !(err instanceof OverloadedError)) this.#lastFailure = (err as Error).message;
        throw err;
      }
    }
    return out as Float32Array[];
  }

  /** Vectors of already tokenised inputs (not cached: the cache is keyed by text), under the same bounds. */
  async tokenVectors(inputs: Array<TokenizedText | number[]>, call: CallOptions = {}): Promise<Float32Array[]> {
    const { signal } = call;
    if (signal?.aborted) throw abortError(signal);
    this.#checkTokens(inputs.reduce((sum, t) => sum + t.length, 0));
    const timeout = this.timeoutOf(call);
    const vectors = await withDeadline((cancel) => this.embedder.embedTokens(inputs, { signal: cancel, deadlineMs: timeout || undefined }), timeout, signal);
    this.#textsEmbedded += inputs.length;
    return vectors;
  }

  /**
   * Holds room in the model's queue for a call of its own (maxBatchTexts texts or more, or OWN_CALL_CHARS characters)
   * that must finish within `timeoutMs`, or refuses it now (OverloadedError); returns the release (call it just
   * before embedding). Smaller calls join micro-batches, which go before bulk work and are never refused for time.
   */
  reserve(texts: readonly string[], timeoutMs: number): () => void {
    return timeoutMs > 0 && this.#batcher.ownCall(texts) ? this.embedder.reserve(texts, timeoutMs) : () => {};
  }

  /** The configured timeout, or the call's own if shorter (0: none). */
  timeoutOf(call: CallOptions): number {
    const own = call.timeoutMs;
    if (own !== undefined && !(typeof own === 'number' && own > 0)) throw invalidArgument('range', `timeoutMs must be a positive number of milliseconds, got ${String(own)}`);
    return own !== undefined && (this.#timeout <= 0 || own < this.#timeout) ? own : this.#timeout;
  }

  /**
   * Work is bounded by configuration, not by what a client sends: a call whose texts need more tokens (after
   * truncation) than maxRequestTokens is refused before any of it runs. Only counted when it could exceed it.
   */
  async #checkBudget(texts: string[]): Promise<void> {
    if (this.#maxRequestTokens <= 0 || texts.length * this.embedder.maxLength <= this.#maxRequestTokens) return;
    this.#checkTokens((await this.embedder.countTokens(texts)).reduce((a, b) => a + b, 0));
  }

  #checkTokens(tokens: number): void {
    const budget = this.#maxRequestTokens;
    if (budget > 0 && tokens > budget) {
      throw Object.assign(
        new RangeError(`these texts need ${tokens} tokens, more than the ${budget} one call may use (maxRequestTokens); send them in smaller requests`),
        { code: 'ERR_TOO_LARGE' },
      );
    }
  }

  /** What is wrong now: the last embedding failure (until one succeeds) and an unusable L2 store. */
  problems(): string[] {
    const out: string[] = [];
    if (this.#lastFailure) out.push(`last embedding failed: ${this.#lastFailure}`);
    const l2 = this.#storeError ?? this.#cache?.l2Problem();
    if (l2) out.push(l2);
    return out;
  }

  stats(): { cache: CacheStats & { enabled: boolean }; textsEmbedded: number; microBatches: { batches: number; requests: number } } {
    const cache = this.#cache?.stats() ?? { size: 0, hits: 0, misses: 0, hitRate: 0, l1Hits: 0, l2Hits: 0, l2Errors: 0, l2: undefined };
    return { cache: { ...cache, enabled: this.#cache !== undefined }, textsEmbedded: this.#textsEmbedded, microBatches: this.#batcher.stats() };
  }

  async clearCache(): Promise<void> {
    await this.#cache?.clear();
  }

  /** Sends texts waiting for a micro-batch to the model now (before it closes). */
  flush(): void {
    this.#batcher.flush();
  }

  /** Closes the cache's store; call after the model has finished its last batch. */
  async close(): Promise<void> {
    await this.#cache?.close();
  }
}
