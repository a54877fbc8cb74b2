#include "workers.h"

#include <cstring>
#if defined(__GLIBC__)
#include <malloc.h>
#endif
#if defined(__linux__)
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#endif

#include "common.h"

namespace fastembed {

namespace {
// Inference runs below the JS thread's priority, so under full load the event loop (health checks, refusals, timers)
// is scheduled at once instead of taking turns with it; the CPU time is the same, only who waits changes. ORT's own
// intra-op threads inherit it from the thread that creates the session. A thread's nice value can't be lowered again
// without privileges, so a libuv thread that ran inference stays at it (only ever raised, to the largest asked for).
void LowerThreadPriority(int nice) {
#if defined(__linux__)
  thread_local int applied = 0;
  if (nice <= applied) return;
  applied = nice;
  const auto tid = static_cast<id_t>(syscall(SYS_gettid));
  errno = 0;
  const int current = getpriority(PRIO_PROCESS, tid);
  if (errno == 0 && current < nice) setpriority(PRIO_PROCESS, tid, nice);
#else
  (void)nice;
#endif
}
}  // namespace

void PromiseWorker::Execute() {
  try {
    Work();
  } catch (const OrtFailure& e) {
    code_ = e.code();
    SetError(e.what());
  } catch (const std::bad_alloc&) {
    code_ = "ERR_OUT_OF_MEMORY";
    SetError("Out of memory while running the model; use smaller batches (batchSize) or shorter maxLength");
  } catch (const std::exception& e) {
    code_ = "ERR_NATIVE";
    SetError(e.what());
  } catch (...) {
    code_ = "ERR_NATIVE";
    SetError("Unknown native error");
  }
}

void PromiseWorker::OnError(const Napi::Error& e) {
  deferred_.Reject(MakeError(Env(), e.Message(), code_).Value());
}

void LoadWorker::Work() {
  LowerThreadPriority(request_.pool.thread_nice);
  pool_ = std::make_shared<SessionPool>(request_.model_path, request_.pool);
}

void LoadWorker::OnOK() {
  Napi::Env env = Env();
  auto* holder = new std::shared_ptr<SessionPool>(std::move(pool_));
  Napi::External<std::shared_ptr<SessionPool>> external = Napi::External<std::shared_ptr<SessionPool>>::New(
      env, holder, [](Napi::Env, std::shared_ptr<SessionPool>* p) { delete p; });
  Napi::Object options = Napi::Object::New(env);
  options.Set("pooling", Napi::Number::New(env, static_cast<int>(request_.pooling)));
  options.Set("normalize", Napi::Boolean::New(env, request_.normalize));
  Resolve(model_ctor_->New({external, options}));
}

EmbedWorker::EmbedWorker(Napi::Env env, std::shared_ptr<SessionPool> pool, BatchRunner runner, BatchInput input,
                         std::shared_ptr<RunCancel> cancel)
    : PromiseWorker(env), pool_(std::move(pool)), runner_(runner), input_(std::move(input)), cancel_(std::move(cancel)) {
  pool_->BeginJob();
}

void EmbedWorker::Work() {
  struct JobGuard {
    SessionPool* pool;
    ~JobGuard() { pool->EndJob(); }
  } guard{pool_.get()};
  LowerThreadPriority(pool_->thread_nice());
  output_ = runner_.Run(*pool_, input_, cancel_.get());
  input_ = BatchInput{};  // free the id buffers now rather than at GC of the worker
}

void EmbedWorker::OnOK() {
  Napi::Env env = Env();
  const size_t count = output_.data.size();
  Napi::Float32Array result = Napi::Float32Array::New(env, count);
  if (count > 0) std::memcpy(result.Data(), output_.data.data(), count * sizeof(float));
  Resolve(result);
}

namespace {
// A float32 view's first element, and whether its memory is a SharedArrayBuffer's.
const float* FloatsAt(const Napi::TypedArray& view, bool* shared) {
  napi_env env = view.Env();
  napi_typedarray_type type;
  size_t length = 0;
  void* data = nullptr;
  napi_value buffer;
  size_t offset = 0;
  bool is_array_buffer = true;
  if (napi_get_typedarray_info(env, view, &type, &length, &data, &buffer, &offset) != napi_ok ||
      napi_is_arraybuffer(env, buffer, &is_array_buffer) != napi_ok) {
    throw Napi::Error::New(env, "topKAsync: could not read the Float32Array");
  }
  *shared = !is_array_buffer;  // a typed array's buffer is an ArrayBuffer or a SharedArrayBuffer
  return static_cast<const float*>(data);
}

std::vector<float> FloatsOf(const Napi::TypedArray& view) {
  bool shared = false;
  const float* begin = FloatsAt(view, &shared);
  return std::vector<float>(begin, begin + view.ElementLength());
}
}  // namespace

TopKWorker::TopKWorker(Napi::Env env, Napi::TypedArray query, Napi::TypedArray matrix, size_t dim, size_t k,
                       Metric metric, int threads)
    : PromiseWorker(env),
      query_(FloatsOf(query)),
      rows_(matrix.ElementLength() / dim),
      dim_(dim),
      k_(k),
      metric_(metric),
      threads_(threads) {
  bool shared = false;
  const float* data = FloatsAt(matrix, &shared);
  if (shared) {
    shared_ = Napi::Persistent(static_cast<Napi::Value>(matrix));
    matrix_ = data;
  } else {
    matrix_copy_.assign(data, data + matrix.ElementLength());
    matrix_ = matrix_copy_.data();
  }
}

void TopKWorker::Work() {
  result_ = TopK(query_.data(), matrix_, rows_, dim_, k_, metric_, threads_);
}

void TopKWorker::OnOK() { Resolve(TopKResultToJs(Env(), result_)); }

Napi::Object TopKResultToJs(Napi::Env env, const std::vector<Scored>& result) {
  Napi::Uint32Array indices = Napi::Uint32Array::New(env, result.size());
  Napi::Float32Array scores = Napi::Float32Array::New(env, result.size());
  for (size_t i = 0; i < result.size(); ++i) {
    indices[i] = result[i].index;
    scores[i] = result[i].score;
  }
  Napi::Object out = Napi::Object::New(env);
  out.Set("indices", indices);
  out.Set("scores", scores);
  return out;
}

void TrimWorker::Work() {
#if defined(__GLIBC__)
  released_ = malloc_trim(0) != 0;
#endif
}

void TrimWorker::OnOK() { Resolve(Napi::Boolean::New(Env(), released_)); }

}  // namespace fastembed
