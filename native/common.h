// Argument checks and error helpers shared by the bindings. Argument errors are TypeError/RangeError naming the
// argument, thrown before any native work starts.
#pragma once

#include <napi.h>

#include <stdexcept>
#include <string>

#define FE_THROW_TYPE(env, msg)                                  \
  do {                                                           \
    Napi::TypeError::New((env), (msg)).ThrowAsJavaScriptException(); \
    return Napi::Value();                                        \
  } while (0)

#define FE_THROW_RANGE(env, msg)                                  \
  do {                                                            \
    Napi::RangeError::New((env), (msg)).ThrowAsJavaScriptException(); \
    return Napi::Value();                                         \
  } while (0)

namespace fastembed {

// An error from ONNX Runtime, carrying ORT's status code name so JS can branch on err.code.
class OrtFailure : public std::runtime_error {
 public:
  OrtFailure(const std::string& message, std::string code) : std::runtime_error(message), code_(std::move(code)) {}
  const std::string& code() const { return code_; }

 private:
  std::string code_;
};

// Builds a JS Error whose `code` is the ORT status name (ERR_ORT_<NAME>) or a library code.
inline Napi::Error MakeError(Napi::Env env, const std::string& message, const std::string& code) {
  Napi::Error err = Napi::Error::New(env, message);
  if (!code.empty()) err.Set("code", Napi::String::New(env, code));
  return err;
}

}  // namespace fastembed
