#include "kvtransfer/epoch_leases.h"

#include <gtest/gtest.h>

#include <set>

namespace pdserve::kvtransfer {
namespace {

using Use = EpochLeases::Use;

// One op of `len` bytes at `offset` of the receiver's region 1.
std::vector<WriteOp> op(uint64_t offset, uint64_t len) {
  return {{0, 0, 1, offset, len}};
}

TEST(EpochLeasesTest, TheFirstPartClaimsAndLaterWritesInsideTheLeaseCopyAtOnce) {
  EpochLeases leases;
  EXPECT_EQ(leases.use(5, op(0, 16), false), Use::kClaim);
  EXPECT_EQ(leases.use(5, op(16, 16), false), Use::kWait);  // the claim is not answered yet
  EXPECT_EQ(leases.use(5, op(32, 16), true), Use::kWait);
  leases.answered(5, {{1, 0, 4096}});
  EXPECT_TRUE(leases.held(5));
  EXPECT_EQ(leases.use(5, op(16, 16), false), Use::kLeased);  // the waiting ones, asked again
  EXPECT_EQ(leases.use(5, op(4090, 16), false), Use::kAsk);   // outside the granted ranges
  EXPECT_EQ(leases.use(6, op(0, 16), false), Use::kClaim);    // another epoch
  EXPECT_TRUE(leases.releasing().empty());
  // The last write uses the lease and ends it: a release is pending.
  EXPECT_EQ(leases.use(5, op(32, 16), true), Use::kLeased);
  EXPECT_FALSE(leases.held(5));
  EXPECT_EQ(leases.releasing(), std::set<uint64_t>{5});
  // Until the release went, a part asks for each go and claims nothing.
  EXPECT_EQ(leases.use(5, op(0, 16), false), Use::kAsk);
  leases.released(5);
  EXPECT_EQ(leases.use(5, op(0, 16), false), Use::kClaim);
}

TEST(EpochLeasesTest, ALastWriteNeverClaims) {
  EpochLeases leases;
  EXPECT_EQ(leases.use(3, op(0, 16), true), Use::kAsk);  // a transfer of one write
  EXPECT_FALSE(leases.held(3));
  EXPECT_EQ(leases.use(3, op(0, 16), true), Use::kAsk);
  EXPECT_TRUE(leases.releasing().empty());
}

TEST(EpochLeasesTest, AGoWithoutRangesOrARevocationLeavesNoLease) {
  EpochLeases leases;
  EXPECT_EQ(leases.use(7, op(0, 16), false), Use::kClaim);
  leases.answered(7, {});  // refused, or no lease given
  EXPECT_FALSE(leases.held(7));
  EXPECT_TRUE(leases.releasing().empty());
  EXPECT_FALSE(leases.revoke(7));
  EXPECT_EQ(leases.use(7, op(0, 16), false), Use::kClaim);
  leases.answered(7, {{1, 0, 4096}});
  EXPECT_TRUE(leases.held(7));
  EXPECT_TRUE(leases.revoke(7));  // the receiver fenced it
  EXPECT_FALSE(leases.held(7));
  EXPECT_EQ(leases.releasing(), std::set<uint64_t>{7});
  EXPECT_EQ(leases.use(7, op(0, 16), false), Use::kAsk);
  leases.answered(9, {{1, 0, 16}});  // never claimed: ignored
  EXPECT_FALSE(leases.held(9));
  EXPECT_EQ(leases.use(9, op(0, 16), false), Use::kClaim);
  leases.answered(9, {{1, 0, 16}});
  leases.clear();  // the receiver is gone
  EXPECT_TRUE(leases.releasing().empty());
  EXPECT_FALSE(leases.held(9));
}

}  // namespace
}  // namespace pdserve::kvtransfer
