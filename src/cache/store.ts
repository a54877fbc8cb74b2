// The second-level (persistent or shared) cache contract, and the checksummed byte format its entries use.
import { createHash } from 'node:crypto';

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

const CHECKSUM_BYTES = 8;

/** vector bytes + the first 8 bytes of their sha256, so a torn or corrupted entry is detected, never served. */
export function encodeEntry(vector: Float32Array): Buffer {
  const bytes = Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength);
  const sum = createHash('sha256').update(bytes).digest().subarray(0, CHECKSUM_BYTES);
  return Buffer.concat([bytes, sum]);
}

/** The vector of an entry, or undefined when its checksum does not match. */
export function decodeEntry(entry: Uint8Array | undefined): Float32Array | undefined {
  if (!entry || entry.length < CHECKSUM_BYTES + 4 || (entry.length - CHECKSUM_BYTES) % 4 !== 0) return undefined;
  const body = entry.subarray(0, entry.length - CHECKSUM_BYTES);
  const sum = createHash('sha256').update(body).digest().subarray(0, CHECKSUM_BYTES);
  if (!sum.equals(Buffer.from(entry.subarray(entry.length - CHECKSUM_BYTES)))) return undefined;
  const copy = new Float32Array(body.length / 4);
  new Uint8Array(copy.buffer).set(body);
  return copy;
}
