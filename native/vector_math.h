// SIMD vector math: dot, cosine, normalise and top-k over a contiguous row-major matrix.
// Kernels are picked once at load time (AVX-512 / AVX2+FMA on x64, NEON on arm64, scalar elsewhere).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace fastembed {

enum class Metric { kCosine, kDot };

struct Scored {
  uint32_t index;
  float score;
};

float Dot(const float* a, const float* b, size_t n);
// Cosine similarity; 0 when either vector is all zeros.
float Cosine(const float* a, const float* b, size_t n);
// In-place L2 normalisation (x / max(||x||, 1e-12), as sentence-transformers does).
void Normalize(float* v, size_t n);
// dst += src
void AddInto(float* dst, const float* src, size_t n);

// Scores of the query against every row.
void ScoreAll(const float* query, const float* matrix, size_t rows, size_t dim, Metric metric, float* out);
// The k best rows, best first; ties go to the lower index; NaN scores rank last.
// threads > 1 splits the rows across that many threads (for large matrices).
std::vector<Scored> TopK(const float* query, const float* matrix, size_t rows, size_t dim, size_t k, Metric metric,
                         int threads = 1);

// Which kernel set is in use: "avx512", "avx2", "neon" or "scalar".
const char* SimdLevel();

}  // namespace fastembed
