#include "session_pool.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <thread>

#include "common.h"

namespace fastembed {

namespace {

bool FileExists(const std::string& path) {
  struct stat st;
  return !path.empty() && stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0;
}

Ort::SessionOptions MakeOptions(int threads, bool allow_spinning, bool prepack, GraphOptimizationLevel level) {
  Ort::SessionOptions opts;
  opts.SetIntraOpNumThreads(threads);
  opts.SetInterOpNumThreads(1);
  opts.SetExecutionMode(ExecutionMode::ORT_SEQUENTIAL);
  opts.SetGraphOptimizationLevel(level);
  // Shapes change with every batch (dynamic padding): memory patterns would be recomputed each time.
  opts.DisableMemPattern();
  opts.AddConfigEntry("session.intra_op.allow_spinning", allow_spinning ? "1" : "0");
  // Prepacked (GEMM-ready) weights are a private copy per session (ORT's shared container did not share them for
  // these fused kernels): faster by ~5% in one session, but a pool that shares one in-place copy turns them off.
  if (!prepack) opts.AddConfigEntry("session.disable_prepacking", "1");
  return opts;
}

}  // namespace

SessionPool::MappedFile::MappedFile(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) != 0 || st.st_size == 0) {
    if (fd >= 0) close(fd);
    throw OrtFailure("Cannot read " + path, "ERR_MODEL_LOAD");
  }
  // Private and read-only: the cache file is replaced by rename, never rewritten in place, so the mapping stays valid.
  void* p = mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ, MAP_PRIVATE, fd, 0);
  close(fd);
  if (p == MAP_FAILED) throw OrtFailure("Cannot map " + path, "ERR_MODEL_LOAD");
  data = p;
  size = static_cast<size_t>(st.st_size);
}

SessionPool::MappedFile::~MappedFile() {
  if (data != nullptr) munmap(data, size);
}

SessionPool::SessionPool(const std::string& model_path, const SessionPoolOptions& options) {
  OrtRuntime& runtime = OrtRuntime::Get();
  const int pool_size = std::max(1, options.pool_size);
  int threads = options.intra_op_threads;
  if (threads <= 0) {
    const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    threads = std::max(1, cores / pool_size);
  }
  intra_op_threads_ = threads;
  thread_nice_ = options.thread_nice;

  // With a cache path, ORT's optimised graph is saved once in ORT format (ending .ort) and every session of the pool
  // is created on one read-only mapping of it, its initializers used in place: one copy of the weights per process
  // instead of one per session, and no protobuf parsing at start. A cache path ending .onnx keeps ONNX format.
  const std::string& cached = options.optimized_model_path;
  const bool in_place = cached.size() > 4 && cached.compare(cached.size() - 4, 4, ".ort") == 0;
  bool just_saved = false;
  try {
    if (!cached.empty() && !FileExists(cached)) {
      // Write to a private temp name, then rename: a concurrent starter never reads a half-written file.
      const std::string tmp = cached + ".tmp-" + std::to_string(getpid()) + (in_place ? ".ort" : ".onnx");
      Ort::SessionOptions opts = MakeOptions(threads, options.allow_spinning, options.prepack, GraphOptimizationLevel::ORT_ENABLE_ALL);
      opts.SetOptimizedModelFilePath(tmp.c_str());
      auto first = std::make_unique<Ort::Session>(runtime.env(), model_path.c_str(), opts);
      const bool saved = FileExists(tmp) && std::rename(tmp.c_str(), cached.c_str()) == 0;
      if (!saved) std::remove(tmp.c_str());
      just_saved = saved;
      // In place, the pool is created on the saved file below (this session holds its own copy of the weights).
      if (!saved || !in_place) sessions_.push_back(std::move(first));
    }
    std::string source = model_path;
    GraphOptimizationLevel level = GraphOptimizationLevel::ORT_ENABLE_ALL;
    if (FileExists(cached)) {
      // Already optimised for this machine: skip the optimiser to start faster.
      source = cached;
      level = GraphOptimizationLevel::ORT_DISABLE_ALL;
      loaded_from_cache_ = !just_saved;
      if (in_place) model_bytes_ = std::make_unique<MappedFile>(cached);
    }
    while (static_cast<int>(sessions_.size()) < pool_size) {
      Ort::SessionOptions opts = MakeOptions(threads, options.allow_spinning, options.prepack, level);
      if (!model_bytes_) {
        sessions_.push_back(std::make_unique<Ort::Session>(runtime.env(), source.c_str(), opts));
        continue;
      }
      opts.AddConfigEntry("session.use_ort_model_bytes_directly", "1");
      opts.AddConfigEntry("session.use_ort_model_bytes_for_initializers", "1");
      sessions_.push_back(std::make_unique<Ort::Session>(runtime.env(), model_bytes_->data, model_bytes_->size, opts));
    }
    signature_ = ReadSignature(*sessions_[0]);
  } catch (const Ort::Exception& e) {
    sessions_.clear();
    RethrowOrt(e, "Loading model " + model_path + " failed");
  }
  for (size_t i = 0; i < sessions_.size(); ++i) free_.push_back(i);
}

