#include "native_model.h"

#include "addon_data.h"
#include "common.h"
#include "workers.h"

namespace fastembed {

namespace {

// Copies an id tensor (Int32Array, Uint32Array or BigInt64Array) into int64 storage owned by the job.
bool ReadIds(Napi::Env env, const Napi::Value& value, const char* name, size_t expected, std::vector<int64_t>& out) {
  if (!value.IsTypedArray()) {
    Napi::TypeError::New(env, std::string(name) + " must be an Int32Array, Uint32Array or BigInt64Array")
        .ThrowAsJavaScriptException();
    return false;
  }
  Napi::TypedArray array = value.As<Napi::TypedArray>();
  if (array.ElementLength() != expected) {
    Napi::RangeError::New(env, std::string(name) + " has " + std::to_string(array.ElementLength()) +
                                   " elements but shape [rows, seqLen] needs " + std::to_string(expected))
        .ThrowAsJavaScriptException();
    return false;
  }
  out.resize(expected);
  switch (array.TypedArrayType()) {
    case napi_int32_array: {
      Napi::Int32Array a = array.As<Napi::Int32Array>();
      for (size_t i = 0; i < expected; ++i) out[i] = a[i];
      return true;
    }
    case napi_uint32_array: {
      Napi::Uint32Array a = array.As<Napi::Uint32Array>();
      for (size_t i = 0; i < expected; ++i) out[i] = a[i];
      return true;
    }
    case napi_bigint64_array: {
      Napi::BigInt64Array a = array.As<Napi::BigInt64Array>();
      for (size_t i = 0; i < expected; ++i) out[i] = a[i];
      return true;
    }
    default:
      Napi::TypeError::New(env, std::string(name) + " must be an Int32Array, Uint32Array or BigInt64Array")
          .ThrowAsJavaScriptException();
      return false;
  }
}

int64_t ReadPositiveInt(Napi::Env env, const Napi::Value& v, const std::string& name, bool* ok) {
  *ok = false;
  if (!v.IsNumber()) {
    Napi::TypeError::New(env, name + " must be a number").ThrowAsJavaScriptException();
    return 0;
  }
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= 1) || d != static_cast<double>(static_cast<int64_t>(d)) || d > 1e9) {
    Napi::RangeError::New(env, name + " must be a positive integer, got " + v.ToString().Utf8Value())
        .ThrowAsJavaScriptException();
    return 0;
  }
  *ok = true;
  return static_cast<int64_t>(d);
}

}  // namespace

Napi::Function NativeModel::Define(Napi::Env env) {
  return DefineClass(env, "NativeModel",
                     {InstanceMethod<&NativeModel::Run>("run"), InstanceMethod<&NativeModel::Close>("close"),
                      InstanceMethod<&NativeModel::Info>("info"),
                      InstanceMethod<&NativeModel::CancelToken>("cancelToken"),
                      InstanceMethod<&NativeModel::Cancel>("cancel")});
}

