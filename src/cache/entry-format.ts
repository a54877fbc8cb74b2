// The checksummed byte format of second-level cache entries: a torn or corrupted entry is detected, never served.
import { createHash } from 'node:crypto';

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
