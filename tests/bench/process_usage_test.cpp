#include "bench/process_usage.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <vector>

namespace pdserve::bench {
namespace {

TEST(ProcessUsageTest, ReadsThisProcessAndGrowsWithWork) {
  Result<double> before = process_cpu_seconds(getpid());
  ASSERT_TRUE(before.ok()) << before.status().message();
  // Spin until the kernel has charged at least one more clock tick.
  volatile uint64_t sink = 0;
  Result<double> after = before;
  while (after.ok() && *after <= *before) {
    for (int i = 0; i < 1'000'000; ++i) sink = sink + static_cast<uint64_t>(i);
    after = process_cpu_seconds(getpid());
  }
  ASSERT_TRUE(after.ok());
  EXPECT_GT(*after, *before);
  Result<size_t> rss = process_rss_bytes(getpid());
  ASSERT_TRUE(rss.ok()) << rss.status().message();
  EXPECT_GT(*rss, size_t{0});
}

TEST(ProcessUsageTest, NoSuchProcessIsNotFound) {
  // Above the kernel's pid_max ceiling (4194304): never a process.
  EXPECT_EQ(process_cpu_seconds(1 << 23).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(process_rss_bytes(1 << 23).status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace pdserve::bench
