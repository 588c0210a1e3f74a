#include "router/retry_timer.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace pdserve::router {
namespace {

using namespace std::chrono_literals;

TEST(RetryTimerTest, RunsInDeadlineOrderAfterTheDelay) {
  RetryTimer timer;
  std::mutex mu;
  std::vector<int> order;
  const auto t0 = RetryTimer::Clock::now();
  RetryTimer::Clock::time_point first_at{};
  timer.after(120ms, [&] {
    std::lock_guard lock(mu);
    order.push_back(2);
  });
  timer.after(40ms, [&] {
    std::lock_guard lock(mu);
    first_at = RetryTimer::Clock::now();
    order.push_back(1);
  });
  std::this_thread::sleep_for(400ms);
  std::lock_guard lock(mu);
  EXPECT_EQ(order, (std::vector<int>{1, 2}));
  EXPECT_GE(first_at - t0, 40ms);
}

TEST(RetryTimerTest, StopDropsWhatIsPending) {
  std::atomic<int> ran{0};
  RetryTimer timer;
  timer.after(10s, [&] { ran.fetch_add(1); });
  timer.stop();
  timer.after(1ms, [&] { ran.fetch_add(1); });  // after stop: dropped
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(ran.load(), 0);
}

}  // namespace
}  // namespace pdserve::router
