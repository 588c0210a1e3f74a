#include "router/inflight_calls.h"

#include <gtest/gtest.h>

#include <thread>

namespace pdserve::router {
namespace {

using namespace std::chrono_literals;

TEST(InflightCallsTest, DrainWaitsForRunningCallsThenEndsTheRest) {
  InflightCalls calls;
  int ended = 0;
  std::optional<uint64_t> quick, slow;
  quick = calls.add([&] { ++ended; });
  slow = calls.add([&] {
    ++ended;
    calls.remove(*slow);  // ending it answers it: it leaves
  });
  ASSERT_TRUE(quick && slow);
  std::thread finisher([&] {
    std::this_thread::sleep_for(50ms);
    calls.remove(*quick);  // finishes within the grace
  });
  const auto t0 = InflightCalls::Clock::now();
  EXPECT_EQ(calls.drain(t0 + 300ms), 1u);
  finisher.join();
  EXPECT_GE(InflightCalls::Clock::now() - t0, 300ms);
  EXPECT_EQ(ended, 1);  // only the slow one was ended
  EXPECT_EQ(calls.size(), 0u);
  EXPECT_TRUE(calls.draining());
  EXPECT_FALSE(calls.add([] {}).has_value());  // no new call once draining
}

TEST(InflightCallsTest, DrainOfNothingReturnsAtOnce) {
  InflightCalls calls;
  const auto t0 = InflightCalls::Clock::now();
  EXPECT_EQ(calls.drain(t0 + 10s), 0u);
  EXPECT_LT(InflightCalls::Clock::now() - t0, 1s);
}

}  // namespace
}  // namespace pdserve::router
