// A fixed pool of worker threads for data-parallel loops. parallel_for()
// splits [0, n) into contiguous chunks, runs them on the workers and the
// calling thread, and returns when all are done. Calls from different
// threads are serialised; a call from inside a worker runs inline (no
// nested parallelism, no deadlock).
//
// Failures: an exception out of a chunk (on any thread) is rethrown to the
// caller once every chunk has ended, never left on a worker (where it would
// end the process). When the caller is inside a RecoverableChecks scope (an
// engine step, common/base/check_scope.h), the workers run its chunks inside
// one too, so a failed PD_CHECK in a kernel fails the step, not the process.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace pdserve::backend::cpu {

class ThreadPool {
 public:
  explicit ThreadPool(int num_threads);  // <= 0: hardware concurrency
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return static_cast<int>(workers_.size()) + 1; }

  // fn(begin, end) over chunks of at least min_chunk items. Rethrows the
  // first exception a chunk threw (see above).
  void parallel_for(int64_t n, int64_t min_chunk, const std::function<void(int64_t, int64_t)>& fn);

 private:
  void worker_loop(int index);
  void run_chunk(int index);

  std::vector<std::thread> workers_;
  std::mutex call_mu_;  // one parallel_for at a time
  std::mutex mu_;
  std::condition_variable start_cv_;
  std::condition_variable done_cv_;
  uint64_t generation_ = 0;
  int pending_ = 0;
  bool stop_ = false;
  // The job of the current generation.
  const std::function<void(int64_t, int64_t)>* fn_ = nullptr;
  int64_t n_ = 0;
  int num_chunks_ = 0;
  bool recoverable_ = false;    // the caller is inside a RecoverableChecks scope
  std::exception_ptr failure_;  // the first exception a chunk threw
};

}  // namespace pdserve::backend::cpu