NativeModel::NativeModel(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NativeModel>(info) {
  if (info.Length() < 2 || !info[0].IsExternal() || !info[1].IsObject()) {
    Napi::TypeError::New(info.Env(), "NativeModel cannot be constructed directly; use createModel()")
        .ThrowAsJavaScriptException();
    return;
  }
  pool_ = *info[0].As<Napi::External<std::shared_ptr<SessionPool>>>().Data();
  Napi::Object options = info[1].As<Napi::Object>();
  runner_ = BatchRunner(static_cast<Pooling>(options.Get("pooling").As<Napi::Number>().Int32Value()),
                        options.Get("normalize").As<Napi::Boolean>().Value());
}

Napi::Value NativeModel::Create(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) FE_THROW_TYPE(env, "createModel: modelPath must be a string");
  ModelLoadRequest req;
  req.model_path = info[0].As<Napi::String>().Utf8Value();
  if (info.Length() > 1 && info[1].IsObject()) {
    Napi::Object o = info[1].As<Napi::Object>();
    if (o.Has("poolSize")) req.pool.pool_size = o.Get("poolSize").ToNumber().Int32Value();
    if (o.Has("intraOpThreads")) req.pool.intra_op_threads = o.Get("intraOpThreads").ToNumber().Int32Value();
    if (o.Has("optimizedModelPath") && o.Get("optimizedModelPath").IsString()) {
      req.pool.optimized_model_path = o.Get("optimizedModelPath").As<Napi::String>().Utf8Value();
    }
    if (o.Has("allowSpinning")) req.pool.allow_spinning = o.Get("allowSpinning").ToBoolean().Value();
    if (o.Has("prepackWeights")) req.pool.prepack = o.Get("prepackWeights").ToBoolean().Value();
    if (o.Has("threadNice")) req.pool.thread_nice = o.Get("threadNice").ToNumber().Int32Value();
    if (o.Has("normalize")) req.normalize = o.Get("normalize").ToBoolean().Value();
    if (o.Has("pooling")) {
      const std::string p = o.Get("pooling").ToString().Utf8Value();
      if (p == "mean") req.pooling = Pooling::kMean;
      else if (p == "cls") req.pooling = Pooling::kCls;
      else if (p == "none") req.pooling = Pooling::kNone;
      else FE_THROW_RANGE(env, "createModel: pooling must be 'mean', 'cls' or 'none', got '" + p + "'");
    }
  }
  if (req.pool.pool_size < 1 || req.pool.pool_size > 64) FE_THROW_RANGE(env, "createModel: poolSize must be 1..64");
  if (req.pool.thread_nice < 0 || req.pool.thread_nice > 19) FE_THROW_RANGE(env, "createModel: threadNice must be 0..19");
  if (req.pool.intra_op_threads < 0 || req.pool.intra_op_threads > 256) {
    FE_THROW_RANGE(env, "createModel: intraOpThreads must be 0 (auto) .. 256");
  }
  try {
    OrtRuntime::Get();
  } catch (const OrtFailure& e) {
    MakeError(env, e.what(), e.code()).ThrowAsJavaScriptException();
    return Napi::Value();
  }
  auto* worker = new LoadWorker(env, std::move(req), &env.GetInstanceData<AddonData>()->native_model_ctor);
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

// run(inputIds, attentionMask, tokenTypeIds | null, [rows, seqLen]) → Promise<Float32Array(rows * dim)>
Napi::Value NativeModel::Run(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 4 || !info[3].IsArray() || info[3].As<Napi::Array>().Length() != 2) {
    FE_THROW_TYPE(env, "run(inputIds, attentionMask, tokenTypeIds | null, [rows, seqLen]): shape must be [rows, seqLen]");
  }
  Napi::Array shape = info[3].As<Napi::Array>();
  bool ok = false;
  BatchInput input;
  input.rows = ReadPositiveInt(env, shape.Get(0u), "shape[0] (rows)", &ok);
  if (!ok) return Napi::Value();
  input.seq_len = ReadPositiveInt(env, shape.Get(1u), "shape[1] (seqLen)", &ok);
  if (!ok) return Napi::Value();
  const size_t count = static_cast<size_t>(input.rows * input.seq_len);
  if (!ReadIds(env, info[0], "inputIds", count, input.input_ids)) return Napi::Value();
  if (!ReadIds(env, info[1], "attentionMask", count, input.attention_mask)) return Napi::Value();
  if (!info[2].IsNull() && !info[2].IsUndefined()) {
    if (!ReadIds(env, info[2], "tokenTypeIds", count, input.token_type_ids)) return Napi::Value();
  }
  for (int64_t r = 0; r < input.rows; ++r) {
    int64_t kept = 0;
    for (int64_t t = 0; t < input.seq_len; ++t) kept += input.attention_mask[r * input.seq_len + t] != 0;
    if (kept == 0) FE_THROW_RANGE(env, "attentionMask row " + std::to_string(r) + " is all zeros: every row needs at least one token");
  }
  std::shared_ptr<RunCancel> cancel;
  if (info.Length() > 4 && !info[4].IsUndefined() && !info[4].IsNull()) {
    cancel = TokenOf(info[4]);
    if (!cancel) FE_THROW_TYPE(env, "run: the fifth argument must be a token from cancelToken()");
  }
  try {
    auto* worker = new EmbedWorker(env, pool_, runner_, std::move(input), std::move(cancel));
    Napi::Promise promise = worker->Promise();
    worker->Queue();
    return promise;
  } catch (const OrtFailure& e) {
    MakeError(env, e.what(), e.code()).ThrowAsJavaScriptException();
    return Napi::Value();
  }
}

Napi::Value NativeModel::Close(const Napi::CallbackInfo& info) {
  auto* worker = new CloseWorker(info.Env(), pool_);
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

Napi::Value NativeModel::Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const ModelSignature& sig = pool_->signature();
  Napi::Object out = Napi::Object::New(env);
  out.Set("dim", Napi::Number::New(env, static_cast<double>(sig.dim)));
  Napi::Array inputs = Napi::Array::New(env);
  uint32_t n = 0;
  for (const std::string* name : {&sig.input_ids_name, &sig.attention_mask_name, &sig.token_type_ids_name}) {
    if (!name->empty()) inputs.Set(n++, Napi::String::New(env, *name));
  }
  out.Set("inputNames", inputs);
  out.Set("outputName", Napi::String::New(env, sig.output_name));
  out.Set("outputRank", Napi::Number::New(env, sig.output_rank));
  out.Set("poolSize", Napi::Number::New(env, static_cast<double>(pool_->size())));
  out.Set("intraOpThreads", Napi::Number::New(env, pool_->intra_op_threads()));
  out.Set("loadedFromCache", Napi::Boolean::New(env, pool_->loaded_from_cache()));
  out.Set("closed", Napi::Boolean::New(env, pool_->closed()));
  return out;
}

namespace {
// Type tag of cancel tokens: an External from anywhere else is refused, never reinterpreted.
constexpr napi_type_tag kRunCancelTag = {0x6a7b2c1d9e8f4a3bULL, 0x8c5d4e3f2a1b0c9dULL};
using CancelExternal = Napi::External<std::shared_ptr<RunCancel>>;
}  // namespace

std::shared_ptr<RunCancel> NativeModel::TokenOf(const Napi::Value& value) {
  if (!value.IsExternal() || !value.As<CancelExternal>().CheckTypeTag(&kRunCancelTag)) return nullptr;
  return *value.As<CancelExternal>().Data();
}

// cancelToken() → an opaque token for run(); cancel(token) stops the runs given it (before or while they run).
Napi::Value NativeModel::CancelToken(const Napi::CallbackInfo& info) {
  auto* holder = new std::shared_ptr<RunCancel>(std::make_shared<RunCancel>());
  CancelExternal token = CancelExternal::New(info.Env(), holder, [](Napi::Env, std::shared_ptr<RunCancel>* p) { delete p; });
  token.TypeTag(&kRunCancelTag);
  return token;
}

Napi::Value NativeModel::Cancel(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::shared_ptr<RunCancel> cancel = info.Length() > 0 ? TokenOf(info[0]) : nullptr;
  if (!cancel) FE_THROW_TYPE(env, "cancel(token): token must come from cancelToken()");
  cancel->Cancel();
  return env.Undefined();
}

}  // namespace fastembed
