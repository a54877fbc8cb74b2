// Loading libonnxruntime at run time (dlopen) and the process-wide Ort::Env.
#pragma once

#define ORT_API_MANUAL_INIT
#include <onnxruntime_cxx_api.h>

#include <mutex>
#include <string>
#include <vector>

namespace fastembed {

// The ONNX Runtime shared library, loaded once per process. The first successful load wins: a process cannot hold
// two ORT builds, so a later request for a different path is an error that says which one is loaded.
class OrtRuntime {
 public:
  // Tries `candidates` in order, then returns the loaded runtime. Throws std::runtime_error naming every path tried.
  static OrtRuntime& Load(const std::vector<std::string>& candidates);
  // The loaded runtime; throws if Load has not succeeded yet.
  static OrtRuntime& Get();
  static bool IsLoaded();

  const std::string& path() const { return path_; }
  const std::string& version() const { return version_; }
  Ort::Env& env() { return *env_; }

 private:
  OrtRuntime(std::string path, std::string version);

  std::string path_;
  std::string version_;
  // Intentionally never destroyed: sessions may be finalised by GC after module cleanup, and tearing down ORT's
  // env at process exit races its own static destructors.
  Ort::Env* env_;
};

// Runs an ORT C++ API call and turns Ort::Exception into OrtFailure with an ERR_ORT_* code.
[[noreturn]] void RethrowOrt(const Ort::Exception& e, const std::string& context);

}  // namespace fastembed
