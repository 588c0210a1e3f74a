#include "common/wire/timeline_json.h"

#include <gtest/gtest.h>

namespace pdserve::server::internal {
namespace {

TEST(TimelineJson, RoundTripsMilestonesAndTheirFields) {
  std::vector<Milestone> in = {
      {"router", "received", 1'796'654'688'000'001, {}},
      {"prefill",
       "kv_transfer_end",
       1'796'654'688'000'900,
       {{"bytes", int64_t{65536}}, {"peer", std::string("10.0.0.5:8002")}}}};
  std::string body = timeline_to_json("abc", in);
  EXPECT_NE(body.find("\"request_id\":\"abc\""), std::string::npos) << body;
  Result<std::vector<Milestone>> out = parse_timeline(body);
  ASSERT_TRUE(out.ok()) << out.status().to_string();
  ASSERT_EQ(out->size(), 2u);
  EXPECT_EQ((*out)[0].process, "router");
  EXPECT_EQ((*out)[1].event, "kv_transfer_end");
  EXPECT_EQ((*out)[1].unix_us, 1'796'654'688'000'900);
  ASSERT_EQ((*out)[1].fields.size(), 2u);
  EXPECT_EQ((*out)[1].fields[0].key, "bytes");
  EXPECT_EQ(std::get<int64_t>((*out)[1].fields[0].value), 65536);
  EXPECT_EQ(std::get<std::string>((*out)[1].fields[1].value), "10.0.0.5:8002");
}

TEST(TimelineJson, TheRoutersJoinListsTheWorkersThatDidNotAnswer) {
  const std::vector<std::string> unreachable = {"10.0.0.5:8002"};
  std::string body = timeline_to_json("abc", {{"router", "received", 5, {}}}, &unreachable);
  EXPECT_NE(body.find("\"unreachable\":[\"10.0.0.5:8002\"]"), std::string::npos) << body;
  EXPECT_EQ(timeline_to_json("abc", {}).find("unreachable"), std::string::npos);
  ASSERT_TRUE(parse_timeline(body).ok());
}

TEST(TimelineJson, RefusesWhatIsNotATimeline) {
  for (const char* bad : {"", "[]", "{\"milestones\":3}", "{\"milestones\":[1]}",
                          "{\"milestones\":[{\"process\":\"router\",\"event\":\"x\"}]}",
                          "{\"milestones\":[{\"process\":1,\"event\":\"x\",\"time_us\":5}]}",
                          "{\"milestones\":[{\"process\":\"r\",\"event\":\"x\",\"time_us\":5,"
                          "\"f\":[1]}]}"}) {
    EXPECT_FALSE(parse_timeline(bad).ok()) << bad;
  }
  EXPECT_TRUE(parse_timeline("{\"milestones\":[]}").ok());
}

}  // namespace
}  // namespace pdserve::server::internal
