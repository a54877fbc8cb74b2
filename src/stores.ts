// fastembed-native/stores: the second-level cache stores, for use outside SimilarityService (a separate entry so
// the main one does not load lmdb and ioredis).
/**
 * Second-level embedding caches: LMDB on disk and Redis.
 *
 * @packageDocumentation
 * @module fastembed-native/stores
 */
export { DiskStore } from './cache/disk-store.js';
export { RedisStore, type RedisStoreOptions } from './cache/redis-store.js';
export { encodeEntry, decodeEntry } from './cache/entry-format.js';
export type { EmbeddingStore } from './cache/store.js';
