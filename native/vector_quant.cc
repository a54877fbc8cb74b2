#include "vector_quant.h"

#include "helper_threads.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string>
#include <utility>

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#define FE_QX64 1
#elif defined(__aarch64__)
#include <arm_neon.h>
#define FE_QNEON 1
#endif

namespace fastembed {

namespace {

// ---- scalar reference --------------------------------------------------------------------------------------
int32_t DotI8Scalar(const int8_t* q, const int8_t* x, size_t n, int32_t /*q_sum*/) {
  int32_t acc = 0;
  for (size_t i = 0; i < n; ++i) acc += static_cast<int32_t>(q[i]) * x[i];
  return acc;
}

// Σ over each row's set bits of the query's quantised values, for `groups` groups of 32 rows in blocks. lut holds,
// for byte j of a row, the table of its low nibble (16 entries: the query's sum over the dims whose bits are set)
// and then its high nibble's, 32 bytes a row byte. Entries are small enough (SignTables) that a row's sum fits 16 bits.
void SignScanScalar(const uint8_t* lut, const uint8_t* blocks, size_t bytes, size_t groups, uint16_t* out) {
  for (size_t g = 0; g < groups; ++g) {
    const uint8_t* b = blocks + g * kSignGroup * bytes;
    for (size_t r = 0; r < kSignGroup; ++r) {
      uint32_t sum = 0;
      for (size_t j = 0; j < bytes; ++j) {
        const uint8_t v = b[kSignGroup * j + r];
        sum += static_cast<uint32_t>(lut[32 * j + (v & 15)]) + lut[32 * j + 16 + (v >> 4)];
      }
      out[g * kSignGroup + r] = static_cast<uint16_t>(sum);
    }
  }
}

#if FE_QX64
// ---- AVX2 --------------------------------------------------------------------------------------------------
// maddubs multiplies unsigned by signed bytes, so the query's signs move onto the row: |q| · sign(x, q) = q · x.
// Pairs sum to at most 2·127·127 = 32258, inside int16 (codes are never -128).
__attribute__((target("avx2"))) int32_t DotI8Avx2(const int8_t* q, const int8_t* x, size_t n, int32_t /*q_sum*/) {
  const __m256i ones = _mm256_set1_epi16(1);
  __m256i acc = _mm256_setzero_si256();
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    const __m256i qv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q + i));
    const __m256i xv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + i));
    const __m256i p16 = _mm256_maddubs_epi16(_mm256_sign_epi8(qv, qv), _mm256_sign_epi8(xv, qv));
    acc = _mm256_add_epi32(acc, _mm256_madd_epi16(p16, ones));
  }
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(acc), _mm256_extracti128_si256(acc, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));
  int32_t sum = _mm_cvtsi128_si32(s);
  for (; i < n; ++i) sum += static_cast<int32_t>(q[i]) * x[i];
  return sum;
}

// pshufb looks up 32 nibbles (byte j of 32 rows) in a 16-entry table per 128-bit lane. The two nibbles' bytes are
// added (each ≤ 127), then accumulated into uint16 lanes as they are (even row + 256 · odd row) and shifted right by
// 8 (odd row): the even rows' sums are the difference at the end, exact mod 2^16 since every sum fits 16 bits. One
// add and one shift per 32 bytes instead of two widenings (FAISS's fast-scan accumulation).
__attribute__((target("avx2"))) void SignScanAvx2(const uint8_t* lut, const uint8_t* blocks, size_t bytes, size_t groups,
                                                  uint16_t* out) {
  const __m256i low = _mm256_set1_epi8(0x0f);
  for (size_t g = 0; g < groups; ++g) {
    const uint8_t* b = blocks + g * kSignGroup * bytes;
    __m256i all = _mm256_setzero_si256();
    __m256i odd = _mm256_setzero_si256();
    for (size_t j = 0; j < bytes; ++j) {
      const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + kSignGroup * j));
      const __m256i tl = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(lut + 32 * j)));
      const __m256i th = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(lut + 32 * j + 16)));
      const __m256i r = _mm256_add_epi8(_mm256_shuffle_epi8(tl, _mm256_and_si256(v, low)),
                                        _mm256_shuffle_epi8(th, _mm256_and_si256(_mm256_srli_epi16(v, 4), low)));
      all = _mm256_add_epi16(all, r);
      odd = _mm256_add_epi16(odd, _mm256_srli_epi16(r, 8));
    }
    const __m256i even = _mm256_sub_epi16(all, _mm256_slli_epi16(odd, 8));
    // Lane L holds rows 16L + 2i (even) and 16L + 2i + 1 (odd): interleave them, then put the lanes in row order.
    const __m256i lo = _mm256_unpacklo_epi16(even, odd);  // rows 0-7 | 16-23
    const __m256i hi = _mm256_unpackhi_epi16(even, odd);  // rows 8-15 | 24-31
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + g * kSignGroup), _mm256_permute2x128_si256(lo, hi, 0x20));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + g * kSignGroup + 16), _mm256_permute2x128_si256(lo, hi, 0x31));
  }
}

