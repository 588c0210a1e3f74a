#include "common/server/health.h"

#include <gtest/gtest.h>

#include "common/server/http_client.h"
#include "common/server/http_server.h"

namespace pdserve::server {
namespace {

using namespace std::chrono_literals;

TEST(Heartbeat, StuckOnlyWhenWorkIsPendingAndBeatsStopped) {
  Heartbeat hb;
  auto t0 = Heartbeat::Clock::now();
  hb.beat(t0);
  EXPECT_TRUE(hb.check(1s, t0 + 10s).ok());  // idle: silence is fine
  hb.set_pending(3);
  EXPECT_TRUE(hb.check(1s, t0 + 500ms).ok());
  Status stuck = hb.check(1s, t0 + 10s);
  EXPECT_EQ(stuck.code(), StatusCode::kUnavailable);
  EXPECT_NE(stuck.message().find("10.0 s"), std::string::npos) << stuck.message();
  EXPECT_NE(stuck.message().find("3 request(s)"), std::string::npos) << stuck.message();
  hb.beat(t0 + 10s);
  EXPECT_TRUE(hb.check(1s, t0 + 10s + 100ms).ok());
}

TEST(Heartbeat, HealthEndpointReportsTheProbe) {
  Heartbeat hb;
  Routes routes;
  mount_health(routes, hb.probe(50ms));
  mount_health(
      routes, [] { return internal_error("disk on fire"); }, "/health/other");
  auto server = Server::start(ServerOptions(), std::move(routes));
  ASSERT_TRUE(server.ok());
  HttpClient client;
  uint16_t port = (*server)->port();

  auto healthy = client.get("127.0.0.1", port, "/health");
  ASSERT_TRUE(healthy.ok());
  EXPECT_EQ(healthy->status, 200);
  EXPECT_EQ(healthy->body, R"({"status":"ok"})");

  hb.set_pending(1);
  std::this_thread::sleep_for(100ms);  // the loop "hangs"
  auto stuck = client.get("127.0.0.1", port, "/health");
  ASSERT_TRUE(stuck.ok());
  EXPECT_EQ(stuck->status, 503);
  EXPECT_NE(stuck->body.find("\"status\":\"unhealthy\""), std::string::npos) << stuck->body;
  EXPECT_NE(stuck->body.find("engine loop stalled"), std::string::npos) << stuck->body;

  hb.beat();
  EXPECT_EQ(client.get("127.0.0.1", port, "/health")->status, 200);
  auto other = client.get("127.0.0.1", port, "/health/other");
  EXPECT_EQ(other->status, 503);
  EXPECT_NE(other->body.find("disk on fire"), std::string::npos);
}

}  // namespace
}  // namespace pdserve::server
