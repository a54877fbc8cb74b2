// The native addon's compact-vector functions (native/vector_bindings.cc, kernels in native/vector_quant.cc); binding.ts's
// NativeBinding extends this interface, so binding() is typed with them.
import type { TopKResult } from './binding.js';

/**
 * The arrays of a compact index as the native search reads them: int8 codes + scales, or sign bits (with `rows`);
 * fp32 optional. Sign bits are kept in groups of 32 rows stored byte-major (native/vector_quant.h), so a SIMD
 * register holds one byte of 32 rows: `bits` is ceil(rows / 32) × 32 × ceil(dim / 64) × 8 bytes.
 */
export interface CompactArrays {
  dim: number;
  codes?: Int8Array;
  scales?: Float32Array;
  rows?: number;
  bits?: Uint8Array;
  floats?: Float32Array;
}

export interface NativeCompactResult extends TopKResult {
  exact: boolean;
}

export interface CompactNativeBinding {
  /** Fills `codes` (rows × dim) and `scales` (one per row) from the fp32 `vectors`. */
  quantizeInt8(vectors: Float32Array, dim: number, codes: Int8Array, scales: Float32Array): void;
  /** Writes the rows' sign bits (bit i = x[i] > 0, LSB-first) into the groups of `bits`, from row `firstRow` on. */
  packSigns(vectors: Float32Array, dim: number, bits: Uint8Array, firstRow: number): void;
  /** Writes rows packed by the caller (ceil(dim / 64) × 8 bytes each) into the groups of `bits`, from `firstRow` on. */
  storeSigns(rowBits: Uint8Array, dim: number, bits: Uint8Array, firstRow: number): void;
  /**
   * The kernels' raw score of every row: int8 → dequantised dot product, binary → the first pass's estimate of
   * q · sign(x) / √dim (from 8-bit tables; within 2 · stride · Δ / √dim of the exact value).
   */
  compactScoreAll(query: Float32Array, index: CompactArrays): Float32Array;
  compactTopK(query: Float32Array, index: CompactArrays, k: number, candidates: number): NativeCompactResult;
  compactTopKAsync(query: Float32Array, index: CompactArrays, k: number, candidates: number, threads: number): Promise<NativeCompactResult>;
  /** "avx512vnni", "avx2", "neon-dotprod", "neon" or "scalar". */
  compactSimdLevel: string;
}
