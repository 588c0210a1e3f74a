#include "launcher/gpu_share.h"

#include <gtest/gtest.h>

namespace pdserve::launcher {
namespace {

TEST(GpuShareTest, WorkersOnOneGpuSplitItEvenly) {
  EXPECT_EQ(split_gpu_memory({0, 0}, 0.9), (std::vector<double>{0.45, 0.45}));
  EXPECT_EQ(split_gpu_memory({3, 3, 3, 3}, 0.8), (std::vector<double>{0.2, 0.2, 0.2, 0.2}));
}

TEST(GpuShareTest, EachGpuIsSplitOnItsOwn) {
  EXPECT_EQ(split_gpu_memory({0, 1, 1}, 0.9), (std::vector<double>{0.9, 0.45, 0.45}));
  EXPECT_EQ(split_gpu_memory({1, 0}, 0.5), (std::vector<double>{0.5, 0.5}));
}

TEST(GpuShareTest, NoWorkersNoShares) {
  EXPECT_TRUE(split_gpu_memory({}, 0.9).empty());
}

}  // namespace
}  // namespace pdserve::launcher
