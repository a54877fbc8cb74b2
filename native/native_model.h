// NativeModel: the JS face of a SessionPool plus its pooling recipe. Created only through createModel().
#pragma once

#include <napi.h>

#include <memory>

#include "batch_runner.h"
#include "session_pool.h"

namespace fastembed {

class NativeModel : public Napi::ObjectWrap<NativeModel> {
 public:
  static Napi::Function Define(Napi::Env env);
  // createModel(modelPath, options) → Promise<NativeModel>; the session pool loads off the event loop.
  static Napi::Value Create(const Napi::CallbackInfo& info);

  explicit NativeModel(const Napi::CallbackInfo& info);

 private:
  Napi::Value Run(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  Napi::Value Info(const Napi::CallbackInfo& info);
  Napi::Value CancelToken(const Napi::CallbackInfo& info);
  Napi::Value Cancel(const Napi::CallbackInfo& info);
  static std::shared_ptr<RunCancel> TokenOf(const Napi::Value& value);

  std::shared_ptr<SessionPool> pool_;
  BatchRunner runner_{Pooling::kMean, true};
};

}  // namespace fastembed
