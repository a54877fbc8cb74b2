#include "vector_math.h"

#include "helper_threads.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <string>

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#define FE_X64 1
#elif defined(__aarch64__)
#include <arm_neon.h>
#define FE_NEON 1
#endif

namespace fastembed {

namespace {

// ---- scalar reference --------------------------------------------------------------------------------------
float DotScalar(const float* a, const float* b, size_t n) {
  float acc[4] = {0, 0, 0, 0};
  size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    for (int j = 0; j < 4; ++j) acc[j] += a[i + j] * b[i + j];
  }
  for (; i < n; ++i) acc[0] += a[i] * b[i];
  return (acc[0] + acc[1]) + (acc[2] + acc[3]);
}

void AddScalar(float* dst, const float* src, size_t n) {
  for (size_t i = 0; i < n; ++i) dst[i] += src[i];
}

#if FE_X64
__attribute__((target("avx"))) inline float HSum256(__m256 v) {
  __m128 lo = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  lo = _mm_add_ps(lo, _mm_movehl_ps(lo, lo));
  lo = _mm_add_ss(lo, _mm_shuffle_ps(lo, lo, 1));
  return _mm_cvtss_f32(lo);
}

// GCC 12's AVX-512 intrinsic headers trip -Wuninitialized on their own _mm512_undefined_* (a GCC bug).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
// ---- AVX-512 -----------------------------------------------------------------------------------------------
__attribute__((target("avx512f"))) float DotAvx512(const float* a, const float* b, size_t n) {
  __m512 acc0 = _mm512_setzero_ps();
  __m512 acc1 = _mm512_setzero_ps();
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    acc0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), acc0);
    acc1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16), acc1);
  }
  if (i + 16 <= n) {
    acc0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), acc0);
    i += 16;
  }
  if (i < n) {  // masked tail: no scalar loop, no reads past the end
    const __mmask16 m = static_cast<__mmask16>((1u << (n - i)) - 1u);
    acc1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i), acc1);
  }
  // Not _mm512_reduce_add_ps: GCC 12 warns on its use of an undefined register.
  const __m512 acc = _mm512_add_ps(acc0, acc1);
  const __m256 hi = _mm512_castps512_ps256(_mm512_shuffle_f32x4(acc, acc, 0xEE));
  return HSum256(_mm256_add_ps(_mm512_castps512_ps256(acc), hi));
}

__attribute__((target("avx512f"))) void AddAvx512(float* dst, const float* src, size_t n) {
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    _mm512_storeu_ps(dst + i, _mm512_add_ps(_mm512_loadu_ps(dst + i), _mm512_loadu_ps(src + i)));
  }
  if (i < n) {
    const __mmask16 m = static_cast<__mmask16>((1u << (n - i)) - 1u);
    _mm512_mask_storeu_ps(dst + i, m, _mm512_add_ps(_mm512_maskz_loadu_ps(m, dst + i), _mm512_maskz_loadu_ps(m, src + i)));
  }
}

#pragma GCC diagnostic pop

// ---- AVX2 + FMA --------------------------------------------------------------------------------------------
__attribute__((target("avx2,fma"))) float DotAvx2(const float* a, const float* b, size_t n) {
  __m256 acc0 = _mm256_setzero_ps();
  __m256 acc1 = _mm256_setzero_ps();
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc0);
    acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), acc1);
  }
  if (i + 8 <= n) {
    acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc0);
    i += 8;
  }
  float sum = HSum256(_mm256_add_ps(acc0, acc1));
  for (; i < n; ++i) sum += a[i] * b[i];
  return sum;
}

__attribute__((target("avx2"))) void AddAvx2(float* dst, const float* src, size_t n) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    _mm256_storeu_ps(dst + i, _mm256_add_ps(_mm256_loadu_ps(dst + i), _mm256_loadu_ps(src + i)));
  }
  for (; i < n; ++i) dst[i] += src[i];
}
#endif

#if FE_NEON
// ---- NEON --------------------------------------------------------------------------------------------------
float DotNeon(const float* a, const float* b, size_t n) {
  float32x4_t acc0 = vdupq_n_f32(0.0f);
  float32x4_t acc1 = vdupq_n_f32(0.0f);
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    acc0 = vfmaq_f32(acc0, vld1q_f32(a + i), vld1q_f32(b + i));
    acc1 = vfmaq_f32(acc1, vld1q_f32(a + i + 4), vld1q_f32(b + i + 4));
  }
  float sum = vaddvq_f32(vaddq_f32(acc0, acc1));
  for (; i < n; ++i) sum += a[i] * b[i];
  return sum;
}

void AddNeon(float* dst, const float* src, size_t n) {
  size_t i = 0;
  for (; i + 4 <= n; i += 4) vst1q_f32(dst + i, vaddq_f32(vld1q_f32(dst + i), vld1q_f32(src + i)));
  for (; i < n; ++i) dst[i] += src[i];
}
#endif

