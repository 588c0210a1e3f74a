#include "router/cluster_health.h"

#include <gtest/gtest.h>

namespace pdserve::router {
namespace {

WorkerView worker(WorkerRole role, bool healthy) {
  WorkerView w;
  w.role = role;
  w.healthy = healthy;
  w.id = "127.0.0.1:1";
  return w;
}

TEST(ClusterHealthTest, OkDegradedUnhealthy) {
  WorkerSnapshot s;
  s.workers = {worker(WorkerRole::kDecode, true), worker(WorkerRole::kPrefill, true)};
  EXPECT_EQ(cluster_health(s).http_status, 200);
  EXPECT_EQ(cluster_health(s).body, R"({"status":"ok"})");

  s.workers[1].healthy = false;  // the prefill worker died: decode prefills locally
  EXPECT_EQ(cluster_health(s).http_status, 200);
  EXPECT_EQ(cluster_health(s).body,
            R"({"status":"degraded","reason":"1 of 1 prefill workers down"})");

  s.workers.push_back(worker(WorkerRole::kDecode, false));
  EXPECT_EQ(
      cluster_health(s).body,
      R"({"status":"degraded","reason":"1 of 2 decode workers down, 1 of 1 prefill workers down"})");

  s.workers[0].healthy = false;
  EXPECT_EQ(cluster_health(s).http_status, 503);
  EXPECT_EQ(
      cluster_health(s).body,
      R"j({"status":"unhealthy","reason":"no healthy decode worker (2 of 2 decode workers down, 1 of 1 prefill workers down)"})j");
  // Never an address.
  EXPECT_EQ(cluster_health(s).body.find("127.0.0.1"), std::string::npos);
  EXPECT_EQ(cluster_health(WorkerSnapshot{}).http_status, 503);
}

}  // namespace
}  // namespace pdserve::router
