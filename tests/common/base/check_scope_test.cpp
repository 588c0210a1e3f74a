#include "common/base/check_scope.h"

#include <gtest/gtest.h>

#include <string>
#include <thread>

#include "common/base/logging.h"

namespace pdserve {
namespace {

TEST(CheckScopeTest, FailedCheckThrowsInsideAScope) {
  int blocks = 0;
  RecoverableChecks scope;
  try {
    PD_CHECK(blocks > 0) << "no free blocks";
    FAIL() << "the check did not fire";
  } catch (const CheckFailure& e) {
    EXPECT_NE(std::string(e.what()).find("blocks > 0"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("no free blocks"), std::string::npos) << e.what();
  }
}

TEST(CheckScopeTest, ScopesNestAndArePerThread) {
  EXPECT_FALSE(checks_recoverable());
  {
    RecoverableChecks outer;
    {
      RecoverableChecks inner;
      EXPECT_TRUE(checks_recoverable());
    }
    EXPECT_TRUE(checks_recoverable());
    bool other_thread = true;
    std::thread([&] { other_thread = checks_recoverable(); }).join();
    EXPECT_FALSE(other_thread);
  }
  EXPECT_FALSE(checks_recoverable());
}

TEST(CheckScopeDeathTest, FailedCheckOutsideAScopeStillAborts) {
  { RecoverableChecks ended; }
  int blocks = 0;
  EXPECT_DEATH(PD_CHECK(blocks > 0) << "no free blocks", "no free blocks");
}

}  // namespace
}  // namespace pdserve
