#include "batch_runner.h"

#include <algorithm>
#include <array>
#include <cstring>

#include "common.h"
#include "vector_math.h"

namespace fastembed {

namespace {

// Wraps (or, for int32 models, converts) an id buffer as an input tensor.
Ort::Value MakeIdTensor(const Ort::MemoryInfo& mem, const std::vector<int64_t>& values,
                        std::vector<int32_t>& scratch32, ONNXTensorElementDataType type,
                        const std::array<int64_t, 2>& shape) {
  if (type == ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32) {
    scratch32.assign(values.begin(), values.end());
    return Ort::Value::CreateTensor<int32_t>(mem, scratch32.data(), scratch32.size(), shape.data(), shape.size());
  }
  // ORT only reads inputs; the const_cast is the C API's signature, not a write.
  return Ort::Value::CreateTensor<int64_t>(mem, const_cast<int64_t*>(values.data()), values.size(), shape.data(),
                                           shape.size());
}

}  // namespace

BatchOutput BatchRunner::Run(SessionPool& pool, const BatchInput& in, RunCancel* cancel) const {
  const ModelSignature& sig = pool.signature();
  const std::array<int64_t, 2> shape{in.rows, in.seq_len};
  Ort::MemoryInfo mem = Ort::MemoryInfo::CreateCpu(OrtArenaAllocator, OrtMemTypeDefault);

  std::vector<int64_t> zero_types;
  std::array<std::vector<int32_t>, 3> scratch32;
  std::vector<Ort::Value> values;
  std::vector<const char*> names;
  values.push_back(MakeIdTensor(mem, in.input_ids, scratch32[0], sig.id_type, shape));
  names.push_back(sig.input_ids_name.c_str());
  if (!sig.attention_mask_name.empty()) {
    values.push_back(MakeIdTensor(mem, in.attention_mask, scratch32[1], sig.id_type, shape));
    names.push_back(sig.attention_mask_name.c_str());
  }
  if (!sig.token_type_ids_name.empty()) {
    const std::vector<int64_t>* types = &in.token_type_ids;
    if (types->empty()) {
      zero_types.assign(in.input_ids.size(), 0);
      types = &zero_types;
    }
    values.push_back(MakeIdTensor(mem, *types, scratch32[2], sig.id_type, shape));
    names.push_back(sig.token_type_ids_name.c_str());
  }
  const char* output_name = sig.output_name.c_str();

  std::vector<Ort::Value> outputs;
  {
    SessionPool::Lease lease = pool.Acquire();
    if (cancel != nullptr && cancel->cancelled) throw OrtFailure("The batch was cancelled before it ran", "ERR_CANCELLED");
    const Ort::RunOptions no_options{nullptr};
    try {
      outputs = lease.session().Run(cancel != nullptr ? cancel->options : no_options, names.data(), values.data(),
                                    values.size(), &output_name, 1);
    } catch (const Ort::Exception& e) {
      if (cancel != nullptr && cancel->cancelled) throw OrtFailure("The batch was cancelled while it ran", "ERR_CANCELLED");
      RethrowOrt(e, "ONNX Runtime failed to run the batch");
    }
  }

  auto info = outputs[0].GetTensorTypeAndShapeInfo();
  const std::vector<int64_t> out_shape = info.GetShape();
  const float* hidden = outputs[0].GetTensorData<float>();
  BatchOutput out;
  out.rows = in.rows;
  out.dim = out_shape.back();
  out.data.assign(static_cast<size_t>(out.rows * out.dim), 0.0f);

  if (sig.output_rank == 2 || pooling_ == Pooling::kNone) {
    // Already pooled by the model ([batch, dim]); with kNone on a 3-D output, the first token is taken.
    const int64_t stride = sig.output_rank == 2 ? out.dim : out_shape[1] * out.dim;
    for (int64_t r = 0; r < out.rows; ++r) {
      std::memcpy(&out.data[r * out.dim], hidden + r * stride, sizeof(float) * out.dim);
    }
  } else {
    const int64_t seq = out_shape[1];
    for (int64_t r = 0; r < out.rows; ++r) {
      float* dst = &out.data[r * out.dim];
      const float* tokens = hidden + r * seq * out.dim;
      if (pooling_ == Pooling::kCls) {
        std::memcpy(dst, tokens, sizeof(float) * out.dim);
        continue;
      }
      // Mean over the tokens the attention mask keeps (padding excluded).
      const int64_t* mask = &in.attention_mask[r * in.seq_len];
      float count = 0.0f;
      for (int64_t t = 0; t < seq; ++t) {
        if (mask[t] == 0) continue;
        AddInto(dst, tokens + t * out.dim, out.dim);
        count += 1.0f;
      }
      const float inv = 1.0f / std::max(count, 1e-9f);
      for (int64_t d = 0; d < out.dim; ++d) dst[d] *= inv;
    }
  }
  if (normalize_) {
    for (int64_t r = 0; r < out.rows; ++r) Normalize(&out.data[r * out.dim], out.dim);
  }
  return out;
}

}  // namespace fastembed
