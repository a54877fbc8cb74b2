// RedisStore: an L2 cache shared by replicas. Commands fail fast while Redis is away (no offline queue, short
// timeout), so a dead Redis means cache misses, never stalled requests; ioredis reconnects in the background.
import { Redis } from 'ioredis';
import { decodeEntry, encodeEntry, type EmbeddingStore } from './store.js';

export interface RedisStoreOptions {
  /** Key prefix, so several services can share one Redis. */
  prefix?: string;
  /** Entry lifetime in seconds (0 = no expiry). */
  ttlSeconds?: number;
  /** Per-command timeout in ms. */
  commandTimeoutMs?: number;
}

export class RedisStore implements EmbeddingStore {
  readonly kind = 'redis';
  readonly #redis: Redis;
  readonly #prefix: string;
  readonly #ttl: number;
  #lastError: string | undefined;

  constructor(url: string, options: RedisStoreOptions = {}) {
    this.#prefix = options.prefix ?? 'fastembed:';
    this.#ttl = options.ttlSeconds ?? 0;
    this.#redis = new Redis(url, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: options.commandTimeoutMs ?? 250,
      lazyConnect: false,
      // Reconnect forever, backing off to 2 s: Redis coming back must be picked up without a restart.
      retryStrategy: (times) => Math.min(times * 100, 2000),
    });
    this.#redis.on('error', (err: Error) => {
      this.#lastError = err.message;
    });
    this.#redis.on('ready', () => {
      this.#lastError = undefined;
    });
  }

  /** Whether the connection is up, and the last connection error if not. */
  health(): { connected: boolean; error?: string } {
    return { connected: this.#redis.status === 'ready', error: this.#redis.status === 'ready' ? undefined : this.#lastError ?? this.#redis.status };
  }

  async get(key: string): Promise<Float32Array | undefined> {
    const entry = await this.#redis.getBuffer(this.#prefix + key);
    return decodeEntry(entry ?? undefined);
  }

  async set(key: string, vector: Float32Array): Promise<void> {
    if (this.#ttl > 0) await this.#redis.set(this.#prefix + key, encodeEntry(vector), 'EX', this.#ttl);
    else await this.#redis.set(this.#prefix + key, encodeEntry(vector));
  }

  /** Deletes this store's keys only (SCAN + UNLINK), never the whole database. */
  async clear(): Promise<void> {
    let cursor = '0';
    do {
      const [next, keys] = await this.#redis.scan(cursor, 'MATCH', `${this.#prefix}*`, 'COUNT', 1000);
      if (keys.length > 0) await this.#redis.unlink(...keys);
      cursor = next;
    } while (cursor !== '0');
  }

  async size(): Promise<number | undefined> {
    return undefined;
  }

  async close(): Promise<void> {
    this.#redis.disconnect();
  }
}