struct Kernels {
  float (*dot)(const float*, const float*, size_t);
  void (*add)(float*, const float*, size_t);
  const char* name;
};

Kernels PickKernels() {
#if FE_X64
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) return {DotAvx512, AddAvx512, "avx512"};
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return {DotAvx2, AddAvx2, "avx2"};
#elif FE_NEON
  return {DotNeon, AddNeon, "neon"};
#endif
  return {DotScalar, AddScalar, "scalar"};
}

// FASTEMBED_SIMD=scalar|avx2 caps the kernels at that level, so every path can be tested on a machine that has a
// better one (AVX2 on an AVX-512 host, the scalar reference anywhere). A level this CPU lacks is not forced: the
// best it has runs, and simdLevel says which (the JS side warns).
Kernels Forced(const std::string& level) {
  if (level == "scalar") return {DotScalar, AddScalar, "scalar"};
#if FE_X64
  __builtin_cpu_init();
  if (level == "avx2" && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return {DotAvx2, AddAvx2, "avx2"};
#endif
  return PickKernels();
}

const Kernels& K() {
  static const Kernels kernels = [] {
    const char* force = std::getenv("FASTEMBED_SIMD");
    return force != nullptr && *force != '\0' ? Forced(force) : PickKernels();
  }();
  return kernels;
}

inline float Score(const float* q, float q_norm, const float* row, size_t dim, Metric metric) {
  const float dot = K().dot(q, row, dim);
  if (metric == Metric::kDot) return dot;
  const float row_norm = std::sqrt(K().dot(row, row, dim));
  const float denom = q_norm * row_norm;
  return denom > 0.0f ? dot / denom : 0.0f;
}

// Orders a min-heap so the worst kept candidate is on top: lower score is worse, and on ties the higher index.
inline bool Better(const Scored& a, const Scored& b) {
  if (a.score != b.score) return a.score > b.score;
  return a.index < b.index;
}

void TopKRange(const float* query, float q_norm, const float* matrix, size_t begin, size_t end, size_t dim,
               size_t k, Metric metric, std::vector<Scored>& heap) {
  heap.clear();
  heap.reserve(k);
  for (size_t r = begin; r < end; ++r) {
    float s = Score(query, q_norm, matrix + r * dim, dim, metric);
    if (std::isnan(s)) s = -INFINITY;
    const Scored cand{static_cast<uint32_t>(r), s};
    if (heap.size() < k) {
      heap.push_back(cand);
      std::push_heap(heap.begin(), heap.end(), Better);
    } else if (Better(cand, heap.front())) {
      std::pop_heap(heap.begin(), heap.end(), Better);
      heap.back() = cand;
      std::push_heap(heap.begin(), heap.end(), Better);
    }
  }
}

}  // namespace

float Dot(const float* a, const float* b, size_t n) { return K().dot(a, b, n); }

float Cosine(const float* a, const float* b, size_t n) {
  const float denom = std::sqrt(K().dot(a, a, n)) * std::sqrt(K().dot(b, b, n));
  return denom > 0.0f ? K().dot(a, b, n) / denom : 0.0f;
}

void Normalize(float* v, size_t n) {
  const float norm = std::sqrt(K().dot(v, v, n));
  const float inv = 1.0f / std::max(norm, 1e-12f);
  for (size_t i = 0; i < n; ++i) v[i] *= inv;
}

void AddInto(float* dst, const float* src, size_t n) { K().add(dst, src, n); }

void ScoreAll(const float* query, const float* matrix, size_t rows, size_t dim, Metric metric, float* out) {
  const float q_norm = std::sqrt(K().dot(query, query, dim));
  for (size_t r = 0; r < rows; ++r) out[r] = Score(query, q_norm, matrix + r * dim, dim, metric);
}

std::vector<Scored> TopK(const float* query, const float* matrix, size_t rows, size_t dim, size_t k, Metric metric,
                         int threads) {
  k = std::min(k, rows);
  if (k == 0) return {};
  const float q_norm = std::sqrt(K().dot(query, query, dim));
  const size_t parts = std::max<size_t>(1, std::min<size_t>(static_cast<size_t>(std::max(threads, 1)), rows / 1024 + 1));
  std::vector<std::vector<Scored>> heaps(parts);
  const size_t chunk = (rows + parts - 1) / parts;
  RunParts(parts, [&](size_t p) {
    TopKRange(query, q_norm, matrix, p * chunk, std::min(rows, (p + 1) * chunk), dim, k, metric, heaps[p]);
  });
  std::vector<Scored> all;
  for (auto& h : heaps) all.insert(all.end(), h.begin(), h.end());
  std::sort(all.begin(), all.end(), Better);
  all.resize(std::min(k, all.size()));
  return all;
}

const char* SimdLevel() { return K().name; }

}  // namespace fastembed
