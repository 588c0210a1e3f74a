#include "kvtransfer/accepted_plans.h"

#include <gtest/gtest.h>

#include <chrono>
#include <vector>

namespace pdserve::kvtransfer {
namespace {

using namespace std::chrono_literals;
using Clock = AcceptedPlans::Clock;

class AcceptedPlansTest : public ::testing::Test {
 protected:
  AcceptedPlansTest() : region_(table_.add({0, memory_.data(), memory_.size()})) {}

  std::vector<RegionPin> pins(size_t n) {
    std::vector<RegionPin> out;
    for (size_t i = 0; i < n; ++i) out.push_back(table_.pin(region_, i * 64, 64, 7).value());
    return out;
  }
  size_t pinned() const { return table_.pinning_transfers(region_).size(); }

  std::vector<char> memory_ = std::vector<char>(4096);
  RegionTable table_;
  uint64_t region_;
  AcceptedPlans plans_{2, 30s};
  const Clock::time_point t0_ = Clock::now();
};

TEST_F(AcceptedPlansTest, MatchingNotificationEndsThePlanAndItsPins) {
  ASSERT_TRUE(plans_.accept({1, 10}, 5, 128, pins(2), t0_).ok());
  EXPECT_EQ(pinned(), 2u);
  EXPECT_TRUE(plans_.take({1, 10}, 5, 128, 0).ok());
  EXPECT_EQ(pinned(), 0u);
  EXPECT_EQ(plans_.size(), 0u);
}

TEST_F(AcceptedPlansTest, PutNotificationWithoutAPlanIsRefused) {
  Status s = plans_.take({1, 11}, 5, 4096, 0);
  EXPECT_EQ(s.code(), StatusCode::kPermissionDenied) << s.to_string();
  // Bytes that came as checked messages (am protocol), or none: nothing to match.
  EXPECT_TRUE(plans_.take({1, 11}, 5, 4096, 3).ok());
  EXPECT_TRUE(plans_.take({1, 11}, 5, 0, 0).ok());
}

TEST_F(AcceptedPlansTest, NotificationOtherThanThePlanIsRefused) {
  ASSERT_TRUE(plans_.accept({1, 12}, 5, 128, pins(1), t0_).ok());
  EXPECT_EQ(plans_.take({1, 12}, 6, 128, 0).code(), StatusCode::kPermissionDenied);  // epoch
  ASSERT_TRUE(plans_.accept({1, 13}, 5, 128, pins(1), t0_).ok());
  EXPECT_EQ(plans_.take({1, 13}, 5, 4096, 0).code(), StatusCode::kPermissionDenied);  // bytes
  ASSERT_TRUE(plans_.accept({1, 14}, 5, 128, pins(1), t0_).ok());
  EXPECT_EQ(plans_.take({2, 14}, 5, 128, 0).code(), StatusCode::kPermissionDenied);  // session
  EXPECT_EQ(pinned(), 1u);  // the {1, 14} plan waits for its own notification
}

TEST_F(AcceptedPlansTest, AbortAndExpiryReleaseThePins) {
  ASSERT_TRUE(plans_.accept({1, 20}, 5, 64, pins(1), t0_).ok());
  ASSERT_TRUE(plans_.accept({1, 21}, 5, 64, pins(1), t0_ + 20s).ok());
  plans_.drop({1, 20});
  EXPECT_EQ(pinned(), 1u);
  plans_.expire(t0_ + 40s);  // {1, 21} is 20 s old: kept
  EXPECT_EQ(pinned(), 1u);
  plans_.expire(t0_ + 60s);
  EXPECT_EQ(pinned(), 0u);
  EXPECT_EQ(plans_.size(), 0u);
}

TEST_F(AcceptedPlansTest, BoundedNumberOfPlans) {
  ASSERT_TRUE(plans_.accept({1, 30}, 5, 64, pins(1), t0_).ok());
  ASSERT_TRUE(plans_.accept({1, 31}, 5, 64, pins(1), t0_).ok());
  EXPECT_EQ(plans_.accept({1, 32}, 5, 64, pins(1), t0_).code(), StatusCode::kUnavailable);
  EXPECT_EQ(pinned(), 2u);  // the refused plan's pins went with it
  EXPECT_TRUE(plans_.take({1, 30}, 5, 64, 0).ok());
  EXPECT_TRUE(plans_.accept({1, 32}, 5, 64, pins(1), t0_).ok());
}

}  // namespace
}  // namespace pdserve::kvtransfer
