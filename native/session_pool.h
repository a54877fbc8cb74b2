// SessionPool: N ONNX Runtime sessions of one model, handed out to concurrent jobs and returned.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "ort_api.h"

namespace fastembed {

enum class Pooling { kMean, kCls, kNone };

struct SessionPoolOptions {
  int pool_size = 1;
  int intra_op_threads = 0;          // 0: cores / pool_size
  std::string optimized_model_path;  // a folder for the optimised graph (model.onnx + model.data); "" = don't cache it
  bool allow_spinning = true;        // ORT worker threads spin between ops; off saves CPU for other work
  bool prepack = true;               // ORT's prepacked weights: faster; a private copy per session unless cached
  int thread_nice = 0;               // nice value of the threads that run inference (Linux); 0 leaves them be
};

// What the model expects and returns, read from the model itself (no hard-coded names).
struct ModelSignature {
  std::string input_ids_name;
  std::string attention_mask_name;
  std::string token_type_ids_name;  // "" when the model has no such input
  ONNXTensorElementDataType id_type = ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64;
  std::string output_name;
  int output_rank = 3;  // 3: token embeddings [batch, seq, dim]; 2: already pooled [batch, dim]
  int64_t dim = -1;     // -1 when the model leaves it dynamic
};

class SessionPool {
 public:
  // A checked-out session; returns itself to the pool when destroyed.
  class Lease {
   public:
    Lease(SessionPool* pool, size_t index) : pool_(pool), index_(index) {}
    Lease(Lease&& other) noexcept : pool_(other.pool_), index_(other.index_) { other.pool_ = nullptr; }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    ~Lease() {
      if (pool_ != nullptr) pool_->Release(index_);
    }
    Ort::Session& session() { return *pool_->sessions_[index_]; }

   private:
    SessionPool* pool_;
    size_t index_;
  };

  SessionPool(const std::string& model_path, const SessionPoolOptions& options);
  ~SessionPool();
  SessionPool(const SessionPool&) = delete;
  SessionPool& operator=(const SessionPool&) = delete;

  // Blocks until a session is free. Throws if the pool was closed.
  Lease Acquire();
  // Counts a job accepted on the JS thread, so Close() can wait for it even before it reaches Acquire().
  void BeginJob();
  void EndJob();
  // Refuses new jobs, waits for accepted ones to finish, then frees every session. Idempotent.
  void Close();
  bool closed() const;

  const ModelSignature& signature() const { return signature_; }
  size_t size() const { return sessions_.size(); }
  int intra_op_threads() const { return intra_op_threads_; }
  int thread_nice() const { return thread_nice_; }
  bool loaded_from_cache() const { return loaded_from_cache_; }

 private:
  void Release(size_t index);
  static ModelSignature ReadSignature(Ort::Session& session);

  std::vector<std::unique_ptr<Ort::Session>> sessions_;
  std::vector<size_t> free_;
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  int pending_jobs_ = 0;
  bool closed_ = false;
  int intra_op_threads_ = 1;
  int thread_nice_ = 0;
  bool loaded_from_cache_ = false;
  ModelSignature signature_;
};

}  // namespace fastembed