// ---- AVX-512 VNNI ------------------------------------------------------------------------------------------
// UNTESTED: the development and CI machines have no AVX-512 VNNI, so this kernel has never run; it is chosen only
// when the CPU reports avx512vnni (+ avx512bw). vpdpbusd multiplies unsigned by signed bytes: the row goes in as
// unsigned (x + 128, an xor of the sign bit), which adds 128·Σq — one correction per query (q_sum), not per row.
// The masked tail loads zeros for both: the row byte becomes 128, the query byte 0, adding nothing.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
__attribute__((target("avx512f,avx512bw,avx512vnni"))) int32_t DotI8Vnni(const int8_t* q, const int8_t* x, size_t n,
                                                                          int32_t q_sum) {
  const __m512i flip = _mm512_set1_epi8(static_cast<char>(0x80));
  __m512i acc = _mm512_setzero_si512();
  size_t i = 0;
  for (; i + 64 <= n; i += 64) {
    const __m512i u = _mm512_xor_si512(_mm512_loadu_si512(x + i), flip);
    acc = _mm512_dpbusd_epi32(acc, u, _mm512_loadu_si512(q + i));
  }
  if (i < n) {
    const __mmask64 m = (~0ULL) >> (64 - (n - i));
    const __m512i u = _mm512_xor_si512(_mm512_maskz_loadu_epi8(m, x + i), flip);
    acc = _mm512_dpbusd_epi32(acc, u, _mm512_maskz_loadu_epi8(m, q + i));
  }
  const __m256i h = _mm256_add_epi32(_mm512_castsi512_si256(acc), _mm512_extracti64x4_epi64(acc, 1));
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));
  return _mm_cvtsi128_si32(s) - 128 * q_sum;
}
#pragma GCC diagnostic pop
#endif

#if FE_QNEON
// ---- NEON --------------------------------------------------------------------------------------------------
#if defined(__ARM_FEATURE_DOTPROD)
int32_t DotI8Neon(const int8_t* q, const int8_t* x, size_t n, int32_t /*q_sum*/) {
  int32x4_t acc = vdupq_n_s32(0);
  size_t i = 0;
  for (; i + 16 <= n; i += 16) acc = vdotq_s32(acc, vld1q_s8(q + i), vld1q_s8(x + i));
  int32_t sum = vaddvq_s32(acc);
  for (; i < n; ++i) sum += static_cast<int32_t>(q[i]) * x[i];
  return sum;
}
#define FE_NEON_NAME "neon-dotprod"
#else
// Widening multiply to int16 (|q·x| ≤ 16129 fits), pairwise-accumulated into int32.
int32_t DotI8Neon(const int8_t* q, const int8_t* x, size_t n, int32_t /*q_sum*/) {
  int32x4_t acc = vdupq_n_s32(0);
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const int8x16_t qv = vld1q_s8(q + i);
    const int8x16_t xv = vld1q_s8(x + i);
    acc = vpadalq_s16(acc, vmull_s8(vget_low_s8(qv), vget_low_s8(xv)));
    acc = vpadalq_s16(acc, vmull_high_s8(qv, xv));
  }
  int32_t sum = vaddvq_s32(acc);
  for (; i < n; ++i) sum += static_cast<int32_t>(q[i]) * x[i];
  return sum;
}
#define FE_NEON_NAME "neon"
#endif

