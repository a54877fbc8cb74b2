// JS bindings of the SIMD vector math (dot, cosine, normalize, scoreAll, topK, topKAsync) and of the compact
// vectors (quantizeInt8, packSigns, compactScoreAll, compactTopK, compactTopKAsync).
#pragma once

#include <napi.h>

namespace fastembed {

void RegisterVectorMath(Napi::Env env, Napi::Object exports);

}  // namespace fastembed
