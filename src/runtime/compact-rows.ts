// The rows of a CompactVectorIndex: int8 codes with a scale per row, or sign bits, and (optionally) the same rows in
// fp32 for exact rescoring. They live on SharedArrayBuffers so a search on another thread reads them in place: a
// SharedArrayBuffer can't be detached or shrunk, so nothing JS does meanwhile can pull memory from under the search.
// Capacity doubles as rows are added; a search already running keeps the buffers it was given (rows added after it
// started are not in it). Sign bits are stored in groups of 32 rows, byte-major (compact-native.ts), so capacity is
// whole groups for them.
import { binding } from './binding.js';
import type { CompactArrays } from './compact-native.js';

export type CompactPrecision = 'int8' | 'binary';

export class CompactRows {
  readonly dim: number;
  readonly precision: CompactPrecision;
  readonly keepFloat: boolean;
  /** Bytes of sign bits per row: whole 64-bit words. */
  readonly bitBytes: number;
  #size = 0;
  #capacity = 0;
  #codes = new Int8Array(shared(0));
  #scales = new Float32Array(shared(0));
  #bits = new Uint8Array(shared(0));
  #floats = new Float32Array(shared(0));

  constructor(dim: number, precision: CompactPrecision, keepFloat: boolean) {
    this.dim = dim;
    this.precision = precision;
    this.keepFloat = keepFloat;
    this.bitBytes = Math.ceil(dim / 64) * 8;
  }

  get size(): number {
    return this.#size;
  }

  /** Bytes one row takes: the compact form (int8: dim + a 4-byte scale; binary: the sign bits) and fp32 when kept. */
  get bytesPerVector(): number {
    return (this.precision === 'int8' ? this.dim + 4 : this.bitBytes) + (this.keepFloat ? 4 * this.dim : 0);
  }

  /** Bytes allocated, spare capacity included. */
  get memoryBytes(): number {
    return this.#capacity * this.bytesPerVector;
  }

  /** Makes room for `rows` more rows up front (exactly, when the index is empty). */
  reserve(rows: number): void {
    this.#grow(rows);
  }

  /** Appends fp32 rows (already normalised if the metric wants it): quantised or sign-packed, and kept if asked. */
  addFloats(vectors: Float32Array): void {
    const rows = vectors.length / this.dim;
    const at = this.#grow(rows);
    const d = this.dim;
    if (this.precision === 'int8') {
      binding().quantizeInt8(vectors, d, this.#codes.subarray(at * d, (at + rows) * d), this.#scales.subarray(at, at + rows));
    } else {
      binding().packSigns(vectors, d, this.#bits, at);
    }
    if (this.keepFloat) this.#floats.set(vectors, at * d);
    this.#size += rows;
  }

  /** Appends rows the caller quantised: int8 codes with their scales. */
  addInt8(codes: Int8Array, scales: Float32Array): void {
    const at = this.#grow(scales.length);
    this.#codes.set(codes, at * this.dim);
    this.#scales.set(scales, at);
    this.#size += scales.length;
  }

  /** Appends rows the caller packed: bitBytes bytes of sign bits each. */
  addBits(bits: Uint8Array): void {
    const rows = bits.length / this.bitBytes;
    const at = this.#grow(rows); // before reading this.#bits: growing replaces it
    binding().storeSigns(bits, this.dim, this.#bits, at);
    this.#size += rows;
  }

  /** Views of the first `size` rows, what the native search reads. */
  arrays(): CompactArrays {
    const n = this.#size;
    const d = this.dim;
    const floats = this.keepFloat ? { floats: this.#floats.subarray(0, n * d) } : {};
    return this.precision === 'int8'
      ? { dim: d, codes: this.#codes.subarray(0, n * d), scales: this.#scales.subarray(0, n), ...floats }
      : { dim: d, rows: n, bits: this.#bits.subarray(0, groups(n) * GROUP * this.bitBytes), ...floats };
  }

  /** Makes room for `rows` more and returns the first new row's index. */
  #grow(rows: number): number {
    const need = this.#size + rows;
    if (need > this.#capacity) {
      let capacity = this.#capacity === 0 ? need : Math.max(need, 2 * this.#capacity);
      if (this.precision === 'binary') capacity = groups(capacity) * GROUP;
      const d = this.dim;
      if (this.precision === 'int8') {
        this.#codes = moved(this.#codes, new Int8Array(shared(capacity * d)), this.#size * d);
        this.#scales = moved(this.#scales, new Float32Array(shared(capacity * 4)), this.#size);
      } else {
        this.#bits = moved(this.#bits, new Uint8Array(shared(capacity * this.bitBytes)), groups(this.#size) * GROUP * this.bitBytes);
      }
      if (this.keepFloat) this.#floats = moved(this.#floats, new Float32Array(shared(capacity * d * 4)), this.#size * d);
      this.#capacity = capacity;
    }
    return this.#size;
  }
}

/** Rows per group of sign bits. */
const GROUP = 32;

function groups(rows: number): number {
  return Math.ceil(rows / GROUP);
}

function shared(bytes: number): SharedArrayBuffer {
  return new SharedArrayBuffer(bytes);
}

function moved<T extends Int8Array | Uint8Array | Float32Array>(from: T, to: T, used: number): T {
  to.set(from.subarray(0, used) as never);
  return to;
}