// tbl looks up 16 nibbles at once; two registers cover a group's 32 rows, widened into uint16 as they are added.
void SignScanNeon(const uint8_t* lut, const uint8_t* blocks, size_t bytes, size_t groups, uint16_t* out) {
  const uint8x16_t low = vdupq_n_u8(0x0f);
  for (size_t g = 0; g < groups; ++g) {
    const uint8_t* b = blocks + g * kSignGroup * bytes;
    uint16x8_t a0 = vdupq_n_u16(0), a1 = vdupq_n_u16(0), a2 = vdupq_n_u16(0), a3 = vdupq_n_u16(0);
    for (size_t j = 0; j < bytes; ++j) {
      const uint8x16_t tl = vld1q_u8(lut + 32 * j);
      const uint8x16_t th = vld1q_u8(lut + 32 * j + 16);
      const uint8x16_t v0 = vld1q_u8(b + kSignGroup * j);
      const uint8x16_t v1 = vld1q_u8(b + kSignGroup * j + 16);
      const uint8x16_t r0 = vaddq_u8(vqtbl1q_u8(tl, vandq_u8(v0, low)), vqtbl1q_u8(th, vshrq_n_u8(v0, 4)));
      const uint8x16_t r1 = vaddq_u8(vqtbl1q_u8(tl, vandq_u8(v1, low)), vqtbl1q_u8(th, vshrq_n_u8(v1, 4)));
      a0 = vaddw_u8(a0, vget_low_u8(r0));
      a1 = vaddw_high_u8(a1, r0);
      a2 = vaddw_u8(a2, vget_low_u8(r1));
      a3 = vaddw_high_u8(a3, r1);
    }
    uint16_t* o = out + g * kSignGroup;
    vst1q_u16(o, a0);
    vst1q_u16(o + 8, a1);
    vst1q_u16(o + 16, a2);
    vst1q_u16(o + 24, a3);
  }
}
#endif

// Kernels over a block of rows, each compiled for its level's target so the per-row kernel inlines into the loop: a
// call through a pointer per row, and the constants it reloads, cost as much as the work on a 48-byte row.
#define FE_DOT_ROWS(Name, Attr, DotFn)                                                                                \
  Attr void DotRows##Name(const int8_t* q, const int8_t* codes, size_t dim, size_t count, int32_t q_sum, int32_t* out) { \
    for (size_t r = 0; r < count; ++r) out[r] = DotFn(q, codes + r * dim, dim, q_sum);                               \
  }
FE_DOT_ROWS(Scalar, , DotI8Scalar)
#if FE_QX64
#pragma GCC diagnostic push  // GCC 12's AVX-512 headers warn on their own _mm*_undefined_* (a GCC bug)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
FE_DOT_ROWS(Vnni, __attribute__((target("avx512f,avx512bw,avx512vnni"))), DotI8Vnni)
#pragma GCC diagnostic pop

