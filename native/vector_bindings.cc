#include "vector_bindings.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <thread>

#include "common.h"
#include "vector_math.h"
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

}  // namespace

void RegisterVectorMath(Napi::Env env, Napi::Object exports) {
  exports.Set("dot", Napi::Function::New<JsDot>(env, "dot"));
  exports.Set("cosine", Napi::Function::New<JsCosine>(env, "cosine"));
  exports.Set("normalize", Napi::Function::New<JsNormalize>(env, "normalize"));
  exports.Set("scoreAll", Napi::Function::New<JsScoreAll>(env, "scoreAll"));
  exports.Set("topK", Napi::Function::New<JsTopK>(env, "topK"));
  exports.Set("topKAsync", Napi::Function::New<JsTopKAsync>(env, "topKAsync"));
  exports.Set("simdLevel", Napi::String::New(env, SimdLevel()));
}

}  // namespace fastembed
