#include "vector_quant.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
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

inline uint64_t Word(const uint8_t* p) {  // unaligned-safe; compiles to one load
  uint64_t w;
  std::memcpy(&w, p, 8);
  return w;
}

// ---- scalar reference --------------------------------------------------------------------------------------
int32_t DotI8Scalar(const int8_t* q, const int8_t* x, size_t n, int32_t /*q_sum*/) {
  int32_t acc = 0;
  for (size_t i = 0; i < n; ++i) acc += static_cast<int32_t>(q[i]) * x[i];
  return acc;
}

uint32_t HammingScalar(const uint8_t* a, const uint8_t* b, size_t words) {
  uint32_t d = 0;
  for (size_t w = 0; w < words; ++w) d += static_cast<uint32_t>(__builtin_popcountll(Word(a + 8 * w) ^ Word(b + 8 * w)));
  return d;
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

// Muła's nibble lookup: pshufb counts the bits of 32 bytes at once, sad_epu8 sums them per 64-bit lane; the words
// left over (384 dims = one 32-byte block + 2 words) go to the popcnt instruction.
__attribute__((target("avx2,popcnt"))) uint32_t HammingAvx2(const uint8_t* a, const uint8_t* b, size_t words) {
  const __m256i lut = _mm256_setr_epi8(0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4, 0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3,
                                       3, 4);
  const __m256i low = _mm256_set1_epi8(0x0f);
  __m256i acc = _mm256_setzero_si256();
  size_t w = 0;
  for (; w + 4 <= words; w += 4) {
    const __m256i v = _mm256_xor_si256(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(a + 8 * w)),
                                       _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + 8 * w)));
    const __m256i cnt = _mm256_add_epi8(_mm256_shuffle_epi8(lut, _mm256_and_si256(v, low)),
                                        _mm256_shuffle_epi8(lut, _mm256_and_si256(_mm256_srli_epi16(v, 4), low)));
    acc = _mm256_add_epi64(acc, _mm256_sad_epu8(cnt, _mm256_setzero_si256()));
  }
  uint64_t d = static_cast<uint64_t>(_mm256_extract_epi64(acc, 0)) + static_cast<uint64_t>(_mm256_extract_epi64(acc, 1)) +
               static_cast<uint64_t>(_mm256_extract_epi64(acc, 2)) + static_cast<uint64_t>(_mm256_extract_epi64(acc, 3));
  for (; w < words; ++w) d += static_cast<uint64_t>(_mm_popcnt_u64(Word(a + 8 * w) ^ Word(b + 8 * w)));
  return static_cast<uint32_t>(d);
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

uint32_t HammingNeon(const uint8_t* a, const uint8_t* b, size_t words) {
  uint64x2_t acc = vdupq_n_u64(0);
  size_t w = 0;
  for (; w + 2 <= words; w += 2) {
    const uint8x16_t v = veorq_u8(vld1q_u8(a + 8 * w), vld1q_u8(b + 8 * w));
    acc = vpadalq_u32(acc, vpaddlq_u16(vpaddlq_u8(vcntq_u8(v))));
  }
  uint64_t d = vaddvq_u64(acc);
  for (; w < words; ++w) d += static_cast<uint64_t>(__builtin_popcountll(Word(a + 8 * w) ^ Word(b + 8 * w)));
  return static_cast<uint32_t>(d);
}
#endif

// Kernels over a block of rows, each compiled for its level's target so the per-row kernel inlines into the loop: a
// call through a pointer per row, and the constants it reloads, cost as much as the work on a 48-byte row.
#define FE_DOT_ROWS(Name, Attr, DotFn)                                                                                \
  Attr void DotRows##Name(const int8_t* q, const int8_t* codes, size_t dim, size_t count, int32_t q_sum, int32_t* out) { \
    for (size_t r = 0; r < count; ++r) out[r] = DotFn(q, codes + r * dim, dim, q_sum);                               \
  }
#define FE_HAMMING_ROWS(Name, Attr, HammingFn)                                                                        \
  Attr void HammingRows##Name(const uint8_t* q, const uint8_t* bits, size_t words, size_t count, uint16_t* out) {       \
    for (size_t r = 0; r < count; ++r) out[r] = static_cast<uint16_t>(HammingFn(q, bits + r * words * 8, words));     \
  }