// Four rows at a time: the query block and its absolute value are loaded once for all four, leaving per row and
// block one load, one sign, one maddubs, one madd and one add; the four sums are reduced together with hadd.
__attribute__((target("avx2"))) void DotRowsAvx2(const int8_t* q, const int8_t* codes, size_t dim, size_t count,
                                                 int32_t q_sum, int32_t* out) {
  const __m256i ones = _mm256_set1_epi16(1);
  const size_t body = dim & ~static_cast<size_t>(31);
  size_t r = 0;
  for (; r + 4 <= count; r += 4) {
    const int8_t* x = codes + r * dim;
    __m256i acc[4] = {_mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256()};
    for (size_t i = 0; i < body; i += 32) {
      const __m256i qv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q + i));
      const __m256i qa = _mm256_sign_epi8(qv, qv);
      for (int j = 0; j < 4; ++j) {
        const __m256i xv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + j * dim + i));
        acc[j] = _mm256_add_epi32(acc[j], _mm256_madd_epi16(_mm256_maddubs_epi16(qa, _mm256_sign_epi8(xv, qv)), ones));
      }
    }
    const __m256i h = _mm256_hadd_epi32(_mm256_hadd_epi32(acc[0], acc[1]), _mm256_hadd_epi32(acc[2], acc[3]));
    int32_t sums[4];
    _mm_storeu_si128(reinterpret_cast<__m128i*>(sums),
                     _mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1)));
    for (size_t i = body; i < dim; ++i) {
      for (int j = 0; j < 4; ++j) sums[j] += static_cast<int32_t>(q[i]) * x[j * dim + i];
    }
    for (int j = 0; j < 4; ++j) out[r + j] = sums[j];
  }
  for (; r < count; ++r) out[r] = DotI8Avx2(q, codes + r * dim, dim, q_sum);
}
#endif
#if FE_QNEON
FE_DOT_ROWS(Neon, , DotI8Neon)
#endif

struct QuantKernels {
  // codes · q for `count` rows of `dim` codes; q_sum = Σq, which only the VNNI kernel needs.
  void (*dot_rows)(const int8_t* q, const int8_t* codes, size_t dim, size_t count, int32_t q_sum, int32_t* out);
  // Σ of the query's table entries over the set bits of `groups` × 32 rows of `bytes` bytes (SignScanScalar).
  void (*sign_scan)(const uint8_t* lut, const uint8_t* blocks, size_t bytes, size_t groups, uint16_t* out);
  const char* name;
};

QuantKernels Best() {
#if FE_QX64
  __builtin_cpu_init();
  const bool avx2 = __builtin_cpu_supports("avx2");
  if (avx2 && __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512bw")) {
    return {DotRowsVnni, SignScanAvx2, "avx512vnni"};
  }
  if (avx2) return {DotRowsAvx2, SignScanAvx2, "avx2"};
#elif FE_QNEON
  return {DotRowsNeon, SignScanNeon, FE_NEON_NAME};
#endif
  return {DotRowsScalar, SignScanScalar, "scalar"};
}

// The same switch as the fp32 kernels (vector_math.cc): FASTEMBED_SIMD=scalar|avx2 caps the level so each path can
// be checked against the scalar one on a machine that has a better one; a level the CPU lacks is not forced.
const QuantKernels& QK() {
  static const QuantKernels kernels = [] {
    const char* force = std::getenv("FASTEMBED_SIMD");
    const std::string level = force != nullptr ? force : "";
    if (level == "scalar") return QuantKernels{DotRowsScalar, SignScanScalar, "scalar"};
#if FE_QX64
    __builtin_cpu_init();
    if (level == "avx2" && __builtin_cpu_supports("avx2")) {
      return QuantKernels{DotRowsAvx2, SignScanAvx2, "avx2"};
    }
#endif
    return Best();
  }();
  return kernels;
}

// The int8 query, made once per search.
struct Int8Query {
  std::vector<int8_t> codes;
  float scale = 0;
  int32_t sum = 0;
  Int8Query(const float* query, size_t dim) : codes(dim) {
    scale = QuantizeInt8(query, dim, codes.data());
    for (int8_t c : codes) sum += c;
  }
};

// The binary first pass's query: for each nibble of a row (4 dims), the query's sum over the dims whose bits are set,
// for each of the nibble's 16 values, shifted to start at 0 and quantised with one step Δ for every table to at most
// L, so that a row's 2 · stride lookups sum within 16 bits. Σ over a row's set bits of q ≈ Δ · sum + base. Ranking
// by this keeps the query's magnitudes, which the Hamming distance between sign bits throws away: on 1M random unit
// vectors × 384 the true top 10 are in its best 2,000 rows ~0.86 of the time, against ~0.5 for Hamming's.
struct SignTables {
  std::vector<uint8_t> lut;  // 32 bytes per row byte: low nibble's table, high nibble's
  float delta = 1;
  float base = 0;
  float qsum = 0;         // Σq, for q · sign(x) = 2 Σ_{set} q − Σq
  uint32_t max_sum = 0;   // the largest sum a row can reach: 2 · stride · L

