// JSON text for float vectors, written natively: the HTTP routes' float-array responses.
#pragma once

#include <napi.h>

namespace fastembed {

void RegisterFloatJson(Napi::Env env, Napi::Object exports);

}  // namespace fastembed
