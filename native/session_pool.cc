#include "session_pool.h"

#include <sys/stat.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <thread>

#include "common.h"

namespace fastembed {

namespace {

// The two files a save leaves in a folder, then the folder; a folder it didn't make keeps anything else it holds.
void RemoveFolder(const std::string& folder) {
  std::remove((folder + "/model.onnx").c_str());
  std::remove((folder + "/model.data").c_str());
  rmdir(folder.c_str());
}

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
  // Prepacked (GEMM-ready) weights: ~1.5x faster on short texts (no weight matrix packed per call), 1.03-1.3x in bulk;
  // read from the cache folder's data file when there is one, else a private copy per session.
  if (!prepack) opts.AddConfigEntry("session.disable_prepacking", "1");
  return opts;
}

}  // namespace

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

  // With a cache folder, ORT's optimised graph is saved there once (model.onnx), its weights and their prepacked
  // (GEMM-ready) forms in one data file beside it (model.data). Every later session is built from that folder: ORT maps
  // the data file read-only, so each session's weights, prepacked ones included, are page-cache pages shared by the
  // whole pool (and by other processes on the host) instead of a private copy per session, and nothing is re-packed
  // or re-optimised at start.
  const std::string& folder = options.optimized_model_path;
  const std::string cached = folder.empty() ? std::string() : folder + "/model.onnx";
  bool just_saved = false;
  try {
    if (!folder.empty() && !FileExists(cached)) {
      // Written into a private temp folder, then renamed whole: a concurrent starter never reads a half-written pair,
      // and a second writer's rename fails (the folder exists) instead of replacing a data file someone has mapped.
      // Private to this pool, not only to the process: two pools of one model starting at once in one process (two
      // services, replicas in a test) would otherwise remove each other's half-written folder.
      static std::atomic<uint64_t> writers{0};
      const std::string tmp = folder + ".tmp-" + std::to_string(getpid()) + "-" + std::to_string(writers++);
      RemoveFolder(tmp);
      const bool saving = mkdir(tmp.c_str(), 0755) == 0;
      // The saved data file holds the prepacked weights only if this session makes them.
      Ort::SessionOptions opts = MakeOptions(threads, options.allow_spinning, options.prepack || saving, GraphOptimizationLevel::ORT_ENABLE_ALL);
      if (saving) {
        opts.SetOptimizedModelFilePath((tmp + "/model.onnx").c_str());
        opts.AddConfigEntry("session.optimized_model_external_initializers_file_name", "model.data");
        opts.AddConfigEntry("session.optimized_model_external_initializers_min_size_in_bytes", "1024");
        opts.AddConfigEntry("session.save_external_prepacked_constant_initializers", "1");
      }
      auto first = std::make_unique<Ort::Session>(runtime.env(), model_path.c_str(), opts);
      just_saved = FileExists(tmp + "/model.onnx") && std::rename(tmp.c_str(), folder.c_str()) == 0;
      if (!just_saved) {
        RemoveFolder(tmp);
        // Not cached (read-only folder, or another process saved it first): this session serves as built.
        sessions_.push_back(std::move(first));
      }
    }
    std::string source = model_path;
    GraphOptimizationLevel level = GraphOptimizationLevel::ORT_ENABLE_ALL;
    if (FileExists(cached)) {
      // Already optimised for this machine: skip the optimiser to start faster.
      source = cached;
      level = GraphOptimizationLevel::ORT_DISABLE_ALL;
      loaded_from_cache_ = !just_saved;
    }
    while (static_cast<int>(sessions_.size()) < pool_size) {
      Ort::SessionOptions opts = MakeOptions(threads, options.allow_spinning, options.prepack, level);
      sessions_.push_back(std::make_unique<Ort::Session>(runtime.env(), source.c_str(), opts));
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
