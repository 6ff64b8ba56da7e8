#pragma once
// One long-lived thread that runs a session's native work, one job at a time.
//
// Why not libuv's pool: LibTorch's intra-op parallelism (OpenMP) keeps one thread team per calling
// thread, and glibc gives each busy thread its own malloc arena. Spread over libuv's 4 pool threads,
// one session's steps would run up to 4 teams and 4+ arenas for a session configured for N threads.
// A pool thread only waits here for the job it queued.
#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <thread>

namespace ichnet::binding {

class ComputeThread {
 public:
  ComputeThread() : thread_([this] { loop(); }) {}
  ~ComputeThread() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    ready_.notify_one();
    thread_.join();
  }
  ComputeThread(const ComputeThread&) = delete;
  ComputeThread& operator=(const ComputeThread&) = delete;

  /// Runs `job` on this thread and waits for it; its exception, if any, is rethrown here.
  void run(std::function<void()> job) { post(std::move(job)).get(); }

  /// Queues `job` behind the jobs already queued and returns at once; the future says when it has
  /// run (and holds its exception). The destructor runs every queued job before it returns.
  std::future<void> post(std::function<void()> job) {
    std::packaged_task<void()> task(std::move(job));
    auto done = task.get_future();
    {
      std::lock_guard<std::mutex> lock(mutex_);
      queue_.push_back(std::move(task));
    }
    ready_.notify_one();
    return done;
  }

 private:
  void loop() {
    for (;;) {
      std::packaged_task<void()> task;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        ready_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
        if (queue_.empty()) return;  // stopping, nothing left
        task = std::move(queue_.front());
        queue_.pop_front();
      }
      task();  // an exception is stored in the task's future
    }
  }

  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<std::packaged_task<void()>> queue_;
  bool stopping_ = false;
  std::thread thread_;  // declared last: it starts once the members above exist
};

}  // namespace ichnet::binding
