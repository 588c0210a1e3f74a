#include "common/base/request_timeline.h"

#include <gtest/gtest.h>

#include <string>

namespace pdserve {
namespace {

TEST(RequestTimeline, KeepsEachRequestsMilestonesInOrder) {
  RequestTimeline t("decode");
  t.record("a", "received");
  t.record("b", "received");
  t.record("a", "kv_transfer_end", {{"bytes", int64_t{4096}}, {"peer", std::string("p0")}});
  std::vector<Milestone> a = t.get("a");
  ASSERT_EQ(a.size(), 2u);
  EXPECT_EQ(a[0].event, "received");
  EXPECT_EQ(a[0].process, "decode");
  EXPECT_EQ(a[1].event, "kv_transfer_end");
  EXPECT_LE(a[0].unix_us, a[1].unix_us);
  EXPECT_GT(a[0].unix_us, 1'700'000'000'000'000);  // a wall-clock time (after 2023)
  ASSERT_EQ(a[1].fields.size(), 2u);
  EXPECT_EQ(std::get<int64_t>(a[1].fields[0].value), 4096);
  EXPECT_EQ(std::get<std::string>(a[1].fields[1].value), "p0");
  EXPECT_EQ(t.get("b").size(), 1u);
  EXPECT_TRUE(t.get("c").empty());
}

TEST(RequestTimeline, ForgetsTheOldestRequestsBeyondItsBound) {
  RequestTimeline t("router", 3);
  for (const char* id : {"r1", "r2", "r3", "r4"}) t.record(id, "received");
  t.record("r2", "finished");  // a known id does not evict
  EXPECT_TRUE(t.get("r1").empty());
  EXPECT_EQ(t.get("r2").size(), 2u);
  EXPECT_EQ(t.get("r3").size(), 1u);
  EXPECT_EQ(t.get("r4").size(), 1u);
}

TEST(RequestTimeline, BoundsMilestonesPerRequestAndIgnoresEmptyIds) {
  RequestTimeline t("prefill");
  for (size_t i = 0; i < RequestTimeline::kMaxMilestonesPerRequest + 10; ++i) t.record("x", "step");
  EXPECT_EQ(t.get("x").size(), RequestTimeline::kMaxMilestonesPerRequest);
  t.record("", "received");
  EXPECT_TRUE(t.get("").empty());
}

TEST(RequestTimeline, GathersAChoicesFamilyInChoiceOrder) {
  RequestTimeline t("decode");
  t.record("r-1", "received");
  t.record("r-0", "received");
  t.record("r-10", "received");  // not among 2 choices
  t.record("r", "received");     // the request itself, not a choice
  std::vector<Milestone> m = t.get_choices("r", 2);
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(m[0].fields.back().key, "choice");
  EXPECT_EQ(std::get<int64_t>(m[0].fields.back().value), 0);
  EXPECT_EQ(std::get<int64_t>(m[1].fields.back().value), 1);
}

}  // namespace
}  // namespace pdserve
