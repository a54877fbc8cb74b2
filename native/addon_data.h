// Per-environment state (worker_threads each get their own): no static Napi references.
#pragma once

#include <napi.h>

namespace fastembed {

struct AddonData {
  Napi::FunctionReference native_model_ctor;
};

}  // namespace fastembed
