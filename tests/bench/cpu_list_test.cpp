#include "bench/cpu_list.h"

#include <gtest/gtest.h>

namespace pdserve::bench {
namespace {

TEST(CpuList, ParsesNumbersAndRanges) {
  EXPECT_EQ(*parse_cpu_list("0"), (std::vector<int>{0}));
  EXPECT_EQ(*parse_cpu_list("3,1"), (std::vector<int>{1, 3}));
  EXPECT_EQ(*parse_cpu_list("0-2,5,1"), (std::vector<int>{0, 1, 2, 5}));
}

TEST(CpuList, RejectsAnythingElse) {
  for (const char* bad : {"", "a", "1,", "-1", "1-", "3-1", "0 1", "99999", "1.5"}) {
    Result<std::vector<int>> r = parse_cpu_list(bad);
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << "'" << bad << "'";
  }
}

TEST(CpuList, PinningToTheAllowedCpusKeepsThem) {
  Result<std::vector<int>> allowed = allowed_cpus();
  ASSERT_TRUE(allowed.ok()) << allowed.status().to_string();
  ASSERT_FALSE(allowed->empty());
  ASSERT_TRUE(pin_calling_thread({allowed->front()}).ok());
  EXPECT_EQ(*allowed_cpus(), (std::vector<int>{allowed->front()}));
  ASSERT_TRUE(pin_calling_thread(*allowed).ok());
  EXPECT_EQ(*allowed_cpus(), *allowed);
}

}  // namespace
}  // namespace pdserve::bench
