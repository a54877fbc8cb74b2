// Compact vectors for search: int8 codes with a per-vector scale (¼ of the bytes of fp32), or sign bits (1/32),
// searched by an integer dot product or by the query's values summed over the set bits, for a pool of candidates
// that is then rescored on the fp32 rows, so the k returned are the fp32 top-k as long as the pool holds them.
// Search is memory-bound: reading fewer bytes per vector is the only way to be faster (1M × 384 fp32 ≈ 1.5 GB).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "vector_math.h"

namespace fastembed {

// Symmetric per-vector int8: scale = max|x| / 127, code = round(x / scale) in [-127, 127], NaN → 0. Returns the
// scale (0 for an all-zero vector, whose codes are all 0). -128 is never produced: the AVX2 kernel's
// maddubs(|q|, sign(x, q)) relies on it (127·127·2 fits an int16 without saturating).
float QuantizeInt8(const float* x, size_t dim, int8_t* codes);

// 64-bit words per row of sign bits.
inline size_t SignWords(size_t dim) { return (dim + 63) / 64; }
// Sign bits: bit i = (x[i] > 0), LSB-first within each byte, the row padded with zero bits to SignWords(dim) × 8 bytes.
void PackSigns(const float* x, size_t dim, uint8_t* bits);

// Sign bits are searched in groups of 32 rows stored byte-major ("blocks"): byte j of row r of a group sits at
// group · 32 · stride + 32 · j + (r % 32), stride = SignWords(dim) × 8. A SIMD register then holds byte j of 32 rows,
// and one table lookup (pshufb / tbl) scores a nibble of 32 rows against the query at once. The last group is padded
// with zero rows.
constexpr size_t kSignGroup = 32;
inline size_t SignBlockBytes(size_t rows, size_t dim) {
  return (rows + kSignGroup - 1) / kSignGroup * kSignGroup * SignWords(dim) * 8;
}
// Copies one row of packed sign bits (stride bytes) into / out of the blocks.
void StoreSignRow(const uint8_t* row, size_t stride, uint8_t* blocks, size_t r);
void LoadSignRow(const uint8_t* blocks, size_t stride, size_t r, uint8_t* row);

// A compact matrix in the caller's memory, read only. int8 rows (codes + scales) or sign-bit blocks (bits); `floats`
// (optional) are the same rows in fp32 for exact rescoring.
struct CompactMatrix {
  size_t rows = 0;
  size_t dim = 0;
  const int8_t* codes = nullptr;  // int8: rows × dim
  const float* scales = nullptr;  // int8: rows
  const uint8_t* bits = nullptr;  // binary: SignBlockBytes(rows, dim), in blocks (above)
  const float* floats = nullptr;  // optional: rows × dim
};

struct CompactResult {
  std::vector<Scored> top;  // best first, ties by lower index
  bool exact = false;       // scored on the fp32 rows
};

// The compact score of every row, the kernels' raw output (for tests): int8 → the dequantised dot product
// (q_scale · row_scale · Σ q_i·x_i), binary → the first pass's estimate of q · sign(x) / √dim from its quantised
// tables (within 2 · stride · Δ / √dim of the exact value, Δ = the largest Σ|q| over 4 dims / 127 for dim ≤ 2048).
void CompactScoreAll(const float* query, const CompactMatrix& m, float* out);

// The k best rows by dot product with `query`:
//  - int8: the `candidates` best by the int8 dot product, rescored on `floats` (exact) or left at their int8 scores;
//  - binary: the `candidates` best by q · sign(x), the fp32 query against the sign bits (through 8-bit tables),
//    rescored on `floats` (exact) or, without them, scored q · sign(x) / √dim in fp32 (the cosine between q and the
//    ±1 vector).
// `threads` splits the pass that reads every row, and the rescoring of a large pool.
CompactResult CompactTopK(const float* query, const CompactMatrix& m, size_t k, size_t candidates, int threads);

// Which compact kernels run: "avx512vnni", "avx2", "neon-dotprod", "neon" or "scalar" (FASTEMBED_SIMD caps it, as
// for the fp32 kernels).
const char* CompactSimdLevel();

}  // namespace fastembed
