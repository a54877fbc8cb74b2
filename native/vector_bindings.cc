#include "vector_bindings.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <thread>

#include "common.h"
#include "vector_math.h"
#include "vector_quant.h"
#include "workers.h"

namespace fastembed {

namespace {

bool IsFloat32Array(const Napi::Value& v) {
  return v.IsTypedArray() && v.As<Napi::TypedArray>().TypedArrayType() == napi_float32_array;
}

// Returns false (with a JS exception pending) unless `v` is a Float32Array.
bool RequireF32(Napi::Env env, const Napi::Value& v, const char* fn, const char* name) {
  if (IsFloat32Array(v)) return true;
  Napi::TypeError::New(env, std::string(fn) + ": " + name + " must be a Float32Array").ThrowAsJavaScriptException();
  return false;
}

bool ReadMetric(Napi::Env env, const Napi::Value& v, const char* fn, Metric* metric) {
  const std::string m = v.IsUndefined() ? "cosine" : v.ToString().Utf8Value();
  if (m == "cosine") *metric = Metric::kCosine;
  else if (m == "dot") *metric = Metric::kDot;
  else {
    Napi::RangeError::New(env, std::string(fn) + ": metric must be 'cosine' or 'dot', got '" + m + "'")
        .ThrowAsJavaScriptException();
    return false;
  }
  return true;
}

Napi::Value PairOp(const Napi::CallbackInfo& info, const char* fn, float (*op)(const float*, const float*, size_t)) {
  Napi::Env env = info.Env();
  if (!RequireF32(env, info[0], fn, "a") || !RequireF32(env, info[1], fn, "b")) return Napi::Value();
  Napi::Float32Array a = info[0].As<Napi::Float32Array>();
  Napi::Float32Array b = info[1].As<Napi::Float32Array>();
  if (a.ElementLength() != b.ElementLength()) {
    FE_THROW_RANGE(env, std::string(fn) + ": vectors differ in length (" + std::to_string(a.ElementLength()) +
                            " vs " + std::to_string(b.ElementLength()) + ")");
  }
  return Napi::Number::New(env, op(a.Data(), b.Data(), a.ElementLength()));
}

Napi::Value JsDot(const Napi::CallbackInfo& info) { return PairOp(info, "dot", Dot); }
Napi::Value JsCosine(const Napi::CallbackInfo& info) { return PairOp(info, "cosine", Cosine); }

Napi::Value JsNormalize(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!RequireF32(env, info[0], "normalize", "v")) return Napi::Value();
  Napi::Float32Array v = info[0].As<Napi::Float32Array>();
  size_t dim = v.ElementLength();
  if (info.Length() > 1 && !info[1].IsUndefined()) {
    const double d = info[1].ToNumber().DoubleValue();
    if (!(d >= 1) || d != std::floor(d) || v.ElementLength() % static_cast<size_t>(d) != 0) {
      FE_THROW_RANGE(env, "normalize: dim must be a positive integer dividing the array length");
    }
    dim = static_cast<size_t>(d);
  }
  for (size_t off = 0; off + dim <= v.ElementLength() && dim > 0; off += dim) Normalize(v.Data() + off, dim);
  return v;
}

// Shared argument parsing of scoreAll/topK/topKAsync: (query, matrix, dim[, k], metric).
struct MatrixArgs {
  Napi::Float32Array query;
  Napi::Float32Array matrix;
  size_t dim = 0;
  size_t rows = 0;
  size_t k = 0;
  Metric metric = Metric::kCosine;
};

bool ReadMatrixArgs(const Napi::CallbackInfo& info, const char* fn, bool with_k, MatrixArgs* out) {
  Napi::Env env = info.Env();
  if (!RequireF32(env, info[0], fn, "query") || !RequireF32(env, info[1], fn, "matrix")) return false;
  out->query = info[0].As<Napi::Float32Array>();
  out->matrix = info[1].As<Napi::Float32Array>();
  out->dim = out->query.ElementLength();
  if (out->dim == 0) {
    Napi::RangeError::New(env, std::string(fn) + ": query is empty").ThrowAsJavaScriptException();
    return false;
  }
  if (out->matrix.ElementLength() % out->dim != 0) {
    Napi::RangeError::New(env, std::string(fn) + ": matrix length " + std::to_string(out->matrix.ElementLength()) +
                                   " is not a multiple of the query's dimension " + std::to_string(out->dim))
        .ThrowAsJavaScriptException();
    return false;
  }
  out->rows = out->matrix.ElementLength() / out->dim;
  size_t next = 2;
  if (with_k) {
    const Napi::Value kv = info[2];
    const double k = kv.IsNumber() ? kv.As<Napi::Number>().DoubleValue() : NAN;
    if (!(k >= 1) || k != std::floor(k)) {
      Napi::RangeError::New(env, std::string(fn) + ": k must be a positive integer, got " + kv.ToString().Utf8Value())
          .ThrowAsJavaScriptException();
      return false;
    }
    out->k = k > 4294967295.0 ? 4294967295u : static_cast<size_t>(k);
    next = 3;
  }
  return ReadMetric(env, info[next], fn, &out->metric);
}

// scoreAll(query, matrix, metric?) → Float32Array(rows)
Napi::Value JsScoreAll(const Napi::CallbackInfo& info) {
  MatrixArgs a;
  if (!ReadMatrixArgs(info, "scoreAll", false, &a)) return Napi::Value();
  Napi::Float32Array out = Napi::Float32Array::New(info.Env(), a.rows);
  ScoreAll(a.query.Data(), a.matrix.Data(), a.rows, a.dim, a.metric, out.Data());
  return out;
}

// topK(query, matrix, k, metric?) → {indices, scores}, on the calling thread (small inputs).
Napi::Value JsTopK(const Napi::CallbackInfo& info) {
  MatrixArgs a;
  if (!ReadMatrixArgs(info, "topK", true, &a)) return Napi::Value();
  return TopKResultToJs(info.Env(), TopK(a.query.Data(), a.matrix.Data(), a.rows, a.dim, a.k, a.metric));
}

// topKAsync(query, matrix, k, metric?) → Promise<{indices, scores}>, off the event loop and multi-threaded.
Napi::Value JsTopKAsync(const Napi::CallbackInfo& info) {
  MatrixArgs a;
  if (!ReadMatrixArgs(info, "topKAsync", true, &a)) return Napi::Value();
  // Threads: what the caller says it may use (a cgroup CPU quota is invisible to hardware_concurrency()), else
  // every hardware thread.
  int threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  if (info.Length() > 4 && !info[4].IsUndefined()) {
    const double t = info[4].IsNumber() ? info[4].As<Napi::Number>().DoubleValue() : 0;
    if (!(t >= 1 && t <= 1024 && t == static_cast<double>(static_cast<int>(t)))) {
      Napi::RangeError::New(info.Env(), "topKAsync: threads must be an integer from 1 to 1024").ThrowAsJavaScriptException();
      return Napi::Value();
    }
    threads = static_cast<int>(t);
  }
  auto* worker = new TopKWorker(info.Env(), a.query, a.matrix, a.dim, a.k, a.metric, threads);
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}


// ---- compact vectors (vector_quant.h) ----------------------------------------------------------------------------

// A typed array's bytes, the view's type, and whether they live on a SharedArrayBuffer.
struct ViewInfo {
  napi_typedarray_type type = napi_uint8_array;
  size_t length = 0;
  uint8_t* data = nullptr;
  bool shared = false;
};

bool ReadView(const Napi::Value& v, ViewInfo* out) {
  if (!v.IsTypedArray()) return false;
  napi_value buffer;
  size_t offset = 0;
  void* data = nullptr;
  bool is_array_buffer = true;
  if (napi_get_typedarray_info(v.Env(), v, &out->type, &out->length, &data, &buffer, &offset) != napi_ok ||
      napi_is_arraybuffer(v.Env(), buffer, &is_array_buffer) != napi_ok) {
    return false;
  }
  out->data = static_cast<uint8_t*>(data);
  out->shared = !is_array_buffer;  // a typed array's buffer is an ArrayBuffer or a SharedArrayBuffer
  return true;
}

// Returns false (with a TypeError pending) unless `v` is a typed array of `type`.
bool RequireView(Napi::Env env, const Napi::Value& v, napi_typedarray_type type, const char* fn, const std::string& name,
                 const char* type_name, ViewInfo* out) {
  if (ReadView(v, out) && out->type == type) return true;
  Napi::TypeError::New(env, std::string(fn) + ": " + name + " must be " + type_name).ThrowAsJavaScriptException();
  return false;
}

bool ReadDim(Napi::Env env, const Napi::Value& v, const char* fn, size_t* dim) {
  const double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : NAN;
  if (!(d >= 1 && d <= 65535) || d != std::floor(d)) {
    Napi::RangeError::New(env, std::string(fn) + ": dim must be an integer from 1 to 65535").ThrowAsJavaScriptException();
    return false;
  }
  *dim = static_cast<size_t>(d);
  return true;
}

// A row number or count: an integer from 0 to 2^32 − 1 (rows are numbered in 32 bits).
bool ReadIndex(Napi::Env env, const Napi::Value& v, const char* fn, const char* name, size_t* out) {
  const double n = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : NAN;
  if (!(n >= 0 && n <= 4294967295.0) || n != std::floor(n)) {
    Napi::RangeError::New(env, std::string(fn) + ": " + name + " must be an integer from 0 to 2^32 - 1, got " +
                                   v.ToString().Utf8Value())
        .ThrowAsJavaScriptException();
    return false;
  }
  *out = static_cast<size_t>(n);
  return true;
}

bool RangeFail(Napi::Env env, const std::string& msg) {
  Napi::RangeError::New(env, msg).ThrowAsJavaScriptException();
  return false;
}

// quantizeInt8(vectors: Float32Array, dim, codes: Int8Array, scales: Float32Array): fills codes and scales.
Napi::Value JsQuantizeInt8(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* fn = "quantizeInt8";
  ViewInfo src, codes, scales;
  size_t dim = 0;
  if (!RequireView(env, info[0], napi_float32_array, fn, "vectors", "a Float32Array", &src) ||
      !ReadDim(env, info[1], fn, &dim) || !RequireView(env, info[2], napi_int8_array, fn, "codes", "an Int8Array", &codes) ||
      !RequireView(env, info[3], napi_float32_array, fn, "scales", "a Float32Array", &scales)) {
    return Napi::Value();
  }
  const size_t rows = src.length / dim;
  if (src.length % dim != 0 || codes.length != src.length || scales.length != rows) {
    FE_THROW_RANGE(env, "quantizeInt8: vectors must be rows × dim, codes as long as vectors, scales one per row");
  }
  const float* x = reinterpret_cast<const float*>(src.data);
  float* s = reinterpret_cast<float*>(scales.data);
  for (size_t r = 0; r < rows; ++r) s[r] = QuantizeInt8(x + r * dim, dim, reinterpret_cast<int8_t*>(codes.data) + r * dim);
  return env.Undefined();
}

// Checks that `blocks` is whole groups of sign-bit rows with room for rows first … first + rows − 1.
bool CheckSignBlocks(Napi::Env env, const char* fn, const ViewInfo& blocks, size_t dim, size_t first, size_t rows) {
  const size_t group = kSignGroup * SignWords(dim) * 8;
  if (blocks.length % group != 0 || blocks.length < SignBlockBytes(first + rows, dim)) {
    return RangeFail(env, std::string(fn) + ": bits must be whole groups of " + std::to_string(group) +
                              " bytes (32 rows) with room for rows " + std::to_string(first) + " to " +
                              std::to_string(first + rows) + ", got " + std::to_string(blocks.length) + " bytes");
  }
  return true;
}

// The sign-bit writers' arguments: (rows as a typed array of `type`, dim, bits: Uint8Array, firstRow).
bool ReadSignWrite(const Napi::CallbackInfo& info, const char* fn, napi_typedarray_type type, const char* name,
                   const char* type_name, ViewInfo* src, size_t* dim, ViewInfo* bits, size_t* first) {
  Napi::Env env = info.Env();
  return RequireView(env, info[0], type, fn, name, type_name, src) && ReadDim(env, info[1], fn, dim) &&
         RequireView(env, info[2], napi_uint8_array, fn, "bits", "a Uint8Array", bits) &&
         ReadIndex(env, info[3], fn, "firstRow", first);
}

// packSigns(vectors: Float32Array, dim, bits: Uint8Array, firstRow): writes the rows' sign bits into `bits`, sign-bit
// blocks (vector_quant.h), from row firstRow on.
Napi::Value JsPackSigns(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* fn = "packSigns";
  ViewInfo src, bits;
  size_t dim = 0, first = 0;
  if (!ReadSignWrite(info, fn, napi_float32_array, "vectors", "a Float32Array", &src, &dim, &bits, &first)) return Napi::Value();
  if (src.length % dim != 0) FE_THROW_RANGE(env, "packSigns: vectors must be rows × dim");
  const size_t rows = src.length / dim;
  if (!CheckSignBlocks(env, fn, bits, dim, first, rows)) return Napi::Value();
  const size_t stride = SignWords(dim) * 8;
  std::vector<uint8_t> row(stride);
  const float* x = reinterpret_cast<const float*>(src.data);
  for (size_t r = 0; r < rows; ++r) {
    PackSigns(x + r * dim, dim, row.data());
    StoreSignRow(row.data(), stride, bits.data, first + r);
  }
  return env.Undefined();
}

// storeSigns(rowBits: Uint8Array, dim, bits: Uint8Array, firstRow): rows packed by the caller (ceil(dim / 64) × 8 bytes
// each, row after row) into sign-bit blocks, from row firstRow on.
Napi::Value JsStoreSigns(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* fn = "storeSigns";
  ViewInfo src, bits;
  size_t dim = 0, first = 0;
  if (!ReadSignWrite(info, fn, napi_uint8_array, "rowBits", "a Uint8Array", &src, &dim, &bits, &first)) return Napi::Value();
  const size_t stride = SignWords(dim) * 8;
  if (src.length % stride != 0) FE_THROW_RANGE(env, "storeSigns: rowBits must hold " + std::to_string(stride) + " bytes per row");
  const size_t rows = src.length / stride;
  if (!CheckSignBlocks(env, fn, bits, dim, first, rows)) return Napi::Value();
  for (size_t r = 0; r < rows; ++r) StoreSignRow(src.data + r * stride, stride, bits.data, first + r);
  return env.Undefined();
}

// The arrays of a compact index ({dim, codes + scales | bits, floats?}) and the query, checked against each other.
struct CompactArgs {
  ViewInfo query, codes, scales, bits, floats;
  Napi::Value query_value;
  Napi::Object index;
  CompactMatrix matrix;
};

bool ReadCompactArgs(const Napi::CallbackInfo& info, const char* fn, CompactArgs* a) {
  Napi::Env env = info.Env();
  if (!RequireView(env, info[0], napi_float32_array, fn, "query", "a Float32Array", &a->query)) return false;
  a->query_value = info[0];
  if (!info[1].IsObject()) {
    Napi::TypeError::New(env, std::string(fn) + ": index must be an object").ThrowAsJavaScriptException();
    return false;
  }
  a->index = info[1].As<Napi::Object>();
  CompactMatrix& m = a->matrix;
  if (!ReadDim(env, a->index.Get("dim"), fn, &m.dim)) return false;
  if (a->query.length != m.dim) {
    return RangeFail(env, std::string(fn) + ": query has " + std::to_string(a->query.length) + " values, the index " +
                              std::to_string(m.dim));
  }
  const Napi::Value codes = a->index.Get("codes");
  if (!codes.IsUndefined()) {
    if (!RequireView(env, codes, napi_int8_array, fn, "index.codes", "an Int8Array", &a->codes) ||
        !RequireView(env, a->index.Get("scales"), napi_float32_array, fn, "index.scales", "a Float32Array", &a->scales)) {
      return false;
    }
    m.rows = a->codes.length / m.dim;
    if (a->codes.length % m.dim != 0 || a->scales.length != m.rows) {
      return RangeFail(env, std::string(fn) + ": index.codes must be rows × dim and index.scales one per row");
    }
    m.codes = reinterpret_cast<const int8_t*>(a->codes.data);
    m.scales = reinterpret_cast<const float*>(a->scales.data);
  } else {
    if (!RequireView(env, a->index.Get("bits"), napi_uint8_array, fn, "index.bits", "a Uint8Array (or codes an Int8Array)",
                     &a->bits)) {
      return false;
    }
    if (!ReadIndex(env, a->index.Get("rows"), fn, "index.rows", &m.rows)) return false;
    if (a->bits.length != SignBlockBytes(m.rows, m.dim)) {
      return RangeFail(env, std::string(fn) + ": index.bits must be " + std::to_string(SignBlockBytes(m.rows, m.dim)) +
                                " bytes for index.rows " + std::to_string(m.rows) + " (whole groups of 32 rows), got " +
                                std::to_string(a->bits.length));
    }
    m.bits = a->bits.data;
  }
  const Napi::Value floats = a->index.Get("floats");
  if (!floats.IsUndefined() && !floats.IsNull()) {
    if (!RequireView(env, floats, napi_float32_array, fn, "index.floats", "a Float32Array", &a->floats)) return false;
    if (a->floats.length != m.rows * m.dim) {
      return RangeFail(env, std::string(fn) + ": index.floats must be rows × dim like the compact rows");
    }
    m.floats = reinterpret_cast<const float*>(a->floats.data);
  }
  return true;
}

bool ReadCount(Napi::Env env, const Napi::Value& v, const char* fn, const char* name, size_t* out) {
  const double n = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : NAN;
  if (!(n >= 1) || n != std::floor(n)) {
    Napi::RangeError::New(env, std::string(fn) + ": " + name + " must be a positive integer, got " + v.ToString().Utf8Value())
        .ThrowAsJavaScriptException();
    return false;
  }
  *out = n > 4294967295.0 ? 4294967295u : static_cast<size_t>(n);
  return true;
}

Napi::Object CompactResultToJs(Napi::Env env, const CompactResult& r) {
  Napi::Object out = TopKResultToJs(env, r.top);
  out.Set("exact", Napi::Boolean::New(env, r.exact));
  return out;
}

// compactScoreAll(query, index) → Float32Array(rows): the kernels' raw scores (int8 dot product or Hamming distance).
Napi::Value JsCompactScoreAll(const Napi::CallbackInfo& info) {
  CompactArgs a;
  if (!ReadCompactArgs(info, "compactScoreAll", &a)) return Napi::Value();
  Napi::Float32Array out = Napi::Float32Array::New(info.Env(), a.matrix.rows);
  CompactScoreAll(reinterpret_cast<const float*>(a.query.data), a.matrix, out.Data());
  return out;
}

// compactTopK(query, index, k, candidates) → {indices, scores, exact}, on the calling thread (small indexes).
Napi::Value JsCompactTopK(const Napi::CallbackInfo& info) {
  CompactArgs a;
  size_t k = 0, candidates = 0;
  if (!ReadCompactArgs(info, "compactTopK", &a) || !ReadCount(info.Env(), info[2], "compactTopK", "k", &k) ||
      !ReadCount(info.Env(), info[3], "compactTopK", "candidates", &candidates)) {
    return Napi::Value();
  }
  return CompactResultToJs(info.Env(), CompactTopK(reinterpret_cast<const float*>(a.query.data), a.matrix, k, candidates, 1));
}

// One array the worker reads: in place when it is on a SharedArrayBuffer (it can't be detached or shrunk; the
// reference keeps it alive), else a copy made on the JS thread (JS could transfer an ArrayBuffer away mid-search).
class PinnedArray {
 public:
  const uint8_t* Pin(const ViewInfo& v, const Napi::Value& value, size_t bytes) {
    if (v.data == nullptr) return nullptr;
    if (v.shared) {
      ref_ = Napi::Persistent(value);
      return v.data;
    }
    copy_.assign(v.data, v.data + bytes);
    return copy_.data();
  }

