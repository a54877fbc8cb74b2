{
  "targets": [
    {
      "target_name": "fastembed_native",
      "sources": [
        "native/addon.cc",
        "native/batch_runner.cc",
        "native/float_json.cc",
        "native/helper_threads.cc",
        "native/native_model.cc",
        "native/ort_api.cc",
        "native/session_pool.cc",
        "native/vector_bindings.cc",
        "native/vector_math.cc",
        "native/vector_quant.cc",
        "native/workers.cc"
      ],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "<!(bash scripts/ort-headers.sh)"
      ],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED"],
      "cflags!": ["-fno-exceptions", "-O2"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-O2"],
      "cflags_cc": ["-std=c++17", "-O3", "-Wall", "-Wextra", "-Wno-unused-parameter", "-fexceptions", "-fvisibility=hidden"],
      "libraries": ["-ldl", "-lpthread", "-Wl,-rpath,'$$ORIGIN'"]
    }
  ]
}
