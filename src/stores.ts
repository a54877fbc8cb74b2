// fastembed-native/stores: the second-level cache stores, for use outside SimilarityService (a separate entry so
// the main one does not load lmdb and ioredis).
export { DiskStore } from './cache/disk-store.js';
export { RedisStore, type RedisStoreOptions } from './cache/redis-store.js';
export { encodeEntry, decodeEntry, type EmbeddingStore } from './cache/store.js';
