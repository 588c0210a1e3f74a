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

// A destructor that runs while a failed step unwinds (a tensor, a pin) and
// fails a check of its own: a second exception would end the process
// (std::terminate). The check is logged and the first failure goes on.
TEST(CheckScopeTest, FailedCheckInADestructorWhileUnwindingIsLoggedAndCarriesOn) {
  struct ChecksWhenDestroyed {
    int* destroyed;
    ~ChecksWhenDestroyed() {
      const int pins_held = 1;
      PD_CHECK(pins_held == 0) << "pin still held";
      ++*destroyed;  // the rest of the destructor runs
    }
  };
  int destroyed = 0;
  RecoverableChecks scope;
  testing::internal::CaptureStderr();
  try {
    ChecksWhenDestroyed pin{&destroyed};
    const int blocks = 0;
    PD_CHECK(blocks > 0) << "no free blocks";
    FAIL() << "the check did not fire";
  } catch (const CheckFailure& e) {
    EXPECT_NE(std::string(e.what()).find("no free blocks"), std::string::npos) << e.what();
  }
  const std::string log = testing::internal::GetCapturedStderr();
  EXPECT_EQ(destroyed, 1);
  EXPECT_NE(log.find("pin still held"), std::string::npos) << log;
  EXPECT_NE(log.find("carried on"), std::string::npos) << log;
  // Outside unwinding the scope throws as before.
  EXPECT_THROW(PD_CHECK(destroyed == 0), CheckFailure);
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