FE_DOT_ROWS(Scalar, , DotI8Scalar)
FE_HAMMING_ROWS(Scalar, , HammingScalar)
#if FE_QX64
// Rows of up to 16 words (dim ≤ 1024) are summed with the popcnt instruction, the query's words held in registers:
// per 384-dim row 6 loads, xors, popcnts and adds, where the pshufb kernel spends as much again reducing its
// four 64-bit lanes. Wider rows keep the pshufb kernel, whose reduction is then amortised over the row.
template <size_t W>
__attribute__((target("popcnt"))) void HammingRowsFixed(const uint8_t* q, const uint8_t* bits, size_t count, uint16_t* out) {
  uint64_t qw[W];
  for (size_t w = 0; w < W; ++w) qw[w] = Word(q + 8 * w);
  for (size_t r = 0; r < count; ++r) {
    const uint8_t* x = bits + r * W * 8;
    uint64_t d = 0;
    for (size_t w = 0; w < W; ++w) d += static_cast<uint64_t>(_mm_popcnt_u64(Word(x + 8 * w) ^ qw[w]));
    out[r] = static_cast<uint16_t>(d);
  }
}

FE_HAMMING_ROWS(Avx2Wide, __attribute__((target("avx2,popcnt"))), HammingAvx2)

template <size_t... W>
void HammingRowsSmall(const uint8_t* q, const uint8_t* bits, size_t words, size_t count, uint16_t* out,
                      std::index_sequence<W...>) {
  using Fn = void (*)(const uint8_t*, const uint8_t*, size_t, uint16_t*);
  static constexpr Fn fixed[] = {HammingRowsFixed<W + 1>...};
  fixed[words - 1](q, bits, count, out);
}

void HammingRowsAvx2(const uint8_t* q, const uint8_t* bits, size_t words, size_t count, uint16_t* out) {
  if (words <= 16) return HammingRowsSmall(q, bits, words, count, out, std::make_index_sequence<16>{});
  HammingRowsAvx2Wide(q, bits, words, count, out);
}
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
FE_HAMMING_ROWS(Neon, , HammingNeon)
#endif

struct QuantKernels {
  // codes · q for `count` rows of `dim` codes; q_sum = Σq, which only the VNNI kernel needs.
  void (*dot_rows)(const int8_t* q, const int8_t* codes, size_t dim, size_t count, int32_t q_sum, int32_t* out);
  // Hamming distances of `count` rows of `words` 64-bit words to q (dim ≤ 65535 fits uint16).
  void (*hamming_rows)(const uint8_t* q, const uint8_t* bits, size_t words, size_t count, uint16_t* out);
  const char* name;
};

QuantKernels Best() {
#if FE_QX64
  __builtin_cpu_init();
  const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("popcnt");
  if (avx2 && __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512bw")) {
    return {DotRowsVnni, HammingRowsAvx2, "avx512vnni"};
  }
  if (avx2) return {DotRowsAvx2, HammingRowsAvx2, "avx2"};
#elif FE_QNEON
  return {DotRowsNeon, HammingRowsNeon, FE_NEON_NAME};
#endif
  return {DotRowsScalar, HammingRowsScalar, "scalar"};
}

// The same switch as the fp32 kernels (vector_math.cc): FASTEMBED_SIMD=scalar|avx2 caps the level so each path can
// be checked against the scalar one on a machine that has a better one; a level the CPU lacks is not forced.
const QuantKernels& QK() {
  static const QuantKernels kernels = [] {
    const char* force = std::getenv("FASTEMBED_SIMD");
    const std::string level = force != nullptr ? force : "";
    if (level == "scalar") return QuantKernels{DotRowsScalar, HammingRowsScalar, "scalar"};
#if FE_QX64
    __builtin_cpu_init();
    if (level == "avx2" && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("popcnt")) {
      return QuantKernels{DotRowsAvx2, HammingRowsAvx2, "avx2"};
    }
#endif
    return Best();
  }();
  return kernels;
}

// A query in every form the passes need, made once per search.
struct PreparedQuery {
  std::vector<int8_t> codes;
  float scale = 0;
  int32_t sum = 0;
  std::vector<uint8_t> bits;
};

