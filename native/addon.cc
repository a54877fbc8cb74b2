// Module init only: registers the classes and functions, per-environment data and nothing else.
#include <napi.h>

#include "addon_data.h"
#include "common.h"
#include "float_json.h"
#include "native_model.h"
#include "ort_api.h"
#include "vector_bindings.h"
#include "workers.h"

namespace fastembed {

namespace {

// loadRuntime(candidates: string[]) → {path, version}. The first path that loads wins for the whole process.
Napi::Value LoadRuntime(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsArray()) FE_THROW_TYPE(env, "loadRuntime: candidates must be an array of paths");
  Napi::Array list = info[0].As<Napi::Array>();
  std::vector<std::string> candidates;
  for (uint32_t i = 0; i < list.Length(); ++i) {
    if (!list.Get(i).IsString()) FE_THROW_TYPE(env, "loadRuntime: candidates[" + std::to_string(i) + "] must be a string");
    candidates.push_back(list.Get(i).As<Napi::String>().Utf8Value());
  }
  try {
    OrtRuntime& rt = OrtRuntime::Load(candidates);
    Napi::Object out = Napi::Object::New(env);
    out.Set("path", Napi::String::New(env, rt.path()));
    out.Set("version", Napi::String::New(env, rt.version()));
    return out;
  } catch (const OrtFailure& e) {
    MakeError(env, e.what(), e.code()).ThrowAsJavaScriptException();
    return Napi::Value();
  }
}

// trimMemory() → Promise<boolean>: free malloc arena memory back to the OS (see TrimWorker).
Napi::Value TrimMemory(const Napi::CallbackInfo& info) {
  auto* worker = new TrimWorker(info.Env());
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

}  // namespace

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  auto* data = new AddonData();
  env.SetInstanceData<AddonData>(data);  // deleted by N-API when this environment is torn down
  data->native_model_ctor = Napi::Persistent(NativeModel::Define(env));
  exports.Set("loadRuntime", Napi::Function::New<LoadRuntime>(env, "loadRuntime"));
  exports.Set("createModel", Napi::Function::New<NativeModel::Create>(env, "createModel"));
  exports.Set("apiVersion", Napi::Number::New(env, ORT_API_VERSION));
  exports.Set("trimMemory", Napi::Function::New<TrimMemory>(env, "trimMemory"));
  RegisterVectorMath(env, exports);
  RegisterFloatJson(env, exports);
  return exports;
}

}  // namespace fastembed

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) { return fastembed::Init(env, exports); }

NODE_API_MODULE(fastembed_native, InitModule)
