#include "helper_threads.h"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

namespace fastembed {

namespace {

// One call's parts: the helpers take them by number; the caller waits for `left` to reach 0.
struct Job {
  const std::function<void(size_t)>* part;
  size_t next = 1;  // the next part not yet taken
  size_t parts;
  size_t left;      // parts not yet finished
  std::condition_variable done;
};

class Helpers {
 public:
  // Lives for the process: never destroyed, so no thread is joined during static destruction at exit (a search
  // still running on a libuv thread then would wait on it). Its threads are parked on `work_` when idle.
  static Helpers& Get() {
    static Helpers* helpers = new Helpers();
    return *helpers;
  }

  void Run(size_t parts, const std::function<void(size_t)>& part) {
    Job job{&part, 1, parts, parts, {}};
    {
      std::lock_guard<std::mutex> lock(mu_);
      Start(parts - 1);
      jobs_.push_back(&job);
    }
    work_.notify_all();
    part(0);
    std::unique_lock<std::mutex> lock(mu_);
    Finished(job);
    // Parts no helper has started run here: all helpers may be busy with other searches.
    while (job.next < job.parts) {
      const size_t p = Take(job);
      lock.unlock();
      part(p);
      lock.lock();
      Finished(job);
    }
    job.done.wait(lock, [&] { return job.left == 0; });
  }

 private:
  Helpers() = default;

  // Makes sure `wanted` helpers exist (at most the CPUs but one; they are only ever added).
  void Start(size_t wanted) {
    const size_t cpus = std::max<unsigned>(2, std::thread::hardware_concurrency());
    wanted = std::min(wanted, cpus - 1);
    while (threads_ < wanted) {
      std::thread([this] { Loop(); }).detach();
      ++threads_;
    }
  }

  // Takes the job's next part; the job leaves the queue with its last one.
  size_t Take(Job& job) {
    const size_t p = job.next++;
    if (job.next == job.parts) jobs_.erase(std::find(jobs_.begin(), jobs_.end(), &job));
    return p;
  }

  static void Finished(Job& job) {
    if (--job.left == 0) job.done.notify_all();
  }

  void Loop() {
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      work_.wait(lock, [&] { return !jobs_.empty(); });
      Job& job = *jobs_.front();
      const size_t p = Take(job);
      lock.unlock();
      (*job.part)(p);
      lock.lock();
      Finished(job);
    }
  }

  std::mutex mu_;
  std::condition_variable work_;
  std::deque<Job*> jobs_;  // calls with parts not yet taken
  size_t threads_ = 0;
};

}  // namespace

void RunParts(size_t parts, const std::function<void(size_t)>& part) {
  if (parts <= 1) {
    if (parts == 1) part(0);
    return;
  }
  Helpers::Get().Run(parts, part);
}

}  // namespace fastembed
