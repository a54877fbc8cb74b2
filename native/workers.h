// Async work: each worker gets plain C++ data on the JS thread, runs Execute() on a libuv worker thread without
// touching Napi, and settles a Promise back on the JS thread.
#pragma once

#include <napi.h>

#include <memory>
#include <string>
#include <vector>

#include "batch_runner.h"
#include "session_pool.h"
#include "vector_math.h"

namespace fastembed {

// Base: Promise plumbing and error codes (OrtFailure's code reaches JS as err.code).
class PromiseWorker : public Napi::AsyncWorker {
 public:
  explicit PromiseWorker(Napi::Env env) : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)) {}
  Napi::Promise Promise() const { return deferred_.Promise(); }

 protected:
  void Execute() final;
  virtual void Work() = 0;
  void OnError(const Napi::Error& e) final;
  void Resolve(Napi::Value value) { deferred_.Resolve(value); }

 private:
  Napi::Promise::Deferred deferred_;
  std::string code_;
};

struct ModelLoadRequest {
  std::string model_path;
  SessionPoolOptions pool;
  Pooling pooling = Pooling::kMean;
  bool normalize = true;
};

class LoadWorker : public PromiseWorker {
 public:
  LoadWorker(Napi::Env env, ModelLoadRequest request, Napi::FunctionReference* model_ctor)
      : PromiseWorker(env), request_(std::move(request)), model_ctor_(model_ctor) {}

 protected:
  void Work() override;
  void OnOK() override;

 private:
  ModelLoadRequest request_;
  Napi::FunctionReference* model_ctor_;  // owned by the addon's instance data
  std::shared_ptr<SessionPool> pool_;
};

class EmbedWorker : public PromiseWorker {
 public:
  // Registers the job with the pool (throws OrtFailure if it is closed) before anything is queued.
  EmbedWorker(Napi::Env env, std::shared_ptr<SessionPool> pool, BatchRunner runner, BatchInput input,
              std::shared_ptr<RunCancel> cancel);

 protected:
  void Work() override;
  void OnOK() override;

 private:
  std::shared_ptr<SessionPool> pool_;
  BatchRunner runner_;
  BatchInput input_;
  BatchOutput output_;
  std::shared_ptr<RunCancel> cancel_;  // may be null
};

class CloseWorker : public PromiseWorker {
 public:
  CloseWorker(Napi::Env env, std::shared_ptr<SessionPool> pool) : PromiseWorker(env), pool_(std::move(pool)) {}

 protected:
  void Work() override { pool_->Close(); }
  void OnOK() override { Resolve(Env().Undefined()); }

 private:
  std::shared_ptr<SessionPool> pool_;
};

// Top-k over a JS-owned matrix: the typed arrays are pinned by references for the duration of the work.
class TopKWorker : public PromiseWorker {
 public:
  TopKWorker(Napi::Env env, Napi::TypedArray query, Napi::TypedArray matrix, size_t dim, size_t k, Metric metric,
             int threads);

 protected:
  void Work() override;
  void OnOK() override;

 private:
  // A matrix on a SharedArrayBuffer is read in place (it can't be detached or shrunk; the reference keeps it alive);
  // anything else is copied on the JS thread: JS can detach (transfer) or resize an ArrayBuffer while Work() runs on
  // another thread, and reading it then would be a use-after-free.
  std::vector<float> query_;
  std::vector<float> matrix_copy_;
  Napi::Reference<Napi::Value> shared_;
  const float* matrix_;
  size_t rows_;
  size_t dim_;
  size_t k_;
  Metric metric_;
  int threads_;
  std::vector<Scored> result_;
};

// {indices: Uint32Array, scores: Float32Array}, best first.
Napi::Object TopKResultToJs(Napi::Env env, const std::vector<Scored>& result);

// Returns memory that glibc holds free in its malloc arenas to the OS (malloc_trim). Memory freed on the libuv
// threads that tokenise and run inference stays in their arenas otherwise: ~60 MB of RSS after an abort storm.
// Resolves true if anything was released; false elsewhere (musl, macOS), where there is nothing to do.
class TrimWorker : public PromiseWorker {
 public:
  explicit TrimWorker(Napi::Env env) : PromiseWorker(env) {}

 protected:
  void Work() override;
  void OnOK() override;

 private:
  bool released_ = false;
};

}  // namespace fastembed