  SignTables(const float* q, size_t dim) {
    const size_t bytes = SignWords(dim) * 8;
    const size_t level = std::min<size_t>(127, 65535 / (2 * bytes));  // two entries a byte stay ≤ 254: one uint8 add
    std::vector<float> values(bytes * 32);
    float widest = 0;
    for (size_t nib = 0; nib < 2 * bytes; ++nib) {  // nibble `nib` covers dims 4·nib … 4·nib + 3, LSB first
      float* t = &values[16 * nib];
      float least = 0;
      for (unsigned n = 0; n < 16; ++n) {
        float sum = 0;
        for (unsigned b = 0; b < 4; ++b) {
          const size_t i = 4 * nib + b;
          if ((n >> b & 1) != 0 && i < dim && std::isfinite(q[i])) sum += q[i];
        }
        t[n] = sum;
        least = std::min(least, sum);
      }
      for (unsigned n = 0; n < 16; ++n) widest = std::max(widest, t[n] -= least);
      base += least;
    }
    for (size_t i = 0; i < dim; ++i) qsum += std::isfinite(q[i]) ? q[i] : 0.0f;
    if (widest > 0) delta = widest / static_cast<float>(level);
    lut.resize(values.size());
    for (size_t i = 0; i < values.size(); ++i) {
      lut[i] = static_cast<uint8_t>(std::min<long>(static_cast<long>(level), std::lrint(values[i] / delta)));
    }
    max_sum = static_cast<uint32_t>(2 * bytes * level);
  }
  // The estimate of q · sign(x) (±1 per dim) from a row's sum.
  float SignDot(uint32_t sum) const { return 2 * (delta * static_cast<float>(sum) + base) - qsum; }
};

// ---- pass 1, int8: the `size` best rows by the dequantised int8 dot product -----------------------------------
inline bool Ahead(const Scored& a, const Scored& b) {  // higher score, then lower index
  return a.score != b.score ? a.score > b.score : a.index < b.index;
}

// The k best of the pool, best first: a full sort of a large pool costs more than its rescoring.
void KeepBest(std::vector<Scored>& pool, size_t k) {
  k = std::min(k, pool.size());
  std::nth_element(pool.begin(), pool.begin() + static_cast<std::ptrdiff_t>(k), pool.end(), Ahead);
  pool.resize(k);
  std::sort(pool.begin(), pool.end(), Ahead);
}

constexpr size_t kBlock = 1024;  // rows scored per kernel call: their scores stay in L1 (a whole number of groups)

void Int8Range(const Int8Query& q, const CompactMatrix& m, size_t begin, size_t end, size_t size,
               std::vector<Scored>& heap) {
  const QuantKernels& kern = QK();
  int32_t dots[kBlock];
  heap.clear();
  heap.reserve(size);
  for (size_t b = begin; b < end; b += kBlock) {
    const size_t n = std::min(kBlock, end - b);
    kern.dot_rows(q.codes.data(), m.codes + b * m.dim, m.dim, n, q.sum, dots);
    for (size_t i = 0; i < n; ++i) {
      const float s = static_cast<float>(dots[i]) * m.scales[b + i];
      const Scored cand{static_cast<uint32_t>(b + i), std::isnan(s) ? -INFINITY : s};
      if (heap.size() < size) {
        heap.push_back(cand);
        std::push_heap(heap.begin(), heap.end(), Ahead);  // the worst kept is on top
      } else if (Ahead(cand, heap.front())) {
        std::pop_heap(heap.begin(), heap.end(), Ahead);
        heap.back() = cand;
        std::push_heap(heap.begin(), heap.end(), Ahead);
      }
    }
  }
}