PreparedQuery Prepare(const float* query, const CompactMatrix& m) {
  PreparedQuery p;
  if (m.codes != nullptr) {
    p.codes.resize(m.dim);
    p.scale = QuantizeInt8(query, m.dim, p.codes.data());
    for (int8_t c : p.codes) p.sum += c;
  } else {
    p.bits.resize(SignWords(m.dim) * 8);
    PackSigns(query, m.dim, p.bits.data());
  }
  return p;
}

// ---- pass 1, int8: the `size` best rows by the dequantised int8 dot product -----------------------------------
inline bool Ahead(const Scored& a, const Scored& b) {  // higher score, then lower index
  return a.score != b.score ? a.score > b.score : a.index < b.index;
}

constexpr size_t kBlock = 1024;  // rows scored per kernel call: their scores stay in L1

void Int8Range(const PreparedQuery& q, const CompactMatrix& m, size_t begin, size_t end, size_t size,
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

size_t Parts(size_t rows, int threads) {
  return std::max<size_t>(1, std::min<size_t>(static_cast<size_t>(std::max(threads, 1)), rows / 4096 + 1));
}

// Runs body(begin, end, part) over `parts` contiguous row ranges, the first on the calling thread.
template <class Body>
void Split(size_t rows, size_t parts, Body body) {
  const size_t chunk = (rows + parts - 1) / parts;
  std::vector<std::thread> workers;
  for (size_t p = 1; p < parts; ++p) workers.emplace_back([&, p] { body(p * chunk, std::min(rows, (p + 1) * chunk), p); });
  body(0, std::min(rows, chunk), 0);
  for (auto& w : workers) w.join();
}

std::vector<Scored> Int8Pool(const PreparedQuery& q, const CompactMatrix& m, size_t size, int threads) {
  const size_t parts = Parts(m.rows, threads);
  std::vector<std::vector<Scored>> heaps(parts);
  Split(m.rows, parts, [&](size_t b, size_t e, size_t p) { Int8Range(q, m, b, e, size, heaps[p]); });
  std::vector<Scored> all;
  for (auto& h : heaps) all.insert(all.end(), h.begin(), h.end());
  std::sort(all.begin(), all.end(), Ahead);
  all.resize(std::min(size, all.size()));
  for (auto& s : all) s.score *= q.scale;
  return all;
}

// ---- pass 1, binary: the `size` nearest rows by Hamming distance -----------------------------------------------
// Distances are small integers (0..dim), so the pool is cut with a histogram instead of a heap, in one pass over the
// rows: each part keeps the rows within its own cut (the distance at which its rows alone fill the pool), which only
// falls as it reads and is never below the global cut t. The parts' rows are then cut at t: every row nearer than
// t, and the first rows (lowest index) at t.
struct Near {
  uint32_t row;
  uint16_t dist;
};

struct HammingPart {
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

void HammingRange(const PreparedQuery& q, const CompactMatrix& m, size_t begin, size_t end, size_t size,
                  HammingPart& part) {
  const size_t words = SignWords(m.dim);
  const QuantKernels& kern = QK();
  // Only rows within the cut are counted: the global cut is never above this part's, so the counts beyond it are
  // never read, and once the cut has settled (after ~size rows) a row costs one compare.
  part.hist.assign(m.dim + 1, 0);
  std::vector<uint32_t> seen(m.dim + 1);
  size_t cut = m.dim;
  size_t within = 0;  // rows counted at distances ≤ cut
  uint16_t dist[kBlock];
  part.kept.clear();
  for (size_t b = begin; b < end; b += kBlock) {
    const size_t n = std::min(kBlock, end - b);
    kern.hamming_rows(q.bits.data(), m.bits + b * words * 8, words, n, dist);
    for (size_t i = 0; i < n; ++i) {
      if (dist[i] <= cut) {
        ++part.hist[dist[i]];
        part.kept.push_back({static_cast<uint32_t>(b + i), dist[i]});
        ++within;
      }
    }
    while (cut > 0 && within - part.hist[cut] >= size) within -= part.hist[cut--];
    if (part.kept.size() > 2 * size + kBlock) Trim(part.kept, cut, size, seen);
  }
}

std::vector<uint32_t> HammingPool(const PreparedQuery& q, const CompactMatrix& m, size_t size, int threads) {
  const size_t parts = Parts(m.rows, threads);
  std::vector<HammingPart> part(parts);
  Split(m.rows, parts, [&](size_t b, size_t e, size_t p) { HammingRange(q, m, b, e, size, part[p]); });
  size_t below = 0;  // rows nearer than t
  size_t t = 0;
  for (; t <= m.dim; ++t) {
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
    size_t tie = t <= m.dim ? std::min<size_t>(left, p.hist[t]) : 0;
    left -= tie;
    for (const Near& n : p.kept) {
      if (n.dist < t || (n.dist == t && tie > 0 && tie--)) pool.push_back(n.row);
    }
  }
  return pool;
}

// ---- pass 2, binary: the fp32 query against the sign bits -------------------------------------------------------
// q · sign(x) ranks far better than the Hamming distance (it keeps the query's magnitudes) and still reads only
// the bits. A table per byte of the row, lut[j][b] = Σ over the 8 bits of b of ±q[8j + bit], makes it one lookup
// per 8 dimensions.
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

size_t Take(size_t k, size_t n) { return std::min(k, n); }

constexpr size_t kAlwaysRescored = 1024;

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

void CompactScoreAll(const float* query, const CompactMatrix& m, float* out) {
  const PreparedQuery q = Prepare(query, m);
  const QuantKernels& kern = QK();
  const size_t words = SignWords(m.dim);
  int32_t dots[kBlock];
  uint16_t dist[kBlock];
  for (size_t b = 0; b < m.rows; b += kBlock) {
    const size_t n = std::min(kBlock, m.rows - b);
    if (m.codes != nullptr) {
      kern.dot_rows(q.codes.data(), m.codes + b * m.dim, m.dim, n, q.sum, dots);
      for (size_t i = 0; i < n; ++i) out[b + i] = static_cast<float>(dots[i]) * m.scales[b + i] * q.scale;
    } else {
      kern.hamming_rows(q.bits.data(), m.bits + b * words * 8, words, n, dist);
      for (size_t i = 0; i < n; ++i) out[b + i] = dist[i];
    }
  }
}

CompactResult CompactTopK(const float* query, const CompactMatrix& m, size_t k, size_t candidates, int threads) {
  CompactResult out;
  out.exact = m.floats != nullptr;
  k = std::min(k, m.rows);
  if (k == 0) return out;
  const size_t pool_size = std::min(m.rows, std::max(candidates, k));
  const PreparedQuery q = Prepare(query, m);
  std::vector<Scored> pool;
  if (m.codes != nullptr) {
    pool = Int8Pool(q, m, pool_size, threads);
  } else {
    // Hamming → q·sign(x) on the whole pool → its better half (never fewer than 4k) goes on to fp32. On random unit
    // vectors (20k × 384) halving cost no recall and a quarter cost ~0.01 of it; q·sign(x) over every row would rank
    // better than Hamming, but costs 48 table lookups a row against 6 popcounts. A pool this small is rescored whole
    // (≤ 1.5 MB of fp32 at 384 dims): a candidates ≥ rows search is then exhaustive.
    const SignDotTable table(query, m.dim);
    const size_t stride = SignWords(m.dim) * 8;
    const float norm = 1.0f / std::sqrt(static_cast<float>(m.dim));
    for (uint32_t r : HammingPool(q, m, pool_size, threads)) pool.push_back({r, table.Dot(m.bits + r * stride) * norm});
    std::sort(pool.begin(), pool.end(), Ahead);
    if (out.exact) pool.resize(Take(std::max({4 * k, pool.size() / 2, kAlwaysRescored}), pool.size()));
  }
  if (out.exact) {
    for (auto& s : pool) {
      s.score = Dot(query, m.floats + static_cast<size_t>(s.index) * m.dim, m.dim);
      if (std::isnan(s.score)) s.score = -INFINITY;
    }
    std::sort(pool.begin(), pool.end(), Ahead);
  }
  pool.resize(Take(k, pool.size()));
  out.top = std::move(pool);
  return out;
}

const char* CompactSimdLevel() { return QK().name; }

}  // namespace fastembed
