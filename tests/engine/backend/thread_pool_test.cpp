#include "engine/backend/cpu/thread_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <stdexcept>
#include <thread>

#include "common/base/check_scope.h"
#include "common/base/logging.h"

namespace pdserve::backend::cpu {
namespace {

// Fails (with a PD_CHECK) in every chunk that does not start at 0: those run
// on the pool's workers, not on the calling thread.
void fail_on_workers(ThreadPool& pool, std::atomic<int>& on_workers) {
  const std::thread::id caller = std::this_thread::get_id();
  pool.parallel_for(64, 1, [&](int64_t begin, int64_t) {
    if (std::this_thread::get_id() == caller) return;
    ++on_workers;
    PD_CHECK(begin == 0) << "a kernel's check failed on a worker";
  });
}

TEST(ThreadPoolTest, FailedCheckOnAWorkerFailsTheCallersScopeNotTheProcess) {
  ThreadPool pool(4);
  std::atomic<int> on_workers{0};
  {
    RecoverableChecks scope;
    EXPECT_THROW(fail_on_workers(pool, on_workers), CheckFailure);
  }
  EXPECT_GT(on_workers.load(), 0);
  // The pool serves the next call in full.
  std::atomic<int64_t> sum{0};
  pool.parallel_for(1000, 1, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) sum += i;
  });
  EXPECT_EQ(sum.load(), 999 * 1000 / 2);
}

TEST(ThreadPoolTest, ExceptionOnAWorkerReachesTheCallerAfterEveryChunkEnded) {
  ThreadPool pool(4);
  std::atomic<int> ended{0};
  const std::thread::id caller = std::this_thread::get_id();
  EXPECT_THROW(pool.parallel_for(4, 1,
                                 [&](int64_t, int64_t) {
                                   ++ended;
                                   if (std::this_thread::get_id() != caller) throw std::bad_alloc();
                                 }),
               std::bad_alloc);
  EXPECT_EQ(ended.load(), 4);
  // A failure on the calling thread waits for the workers too.
  ended = 0;
  EXPECT_THROW(pool.parallel_for(4, 1,
                                 [&](int64_t, int64_t) {
                                   ++ended;
                                   if (std::this_thread::get_id() == caller) {
                                     throw std::runtime_error("caller's chunk");
                                   }
                                 }),
               std::runtime_error);
  EXPECT_EQ(ended.load(), 4);
}

TEST(ThreadPoolDeathTest, FailedCheckOnAWorkerOutsideAnyScopeStillAborts) {
  EXPECT_DEATH(
      {
        ThreadPool pool(4);
        std::atomic<int> on_workers{0};
        fail_on_workers(pool, on_workers);
      },
      "a kernel's check failed on a worker");
}

}  // namespace
}  // namespace pdserve::backend::cpu