size_t Parts(size_t items, int threads, size_t per_part) {
  return std::max<size_t>(1, std::min<size_t>(static_cast<size_t>(std::max(threads, 1)), items / per_part + 1));
}

// Runs body(begin, end, part) over `parts` contiguous ranges of `items`, each starting at a multiple of kSignGroup
// (binary passes read whole groups), the first on the calling thread, the others on helper threads.
template <class Body>
void Split(size_t items, size_t parts, Body body) {
  const size_t chunk = ((items + parts - 1) / parts + kSignGroup - 1) / kSignGroup * kSignGroup;
  RunParts(parts, [&](size_t p) { body(std::min(items, p * chunk), std::min(items, (p + 1) * chunk), p); });
}

std::vector<Scored> Int8Pool(const float* query, const CompactMatrix& m, size_t size, int threads) {
  const Int8Query q(query, m.dim);
  const size_t parts = Parts(m.rows, threads, 4096);
  std::vector<std::vector<Scored>> heaps(parts);
  Split(m.rows, parts, [&](size_t b, size_t e, size_t p) { Int8Range(q, m, b, e, size, heaps[p]); });
  std::vector<Scored> all;
  for (auto& h : heaps) all.insert(all.end(), h.begin(), h.end());
  KeepBest(all, size);
  for (auto& s : all) s.score *= q.scale;
  return all;
}

// ---- pass 1, binary: the `size` rows with the largest table sums -------------------------------------------------
// A row's distance, max_sum − sum, is a small integer, so the pool is cut with a histogram instead of a heap, in one
// pass over the rows: each part keeps the rows within its own cut (the distance at which its rows alone fill the
// pool), which only falls as it reads and is never below the global cut t. The parts' rows are then cut at t: every
// row nearer than t, and the first rows (lowest index) at t.
struct Near {
  uint32_t row;
  uint16_t dist;
};

struct NearPart {
  std::vector<uint32_t> hist;  // rows per distance, up to the part's cut
  std::vector<Near> kept;      // rows within the part's cut, in row order
};

// Drops the rows beyond `cut`, and at each distance those after the first `size` (a pool never takes more from one
// part at one distance, and takes the first).
void Trim(std::vector<Near>& kept, size_t cut, size_t size, std::vector<uint32_t>& seen) {
  std::fill(seen.begin(), seen.end(), 0);
  kept.erase(std::remove_if(kept.begin(), kept.end(), [&](const Near& n) { return n.dist > cut || ++seen[n.dist] > size; }),
             kept.end());
}

void SignRange(const SignTables& q, const CompactMatrix& m, size_t begin, size_t end, size_t size, NearPart& part) {
  const size_t stride = SignWords(m.dim) * 8;
  const QuantKernels& kern = QK();
  // Only rows within the cut are counted: the global cut is never above this part's, so the counts beyond it are
  // never read, and once the cut has settled (after ~size rows) a row costs one compare.
  part.hist.assign(q.max_sum + 1, 0);
  std::vector<uint32_t> seen(q.max_sum + 1);
  size_t cut = q.max_sum;
  size_t within = 0;  // rows counted at distances ≤ cut
  uint16_t sums[kBlock];
  part.kept.clear();
  for (size_t b = begin; b < end; b += kBlock) {  // b is a multiple of 32: its group starts at b · stride
    const size_t n = std::min(kBlock, end - b);
    kern.sign_scan(q.lut.data(), m.bits + b * stride, stride, (n + kSignGroup - 1) / kSignGroup, sums);
    for (size_t i = 0; i < n; ++i) {
      const size_t dist = q.max_sum - sums[i];
      if (dist <= cut) {
        ++part.hist[dist];
        part.kept.push_back({static_cast<uint32_t>(b + i), static_cast<uint16_t>(dist)});
        ++within;
      }
    }
    while (cut > 0 && within - part.hist[cut] >= size) within -= part.hist[cut--];
    if (part.kept.size() > 2 * size + kBlock) Trim(part.kept, cut, size, seen);
  }
}

