// DiskStore: the persistent L2 cache in LMDB (crash-safe, memory-mapped, survives restarts).
import fs from 'node:fs';
import { open, type RootDatabase } from 'lmdb';
import { decodeEntry, encodeEntry, type EmbeddingStore } from './store.js';

export class DiskStore implements EmbeddingStore {
  readonly kind = 'disk';
  readonly #db: RootDatabase<Buffer, string>;

  private constructor(db: RootDatabase<Buffer, string>) {
    this.#db = db;
  }

  static open(dir: string): DiskStore {
    fs.mkdirSync(dir, { recursive: true });
    const db = open<Buffer, string>({ path: dir, encoding: 'binary', compression: false });
    return new DiskStore(db);
  }

  async get(key: string): Promise<Float32Array | undefined> {
    const entry = this.#db.get(key);
    const vector = decodeEntry(entry);
    if (entry && !vector) await this.#db.remove(key); // corrupt: drop it so it is recomputed
    return vector;
  }

  async set(key: string, vector: Float32Array): Promise<void> {
    await this.#db.put(key, encodeEntry(vector));
  }

  async clear(): Promise<void> {
    await this.#db.clearAsync();
  }

  async size(): Promise<number | undefined> {
    return (this.#db.getStats() as { entryCount: number }).entryCount;
  }

  async close(): Promise<void> {
    await this.#db.close();
  }
}
