// The native addon's compact-vector functions (native/vector_bindings.cc, kernels in native/vector_quant.cc); binding.ts's
// NativeBinding extends this interface, so binding() is typed with them.
import type { TopKResult } from './binding.js';

/** The arrays of a compact index as the native search reads them: int8 codes + scales, or sign bits; fp32 optional. */
export interface CompactArrays {
  dim: number;
  codes?: Int8Array;
  scales?: Float32Array;
  bits?: Uint8Array;
  floats?: Float32Array;
}

export interface NativeCompactResult extends TopKResult {
  exact: boolean;
}

export interface CompactNativeBinding {
  /** Fills `codes` (rows × dim) and `scales` (one per row) from the fp32 `vectors`. */
  quantizeInt8(vectors: Float32Array, dim: number, codes: Int8Array, scales: Float32Array): void;
  /** Fills `bits` (ceil(dim / 64) × 8 bytes per row): bit i = x[i] > 0, LSB-first. */
  packSigns(vectors: Float32Array, dim: number, bits: Uint8Array): void;
  /** The kernels' raw score of every row: int8 → dequantised dot product, binary → Hamming distance. */
  compactScoreAll(query: Float32Array, index: CompactArrays): Float32Array;
  compactTopK(query: Float32Array, index: CompactArrays, k: number, candidates: number): NativeCompactResult;
  compactTopKAsync(query: Float32Array, index: CompactArrays, k: number, candidates: number, threads: number): Promise<NativeCompactResult>;
  /** "avx512vnni", "avx2", "neon-dotprod", "neon" or "scalar". */
  compactSimdLevel: string;
}