std::vector<uint32_t> SignPool(const SignTables& q, const CompactMatrix& m, size_t size, int threads) {
  const size_t parts = Parts(m.rows, threads, 4096);
  std::vector<NearPart> part(parts);
  Split(m.rows, parts, [&](size_t b, size_t e, size_t p) { SignRange(q, m, b, e, size, part[p]); });
  size_t below = 0;  // rows nearer than t
  size_t t = 0;
  for (; t <= q.max_sum; ++t) {
    size_t at = 0;
    for (const auto& p : part) at += p.hist[t];
    if (below + at >= size) break;
    below += at;
  }
  // Rows at distance t that still fit go to the lowest indices: each part's share of them, in part order.
  std::vector<uint32_t> pool;
  pool.reserve(size);
  size_t left = size - below;
  for (const auto& p : part) {
    size_t tie = t <= q.max_sum ? std::min<size_t>(left, p.hist[t]) : 0;
    left -= tie;
    for (const Near& n : p.kept) {
      if (n.dist < t || (n.dist == t && tie > 0 && tie--)) pool.push_back(n.row);
    }
  }
  return pool;
}

// ---- pass 2, binary: the exact fp32 query against the sign bits of the pool ---------------------------------------
// The first pass's tables are quantised; this ranks the pool again with q · sign(x) in fp32, a table per byte of the
// row, lut[j][b] = Σ over the 8 bits of b of ±q[8j + bit]: one lookup per 8 dimensions.
class SignDotTable {
 public:
  SignDotTable(const float* query, size_t dim) : bytes_((dim + 7) / 8), lut_(bytes_ * 256) {
    for (size_t j = 0; j < bytes_; ++j) {
      float* t = &lut_[j * 256];
      t[0] = 0;
      for (size_t bit = 0; bit < 8 && 8 * j + bit < dim; ++bit) t[0] -= query[8 * j + bit];
      for (unsigned b = 1; b < 256; ++b) {  // b = (b without its lowest bit) with that bit flipped from - to +
        const unsigned low = static_cast<unsigned>(__builtin_ctz(b));
        const float qv = 8 * j + low < dim ? query[8 * j + low] : 0.0f;
        t[b] = t[b & (b - 1)] + 2 * qv;
      }
    }
  }
  float Dot(const uint8_t* row) const {
    float s = 0;
    for (size_t j = 0; j < bytes_; ++j) s += lut_[j * 256 + row[j]];
    return s;
  }

 private:
  size_t bytes_;
  std::vector<float> lut_;
};

// Exact fp32 scores for the pool, split over threads when it is large. Each row is 1.5 KB somewhere in the fp32
// matrix (at 384 dims): the rows a few places ahead are prefetched, which took 20,000 rows from 5.6-7.2 to 4.5-4.7 ms
// on 2 threads (1M rows; 8 ahead measured best of 2 to 16).
void Rescore(const float* query, const CompactMatrix& m, std::vector<Scored>& pool, int threads) {
  constexpr size_t kAhead = 8;
  constexpr size_t kLineFloats = 64 / sizeof(float);
  Split(pool.size(), Parts(pool.size(), threads, 2048), [&](size_t b, size_t e, size_t) {
    for (size_t i = b; i < e; ++i) {
      if (i + kAhead < e) {
        const float* ahead = m.floats + static_cast<size_t>(pool[i + kAhead].index) * m.dim;
        for (size_t f = 0; f < m.dim; f += kLineFloats) __builtin_prefetch(ahead + f);
      }
      Scored& s = pool[i];
      s.score = Dot(query, m.floats + static_cast<size_t>(s.index) * m.dim, m.dim);
      if (std::isnan(s.score)) s.score = -INFINITY;
    }
  });
}


}  // namespace

