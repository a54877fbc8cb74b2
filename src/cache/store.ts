// The second-level (persistent or shared) cache contract (entry-format.ts has the bytes its entries are stored as).

/** A persistent or shared key → vector store. Failures must not break embedding: callers treat them as misses. */
export interface EmbeddingStore {
  readonly kind: string;
  get(key: string): Promise<Float32Array | undefined>;
  set(key: string, vector: Float32Array): Promise<void>;
  /** Many keys in one round trip (network stores): one timeout per request instead of one per key. */
  getMany?(keys: string[]): Promise<Array<Float32Array | undefined>>;
  setMany?(entries: Array<[string, Float32Array]>): Promise<void>;
  clear(): Promise<void>;
  close(): Promise<void>;
  /** Entries held, when the store can tell cheaply. */
  size(): Promise<number | undefined>;
  /** Connection state, for stores that have one (a down store makes the service report degraded). */
  health?(): { connected: boolean; error?: string };
}
