// The receiver's check of an op list (what the nccl backend runs before it
// posts its receives), on the CPU.
#include "kvtransfer/inbound_ops.h"

#include <gtest/gtest.h>

namespace pdserve::kvtransfer {
namespace {

constexpr uint64_t kConn = 11, kOther = 12, kEpoch = 7;

class InboundOpsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    region_ = regions_.add({0, memory_.data(), memory_.size(), MemoryKind::kHost, {}, nullptr});
    ASSERT_TRUE(grants_.grant(kEpoch, {{region_, 0, 4096}}, GrantScope::kFirstPeer).ok());
  }
  CheckedOps check(uint64_t conn, uint64_t epoch, std::vector<WriteOp> ops) {
    return check_inbound_ops(policy_, regions_, conn, "prefill-0", epoch, ops);
  }
  WriteOp op(uint64_t offset, uint64_t len) const { return {0, 0, region_, offset, len}; }

  std::vector<char> memory_ = std::vector<char>(8192);
  RegionTable regions_;
  GrantTable grants_;
  NotificationQueue notifications_;
  InboundPolicy policy_{"receiver", true, nullptr, &grants_, &notifications_};
  uint64_t region_ = 0;
};

TEST_F(InboundOpsTest, GrantedOpsArePinnedInOrder) {
  CheckedOps c = check(kConn, kEpoch, {op(0, 1024), op(2048, 2048)});
  ASSERT_TRUE(c.refused.ok()) << c.refused.to_string();
  ASSERT_EQ(c.pins.size(), 2u);
  EXPECT_EQ(c.pins[1].data(), memory_.data() + 2048);
  EXPECT_EQ(policy_.num_refused(), 0u);
}

TEST_F(InboundOpsTest, OneOpOutsideTheGrantRefusesTheWholeTransferAndIsCounted) {
  CheckedOps c = check(kConn, kEpoch, {op(0, 1024), op(4096, 1024)});
  EXPECT_EQ(c.refused.code(), StatusCode::kPermissionDenied);
  EXPECT_TRUE(c.pins.empty());
  EXPECT_EQ(policy_.num_refused(), 1u);
}

TEST_F(InboundOpsTest, UngrantedEpochAndAnotherConnectionsGrantAreOffences) {
  EXPECT_EQ(check(kConn, kEpoch + 1, {op(0, 16)}).refused.code(), StatusCode::kPermissionDenied);
  ASSERT_TRUE(check(kConn, kEpoch, {op(0, 16)}).refused.ok());  // binds the grant to kConn
  EXPECT_EQ(check(kOther, kEpoch, {op(0, 16)}).refused.code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(policy_.num_refused(), 2u);
}

TEST_F(InboundOpsTest, AWholeListIsCheckedAgainstTheFenceAndTheGrant) {
  EXPECT_TRUE(policy_.check_writes(kConn, kEpoch, {op(0, 1024), op(2048, 2048)}).ok());
  EXPECT_EQ(policy_.check_writes(kConn, kEpoch, {op(0, 16), op(4095, 2)}).code(),
            StatusCode::kPermissionDenied);
  notifications_.fence(kEpoch);
  EXPECT_EQ(policy_.check_writes(kConn, kEpoch, {op(0, 16)}).code(), StatusCode::kAborted);
}

TEST_F(InboundOpsTest, FencedEpochIsRefusedWithoutOffence) {
  notifications_.fence(kEpoch);
  CheckedOps c = check(kConn, kEpoch, {op(0, 16)});
  EXPECT_EQ(c.refused.code(), StatusCode::kAborted);
  EXPECT_EQ(policy_.num_refused(), 0u);
}

TEST_F(InboundOpsTest, UnregisteredRegionIsRefusedWithNoPins) {
  ASSERT_TRUE(grants_.grant(kEpoch + 2, {{region_ + 1, 0, 16}}, GrantScope::kFirstPeer).ok());
  CheckedOps c = check(kConn, kEpoch + 2, {{0, 0, region_ + 1, 0, 16}});
  EXPECT_EQ(c.refused.code(), StatusCode::kNotFound);
  EXPECT_TRUE(c.pins.empty());
}

}  // namespace
}  // namespace pdserve::kvtransfer