 private:
  Napi::Reference<Napi::Value> ref_;
  std::vector<uint8_t> copy_;
};

class CompactTopKWorker : public PromiseWorker {
 public:
  CompactTopKWorker(Napi::Env env, CompactArgs& a, size_t k, size_t candidates, int threads)
      : PromiseWorker(env), query_(reinterpret_cast<const float*>(a.query.data), reinterpret_cast<const float*>(a.query.data) + a.query.length),
        m_(a.matrix), k_(k), candidates_(candidates), threads_(threads) {
    const size_t rows = m_.rows, dim = m_.dim;
    m_.codes = reinterpret_cast<const int8_t*>(codes_.Pin(a.codes, a.index.Get("codes"), rows * dim));
    m_.scales = reinterpret_cast<const float*>(scales_.Pin(a.scales, a.index.Get("scales"), rows * 4));
    m_.bits = bits_.Pin(a.bits, a.index.Get("bits"), SignBlockBytes(rows, dim));
    m_.floats = reinterpret_cast<const float*>(floats_.Pin(a.floats, a.index.Get("floats"), rows * dim * 4));
  }

 protected:
  void Work() override { result_ = CompactTopK(query_.data(), m_, k_, candidates_, threads_); }
  void OnOK() override { Resolve(CompactResultToJs(Env(), result_)); }

