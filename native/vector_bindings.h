// JS bindings of the SIMD vector math (dot, cosine, normalize, scoreAll, topK, topKAsync).
#pragma once

#include <napi.h>

namespace fastembed {

void RegisterVectorMath(Napi::Env env, Napi::Object exports);

}  // namespace fastembed
