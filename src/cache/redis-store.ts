// RedisStore: an L2 cache shared by replicas. Commands fail fast while Redis is away (no offline queue, short
// timeout), so a dead Redis means cache misses, never stalled requests; ioredis reconnects in the background. Reads
// and writes of a request are one round trip each (MGET, a pipeline). A circuit breaker turns a slow or frozen
// Redis (connected, but not answering) into instant misses for a cool-down, instead of a timeout on every request.
import { Redis } from 'ioredis';
import { decodeEntry, encodeEntry } from './entry-format.js';
import type { EmbeddingStore } from './store.js';

export interface RedisStoreOptions {
  /** Key prefix, so several services can share one Redis. */
  prefix?: string;
  /** Entry lifetime in seconds (0 = no expiry). */
  ttlSeconds?: number;
  /** Per-command timeout in ms. */
  commandTimeoutMs?: number;
  /** After a failed command, skip Redis for this long (ms), then try again (default 5 s). */
  coolDownMs?: number;
}

export class RedisStore implements EmbeddingStore {
  readonly kind = 'redis';
  readonly #redis: Redis;
  readonly #prefix: string;
  readonly #ttl: number;
  /** The connection's last error; cleared once it is ready again. */
  #lastError: string | undefined;
  readonly #coolDownMs: number;
  /** The breaker is open (Redis skipped) until this time. */
  #openUntil = 0;
  /** The failure that opened the breaker, kept for the cool-down: a reconnect clears #lastError, not this. */
  #openedBy = '';

  constructor(url: string, options: RedisStoreOptions = {}) {
    this.#prefix = options.prefix ?? 'fastembed:';
    this.#ttl = options.ttlSeconds ?? 0;
    this.#coolDownMs = options.coolDownMs ?? 5_000;
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

  /** Whether Redis is usable: connected, and not skipped after a failure (with the reason if not). */
  health(): { connected: boolean; error?: string } {
    if (this.#redis.status !== 'ready') return { connected: false, error: this.#lastError ?? this.#redis.status };
    if (Date.now() < this.#openUntil) return { connected: false, error: `skipped for ${this.#coolDownMs} ms after: ${this.#openedBy}` };
    return { connected: true };
  }

  /** Runs a command unless the breaker is open; a failure opens it for the cool-down. */
  async #guard<T>(command: () => Promise<T>): Promise<T> {
    if (Date.now() < this.#openUntil) throw new Error(`redis skipped after: ${this.#openedBy}`);
    try {
      return await command();
    } catch (err) {
      this.#openedBy = (err as Error).message || String(err);
      this.#openUntil = Date.now() + this.#coolDownMs;
      throw err;
    }
  }

  async get(key: string): Promise<Float32Array | undefined> {
    return (await this.getMany([key]))[0];
  }

  async getMany(keys: string[]): Promise<Array<Float32Array | undefined>> {
    const entries = await this.#guard(() => this.#redis.mgetBuffer(...keys.map((k) => this.#prefix + k)));
    return entries.map((e) => decodeEntry(e ?? undefined));
  }

  async set(key: string, vector: Float32Array): Promise<void> {
    await this.setMany([[key, vector]]);
  }

  async setMany(entries: Array<[string, Float32Array]>): Promise<void> {
    await this.#guard(async () => {
      const batch = this.#redis.pipeline();
      for (const [k, v] of entries) {
        if (this.#ttl > 0) batch.set(this.#prefix + k, encodeEntry(v), 'EX', this.#ttl);
        else batch.set(this.#prefix + k, encodeEntry(v));
      }
      const results = (await batch.exec()) ?? [];
      const failed = results.find(([err]) => err);
      if (failed) throw failed[0];
    });
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