 private:
  std::vector<float> query_;
  PinnedArray codes_, scales_, bits_, floats_;
  CompactMatrix m_;
  size_t k_, candidates_;
  int threads_;
  CompactResult result_;
};

// compactTopKAsync(query, index, k, candidates, threads) → Promise<{indices, scores, exact}>, off the event loop.
Napi::Value JsCompactTopKAsync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* fn = "compactTopKAsync";
  CompactArgs a;
  size_t k = 0, candidates = 0, threads = 0;
  if (!ReadCompactArgs(info, fn, &a) || !ReadCount(env, info[2], fn, "k", &k) ||
      !ReadCount(env, info[3], fn, "candidates", &candidates) || !ReadCount(env, info[4], fn, "threads", &threads)) {
    return Napi::Value();
  }
  if (threads > 1024) FE_THROW_RANGE(env, "compactTopKAsync: threads must be an integer from 1 to 1024");
  auto* worker = new CompactTopKWorker(env, a, k, candidates, static_cast<int>(threads));
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

}  // namespace

void RegisterVectorMath(Napi::Env env, Napi::Object exports) {
  exports.Set("dot", Napi::Function::New<JsDot>(env, "dot"));
  exports.Set("cosine", Napi::Function::New<JsCosine>(env, "cosine"));
  exports.Set("normalize", Napi::Function::New<JsNormalize>(env, "normalize"));
  exports.Set("scoreAll", Napi::Function::New<JsScoreAll>(env, "scoreAll"));
  exports.Set("topK", Napi::Function::New<JsTopK>(env, "topK"));
  exports.Set("topKAsync", Napi::Function::New<JsTopKAsync>(env, "topKAsync"));
  exports.Set("simdLevel", Napi::String::New(env, SimdLevel()));
  exports.Set("quantizeInt8", Napi::Function::New<JsQuantizeInt8>(env, "quantizeInt8"));
  exports.Set("packSigns", Napi::Function::New<JsPackSigns>(env, "packSigns"));
  exports.Set("storeSigns", Napi::Function::New<JsStoreSigns>(env, "storeSigns"));
  exports.Set("compactScoreAll", Napi::Function::New<JsCompactScoreAll>(env, "compactScoreAll"));
  exports.Set("compactTopK", Napi::Function::New<JsCompactTopK>(env, "compactTopK"));
  exports.Set("compactTopKAsync", Napi::Function::New<JsCompactTopKAsync>(env, "compactTopKAsync"));
  exports.Set("compactSimdLevel", Napi::String::New(env, CompactSimdLevel()));
}

}  // namespace fastembed
