// BatchRunner: one padded batch → ORT Run → pooling → L2 normalisation, into one contiguous float buffer.
#pragma once

#include <atomic>
#include <cstdint>
#include <vector>

#include "session_pool.h"

namespace fastembed {

// A batch already converted from JS typed arrays (owned copies: JS may reuse its buffers while we run).
struct BatchInput {
  std::vector<int64_t> input_ids;       // rows * seq_len
  std::vector<int64_t> attention_mask;  // rows * seq_len
  std::vector<int64_t> token_type_ids;  // rows * seq_len, or empty (zeros are fed if the model wants them)
  int64_t rows = 0;
  int64_t seq_len = 0;
};

struct BatchOutput {
  std::vector<float> data;  // rows * dim
  int64_t rows = 0;
  int64_t dim = 0;
};

// Lets JS stop a batch: before it runs (it is skipped) or while ORT runs it (RunOptions::SetTerminate, which ORT
// allows from another thread). Shared by the JS handle and the worker, so either may outlive the other.
struct RunCancel {
  Ort::RunOptions options;
  std::atomic<bool> cancelled{false};
  void Cancel() {
    cancelled = true;
    options.SetTerminate();
  }
};

class BatchRunner {
 public:
  BatchRunner(Pooling pooling, bool normalize) : pooling_(pooling), normalize_(normalize) {}
  // Throws OrtFailure with code ERR_CANCELLED when `cancel` stops it.
  BatchOutput Run(SessionPool& pool, const BatchInput& input, RunCancel* cancel = nullptr) const;

 private:
  Pooling pooling_;
  bool normalize_;
};

}  // namespace fastembed
