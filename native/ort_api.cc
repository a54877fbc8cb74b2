#include "ort_api.h"

#include <dlfcn.h>

#include "common.h"

namespace fastembed {

namespace {
std::mutex g_mutex;
OrtRuntime* g_runtime = nullptr;

const char* ErrorCodeName(OrtErrorCode code) {
  switch (code) {
    case ORT_OK: return "OK";
    case ORT_FAIL: return "FAIL";
    case ORT_INVALID_ARGUMENT: return "INVALID_ARGUMENT";
    case ORT_NO_SUCHFILE: return "NO_SUCHFILE";
    case ORT_NO_MODEL: return "NO_MODEL";
    case ORT_ENGINE_ERROR: return "ENGINE_ERROR";
    case ORT_RUNTIME_EXCEPTION: return "RUNTIME_EXCEPTION";
    case ORT_INVALID_PROTOBUF: return "INVALID_PROTOBUF";
    case ORT_MODEL_LOADED: return "MODEL_LOADED";
    case ORT_NOT_IMPLEMENTED: return "NOT_IMPLEMENTED";
    case ORT_INVALID_GRAPH: return "INVALID_GRAPH";
    case ORT_EP_FAIL: return "EP_FAIL";
  }
  return "UNKNOWN";
}
}  // namespace

void RethrowOrt(const Ort::Exception& e, const std::string& context) {
  throw OrtFailure(context + ": " + e.what(), std::string("ERR_ORT_") + ErrorCodeName(e.GetOrtErrorCode()));
}

OrtRuntime::OrtRuntime(std::string path, std::string version)
    : path_(std::move(path)), version_(std::move(version)), env_(nullptr) {
  try {
    env_ = new Ort::Env(ORT_LOGGING_LEVEL_ERROR, "fastembed-native");
  } catch (const Ort::Exception& e) {
    RethrowOrt(e, "Creating the ONNX Runtime environment failed");
  }
}

OrtRuntime& OrtRuntime::Load(const std::vector<std::string>& candidates) {
  std::lock_guard<std::mutex> lock(g_mutex);
  if (g_runtime != nullptr) return *g_runtime;

  std::string tried;
  for (const std::string& path : candidates) {
    if (path.empty()) continue;
    // RTLD_LOCAL keeps ORT's symbols away from onnxruntime-node's copy if a user loads both.
    void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr) {
      const char* why = dlerror();
      tried += "\n  " + path + ": " + (why != nullptr ? why : "dlopen failed");
      continue;
    }
    using GetApiBaseFn = const OrtApiBase* (*)();
    auto get_api_base = reinterpret_cast<GetApiBaseFn>(dlsym(handle, "OrtGetApiBase"));
    if (get_api_base == nullptr) {
      tried += "\n  " + path + ": loaded, but it does not export OrtGetApiBase (not an ONNX Runtime library)";
      dlclose(handle);
      continue;
    }
    const OrtApiBase* base = get_api_base();
    const OrtApi* api = base->GetApi(ORT_API_VERSION);
    if (api == nullptr) {
      tried += "\n  " + path + ": ONNX Runtime " + base->GetVersionString() +
               " is older than the API version this addon needs (" + std::to_string(ORT_API_VERSION) +
               ", ONNX Runtime 1." + std::to_string(ORT_API_VERSION) + "+)";
      dlclose(handle);
      continue;
    }
    Ort::InitApi(api);
    // The handle stays open for the life of the process: ORT cannot be unloaded safely.
    g_runtime = new OrtRuntime(path, base->GetVersionString());
    return *g_runtime;
  }
  throw OrtFailure(
      "Could not load the ONNX Runtime library (libonnxruntime). Paths tried:" +
          (tried.empty() ? std::string("\n  (none)") : tried) +
          "\nFix: install onnxruntime-node (npm install onnxruntime-node --ignore-scripts), or point the "
          "onnxRuntimePath option or the ONNX_PATH environment variable at a libonnxruntime.so built for this "
          "platform (ONNX Runtime 1." + std::to_string(ORT_API_VERSION) + " or newer).",
      "ERR_ORT_LOAD");
}

OrtRuntime& OrtRuntime::Get() {
  std::lock_guard<std::mutex> lock(g_mutex);
  if (g_runtime == nullptr) {
    throw OrtFailure("ONNX Runtime is not loaded yet: call loadRuntime() first", "ERR_ORT_NOT_LOADED");
  }
  return *g_runtime;
}

bool OrtRuntime::IsLoaded() {
  std::lock_guard<std::mutex> lock(g_mutex);
  return g_runtime != nullptr;
}

}  // namespace fastembed