float QuantizeInt8(const float* x, size_t dim, int8_t* codes) {
  float maxabs = 0;
  for (size_t i = 0; i < dim; ++i) maxabs = std::fmax(maxabs, std::fabs(x[i]));  // fmax skips NaN
  if (!(maxabs > 0) || !std::isfinite(maxabs)) {
    std::fill(codes, codes + dim, 0);
    return 0;
  }
  const float inv = 127.0f / maxabs;
  for (size_t i = 0; i < dim; ++i) {
    const float v = x[i] * inv;
    codes[i] = v == v ? static_cast<int8_t>(std::lrint(std::fmin(127.0f, std::fmax(-127.0f, v)))) : 0;
  }
  return maxabs / 127.0f;
}

void PackSigns(const float* x, size_t dim, uint8_t* bits) {
  std::memset(bits, 0, SignWords(dim) * 8);
  for (size_t i = 0; i < dim; ++i) {
    if (x[i] > 0) bits[i >> 3] |= static_cast<uint8_t>(1u << (i & 7));
  }
}

void StoreSignRow(const uint8_t* row, size_t stride, uint8_t* blocks, size_t r) {
  uint8_t* at = blocks + r / kSignGroup * kSignGroup * stride + r % kSignGroup;
  for (size_t j = 0; j < stride; ++j) at[kSignGroup * j] = row[j];
}

void LoadSignRow(const uint8_t* blocks, size_t stride, size_t r, uint8_t* row) {
  const uint8_t* at = blocks + r / kSignGroup * kSignGroup * stride + r % kSignGroup;
  for (size_t j = 0; j < stride; ++j) row[j] = at[kSignGroup * j];
}

void CompactScoreAll(const float* query, const CompactMatrix& m, float* out) {
  const QuantKernels& kern = QK();
  if (m.codes != nullptr) {
    const Int8Query q(query, m.dim);
    int32_t dots[kBlock];
    for (size_t b = 0; b < m.rows; b += kBlock) {
      const size_t n = std::min(kBlock, m.rows - b);
      kern.dot_rows(q.codes.data(), m.codes + b * m.dim, m.dim, n, q.sum, dots);
      for (size_t i = 0; i < n; ++i) out[b + i] = static_cast<float>(dots[i]) * m.scales[b + i] * q.scale;
    }
    return;
  }
  const SignTables q(query, m.dim);
  const size_t stride = SignWords(m.dim) * 8;
  const float norm = 1.0f / std::sqrt(static_cast<float>(m.dim));
  uint16_t sums[kBlock];
  for (size_t b = 0; b < m.rows; b += kBlock) {
    const size_t n = std::min(kBlock, m.rows - b);
    kern.sign_scan(q.lut.data(), m.bits + b * stride, stride, (n + kSignGroup - 1) / kSignGroup, sums);
    for (size_t i = 0; i < n; ++i) out[b + i] = q.SignDot(sums[i]) * norm;
  }
}

CompactResult CompactTopK(const float* query, const CompactMatrix& m, size_t k, size_t candidates, int threads) {
  CompactResult out;
  out.exact = m.floats != nullptr;
  k = std::min(k, m.rows);
  if (k == 0) return out;
  const size_t pool_size = std::min(m.rows, std::max(candidates, k));
  std::vector<Scored> pool;
  if (m.codes != nullptr) {
    pool = Int8Pool(query, m, pool_size, threads);
  } else {
    const std::vector<uint32_t> rows = SignPool(SignTables(query, m.dim), m, pool_size, threads);
    if (!out.exact) {
      // Without fp32 rows the scores are q · sign(x) / √dim, the cosine between q and the ±1 vector, exact in fp32.
      const SignDotTable table(query, m.dim);
      const size_t stride = SignWords(m.dim) * 8;
      const float norm = 1.0f / std::sqrt(static_cast<float>(m.dim));
      std::vector<uint8_t> row(stride);
      for (uint32_t r : rows) {
        LoadSignRow(m.bits, stride, r, row.data());
        pool.push_back({r, table.Dot(row.data()) * norm});
      }
    } else {
      for (uint32_t r : rows) pool.push_back({r, 0});
    }
  }
  if (out.exact) Rescore(query, m, pool, threads);
  KeepBest(pool, k);
  out.top = std::move(pool);
  return out;
}

const char* CompactSimdLevel() { return QK().name; }

}  // namespace fastembed