SessionPool::~SessionPool() { Close(); }

ModelSignature SessionPool::ReadSignature(Ort::Session& session) {
  ModelSignature sig;
  Ort::AllocatorWithDefaultOptions allocator;
  const size_t inputs = session.GetInputCount();
  for (size_t i = 0; i < inputs; ++i) {
    std::string name = session.GetInputNameAllocated(i, allocator).get();
    Ort::TypeInfo type_info = session.GetInputTypeInfo(i);  // must outlive the shape info view below
    auto info = type_info.GetTensorTypeAndShapeInfo();
    if (name.find("input_ids") != std::string::npos) {
      sig.input_ids_name = name;
      sig.id_type = info.GetElementType();
    } else if (name.find("attention_mask") != std::string::npos) {
      sig.attention_mask_name = name;
    } else if (name.find("token_type_ids") != std::string::npos) {
      sig.token_type_ids_name = name;
    } else {
      throw OrtFailure("The model has an input named '" + name +
                           "' that this library cannot fill; supported inputs are input_ids, attention_mask and "
                           "token_type_ids (a BERT-style text encoder)",
                       "ERR_MODEL_INPUTS");
    }
  }
  if (sig.input_ids_name.empty()) {
    throw OrtFailure("The model has no input_ids input; it is not a text encoder this library can run",
                     "ERR_MODEL_INPUTS");
  }
  if (sig.id_type != ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64 && sig.id_type != ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32) {
    throw OrtFailure("The model's input_ids are neither int64 nor int32", "ERR_MODEL_INPUTS");
  }

  // Prefer token embeddings (pooled here, as the recipe says); fall back to an already pooled 2-D output.
  const size_t outputs = session.GetOutputCount();
  int best_rank = 0;
  for (size_t i = 0; i < outputs; ++i) {
    std::string name = session.GetOutputNameAllocated(i, allocator).get();
    Ort::TypeInfo type_info = session.GetOutputTypeInfo(i);
    auto info = type_info.GetTensorTypeAndShapeInfo();
    if (info.GetElementType() != ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT) continue;
    const std::vector<int64_t> shape = info.GetShape();
    const int rank = static_cast<int>(shape.size());
    if (rank != 3 && rank != 2) continue;
    const bool better = best_rank == 0 || (rank == 3 && best_rank != 3) ||
                        (rank == 3 && name == "last_hidden_state");
    if (better) {
      sig.output_name = name;
      sig.output_rank = rank;
      sig.dim = shape.back();
      best_rank = rank;
    }
  }
  if (sig.output_name.empty()) {
    throw OrtFailure("The model has no float output of shape [batch, seq, dim] or [batch, dim]",
                     "ERR_MODEL_OUTPUTS");
  }
  return sig;
}

void SessionPool::BeginJob() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (closed_) throw OrtFailure("The model was closed; create a new one to keep embedding", "ERR_CLOSED");
  ++pending_jobs_;
}

void SessionPool::EndJob() {
  std::lock_guard<std::mutex> lock(mutex_);
  --pending_jobs_;
  cv_.notify_all();
}

SessionPool::Lease SessionPool::Acquire() {
  std::unique_lock<std::mutex> lock(mutex_);
  cv_.wait(lock, [this] { return !free_.empty() || sessions_.empty(); });
  if (sessions_.empty()) throw OrtFailure("The model was closed; create a new one to keep embedding", "ERR_CLOSED");
  const size_t index = free_.back();
  free_.pop_back();
  return Lease(this, index);
}

void SessionPool::Release(size_t index) {
  std::lock_guard<std::mutex> lock(mutex_);
  free_.push_back(index);
  cv_.notify_all();
}

void SessionPool::Close() {
  std::unique_lock<std::mutex> lock(mutex_);
  closed_ = true;
  cv_.wait(lock, [this] { return pending_jobs_ == 0 && free_.size() == sessions_.size(); });
  const bool had_sessions = !sessions_.empty();
  sessions_.clear();  // releases every OrtSession now, not at GC time
  model_bytes_.reset();  // after the sessions that read from it
  free_.clear();
  cv_.notify_all();
#if defined(__GLIBC__)
  // A model's weights are large blocks; hand the freed pages back to the OS so RSS falls after close().
  if (had_sessions) malloc_trim(0);
#endif
}

bool SessionPool::closed() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return closed_;
}

}  // namespace fastembed
