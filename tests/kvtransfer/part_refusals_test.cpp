#include "kvtransfer/part_refusals.h"

#include <gtest/gtest.h>

namespace pdserve::kvtransfer {
namespace {

TEST(PartRefusalsTest, TheLastWriteOfAnEpochTakesTheFirstRefusalOfItsParts) {
  PartRefusals parts;
  EXPECT_TRUE(parts.take(3).ok());  // no part refused
  ASSERT_TRUE(parts.note(3, aborted("epoch 3 is fenced")).ok());
  ASSERT_TRUE(parts.note(3, not_found("region 9")).ok());  // the first one stays
  ASSERT_TRUE(parts.note(4, not_found("region 9")).ok());
  Status three = parts.take(3);
  EXPECT_EQ(three.code(), StatusCode::kAborted);
  EXPECT_EQ(three.message(), "epoch 3 is fenced");
  EXPECT_TRUE(parts.take(3).ok());  // forgotten with its last write
  EXPECT_EQ(parts.take(4).code(), StatusCode::kNotFound);
}

TEST(PartRefusalsTest, AConnectionLeavingTooManyEpochsOpenIsRefused) {
  PartRefusals parts;
  for (uint64_t epoch = 0; epoch < PartRefusals::kMaxEpochs; ++epoch) {
    ASSERT_TRUE(parts.note(epoch, aborted("fenced")).ok());
  }
  EXPECT_TRUE(parts.note(0, aborted("fenced")).ok());  // an epoch it holds already
  EXPECT_EQ(parts.note(PartRefusals::kMaxEpochs, aborted("fenced")).code(),
            StatusCode::kResourceExhausted);
  EXPECT_EQ(parts.take(0).code(), StatusCode::kAborted);
  EXPECT_TRUE(parts.note(PartRefusals::kMaxEpochs, aborted("fenced")).ok());
}

}  // namespace
}  // namespace pdserve::kvtransfer
