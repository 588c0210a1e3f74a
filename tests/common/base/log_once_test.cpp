// PD_LOG_FAILED_ONCE: a failing call is described every time, logged the
// first time its line fails only, and reported as false; a success is
// neither described nor logged.
#include "common/base/log_once.h"

#include <gtest/gtest.h>

#include <string>

namespace pdserve {
namespace {

int num_described = 0;
std::string describe(int status) {
  ++num_described;
  return "status " + std::to_string(status);
}

bool close_with(int status) {
  return PD_LOG_FAILED_ONCE(status, 0, describe);  // one line: one "logged" flag
}

TEST(LogFailedOnce, LogsTheFirstFailureOfALineOnly) {
  testing::internal::CaptureStderr();
  EXPECT_TRUE(close_with(0));
  EXPECT_FALSE(close_with(7));
  EXPECT_FALSE(close_with(8));
  EXPECT_TRUE(close_with(0));
  const std::string log = testing::internal::GetCapturedStderr();
  EXPECT_NE(log.find("status failed (logged once, then ignored): status 7"), std::string::npos)
      << log;
  EXPECT_EQ(log.find("status 8"), std::string::npos) << log;
  EXPECT_EQ(num_described, 2);
}

}  // namespace
}  // namespace pdserve
