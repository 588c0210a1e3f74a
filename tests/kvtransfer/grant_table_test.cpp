#include "kvtransfer/grant_table.h"

#include <gtest/gtest.h>

namespace pdserve::kvtransfer {
namespace {

TEST(GrantTableTest, WritesOnlyInsideTheGrantedRangesOfTheEpoch) {
  GrantTable g;
  ASSERT_TRUE(g.grant(7, {{1, 100, 50}, {1, 150, 50}, {2, 0, 10}}, GrantScope::kFirstPeer).ok());
  EXPECT_TRUE(g.check_write(11, 7, 1, 100, 100).ok());  // touching ranges merge
  EXPECT_TRUE(g.check_write(11, 7, 2, 9, 1).ok());
  EXPECT_EQ(g.check_write(11, 7, 1, 99, 2).code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(g.check_write(11, 7, 1, 199, 2).code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(g.check_write(11, 7, 2, 10, 1).code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(g.check_write(11, 7, 3, 0, 1).code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(g.check_write(11, 7, 1, ~0ull, 2).code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(g.check_write(11, 7, 1, 100, 0).code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(g.check_write(11, 8, 1, 100, 1).code(), StatusCode::kPermissionDenied);
}

TEST(GrantTableTest, AnOpListIsCheckedWholeAndRefusedByItsFirstBadOp) {
  GrantTable g;
  ASSERT_TRUE(g.grant(7, {{1, 0, 1 << 20}, {2, 0, 10}}, GrantScope::kFirstPeer).ok());
  std::vector<WriteOp> ops;
  for (uint64_t i = 0; i < 256; ++i) ops.push_back({0, 0, 1, (255 - i) * 4096, 2048});
  ops.push_back({0, 0, 2, 0, 10});
  EXPECT_TRUE(g.check_writes(11, 7, ops).ok());
  ops.insert(ops.begin() + 100, {0, 0, 2, 5, 6});  // one past the grant's end
  Status s = g.check_writes(11, 7, ops);
  EXPECT_EQ(s.code(), StatusCode::kPermissionDenied);
  EXPECT_NE(s.message().find("region 2"), std::string::npos) << s.message();
  EXPECT_EQ(g.check_writes(12, 7, {{0, 0, 1, 0, 1}}).code(),
            StatusCode::kPermissionDenied);  // bound to 11 by the first list
  EXPECT_EQ(g.check_writes(11, 8, {{0, 0, 1, 0, 1}}).code(), StatusCode::kPermissionDenied);
}

TEST(GrantTableTest, RangesAreTheMergedGrantAndBindItLikeAWrite) {
  GrantTable g;
  ASSERT_TRUE(g.grant(7, {{1, 150, 50}, {1, 100, 50}, {2, 0, 10}}, GrantScope::kFirstPeer).ok());
  auto r = g.ranges(5, 7);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0].region, 1u);
  EXPECT_EQ((*r)[0].offset, 100u);
  EXPECT_EQ((*r)[0].len, 100u);
  EXPECT_EQ((*r)[1].region, 2u);
  EXPECT_EQ((*r)[1].len, 10u);
  EXPECT_EQ(g.ranges(6, 7).status().code(), StatusCode::kPermissionDenied);  // bound to 5
  EXPECT_EQ(g.check_write(6, 7, 1, 100, 1).code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(g.ranges(5, 8).status().code(), StatusCode::kPermissionDenied);  // never granted
}

TEST(GrantTableTest, FirstConnectionOwnsTheGrantUntilRevoked) {
  GrantTable g;
  ASSERT_TRUE(g.grant(7, {{1, 0, 10}}, GrantScope::kFirstPeer).ok());
  EXPECT_TRUE(g.check_notify(5, 7).ok());
  EXPECT_EQ(g.check_write(6, 7, 1, 0, 1).code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(g.check_notify(6, 7).code(), StatusCode::kPermissionDenied);
  EXPECT_TRUE(g.check_write(5, 7, 1, 0, 10).ok());
  g.revoke(7);
  EXPECT_EQ(g.check_write(5, 7, 1, 0, 1).code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(g.size(), 0u);
}

TEST(GrantTableTest, StandingGrantServesEveryConnection) {
  GrantTable g;
  ASSERT_TRUE(g.grant(0, {{4, 0, 1}}, GrantScope::kAnyPeer).ok());
  EXPECT_TRUE(g.check_write(1, 0, 4, 0, 1).ok());
  EXPECT_TRUE(g.check_write(2, 0, 4, 0, 1).ok());
  EXPECT_TRUE(g.check_notify(3, 0).ok());
}

TEST(GrantTableTest, RefusesBadGrants) {
  GrantTable g;
  EXPECT_EQ(g.grant(1, {}, GrantScope::kFirstPeer).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(g.grant(1, {{1, 0, 0}}, GrantScope::kFirstPeer).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(g.grant(1, {{1, ~0ull, 2}}, GrantScope::kFirstPeer).code(),
            StatusCode::kInvalidArgument);
  ASSERT_TRUE(g.grant(1, {{1, 0, 1}}, GrantScope::kFirstPeer).ok());
  EXPECT_EQ(g.grant(1, {{1, 0, 1}}, GrantScope::kFirstPeer).code(), StatusCode::kAlreadyExists);
}

}  // namespace
}  // namespace pdserve::kvtransfer
