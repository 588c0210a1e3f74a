#include "common/base/logging.h"

#include <gtest/gtest.h>

namespace pdserve {
namespace {

TEST(LoggingTest, ParsesLevels) {
  LogLevel level = LogLevel::kInfo;
  EXPECT_TRUE(parse_log_level("debug", &level));
  EXPECT_EQ(level, LogLevel::kDebug);
  EXPECT_TRUE(parse_log_level("error", &level));
  EXPECT_EQ(level, LogLevel::kError);
  EXPECT_FALSE(parse_log_level("loud", &level));
  EXPECT_EQ(level, LogLevel::kError);
}

TEST(LoggingTest, MessagesBelowLevelAreNotEvaluated) {
  LogLevel saved = log_level();
  set_log_level(LogLevel::kWarn);
  int evaluated = 0;
  PD_LOG(INFO) << (++evaluated);
  EXPECT_EQ(evaluated, 0);
  PD_LOG(ERROR) << "shown " << (++evaluated);
  EXPECT_EQ(evaluated, 1);
  set_log_level(saved);
}

TEST(LoggingDeathTest, CheckFailureAbortsWithLocationAndMessage) {
  int blocks = 0;
  EXPECT_DEATH(PD_CHECK(blocks > 0) << "no free blocks",
               "logging_test.cpp:.*blocks > 0.*no free blocks");
}

}  // namespace
}  // namespace pdserve
