#include "engine/runner/gpu_memory_budget.h"

#include <gtest/gtest.h>

namespace pdserve::runner {
namespace {

constexpr size_t kGiB = size_t{1} << 30;

TEST(GpuMemoryBudgetTest, KvPoolIsTheShareLessWeightsAndReserve) {
  Result<size_t> kv = kv_pool_bytes({80 * kGiB, 0.5, 16 * kGiB, kGiB});
  ASSERT_TRUE(kv.ok()) << kv.status().to_string();
  EXPECT_EQ(*kv, 23 * kGiB);  // 40 - 16 - 1
  kv = kv_pool_bytes({80 * kGiB, 1.0, 0, 0});
  ASSERT_TRUE(kv.ok());
  EXPECT_EQ(*kv, 80 * kGiB);
}

TEST(GpuMemoryBudgetTest, WeightsThatDoNotFitTheShareSaySoInOneLine) {
  Result<size_t> kv = kv_pool_bytes({80 * kGiB, 0.2, 16 * kGiB, kGiB});
  ASSERT_FALSE(kv.ok());
  EXPECT_EQ(kv.status().code(), StatusCode::kResourceExhausted);
  const std::string& m = kv.status().message();
  EXPECT_EQ(m.find('\n'), std::string::npos);
  EXPECT_NE(m.find("16.00 GiB"), std::string::npos) << m;
  EXPECT_NE(m.find("0.2 of 80.00 GiB"), std::string::npos) << m;
  EXPECT_NE(m.find("--gpu-memory-utilization"), std::string::npos) << m;
  // Exactly full: nothing left for a block.
  EXPECT_FALSE(kv_pool_bytes({4 * kGiB, 0.5, kGiB, kGiB}).ok());
}

TEST(GpuMemoryBudgetTest, UtilizationOutsideZeroToOneIsRefused) {
  for (double u : {0.0, -0.1, 1.01}) {
    Result<size_t> kv = kv_pool_bytes({80 * kGiB, u, kGiB, kGiB});
    ASSERT_FALSE(kv.ok()) << u;
    EXPECT_EQ(kv.status().code(), StatusCode::kInvalidArgument);
  }
}

}  // namespace
}  // namespace pdserve::runner
