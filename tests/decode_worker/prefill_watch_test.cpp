#include "decode_worker/prefill_watch.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>

#include "common/server/http_server.h"
#include "common/server/routes.h"
#include "tests/common/server/silent_listener.h"

namespace pdserve::decode {
namespace {

using namespace std::chrono_literals;

using server::testing::SilentListener;

TEST(PrefillWatchTest, StalledWorkerFiresEveryWatchOnItOnce) {
  SilentListener stalled;
  PrefillWatch watch(20ms, 200ms);
  std::promise<Status> first, second;
  const uint64_t a =
      watch.watch("127.0.0.1", stalled.port(), [&](const Status& why) { first.set_value(why); });
  const uint64_t b =
      watch.watch("127.0.0.1", stalled.port(), [&](const Status& why) { second.set_value(why); });
  auto fa = first.get_future(), fb = second.get_future();
  ASSERT_EQ(fa.wait_for(30s), std::future_status::ready);
  ASSERT_EQ(fb.wait_for(30s), std::future_status::ready);
  EXPECT_EQ(fa.get().code(), StatusCode::kUnavailable);
  EXPECT_NE(fb.get().message().find("stalled"), std::string::npos);
  // The answers that come after are to be ignored.
  EXPECT_FALSE(watch.finish(a));
  EXPECT_FALSE(watch.finish(b));
}

TEST(PrefillWatchTest, DeadWorkerFires) {
  uint16_t closed_port = 0;
  {
    SilentListener gone;
    closed_port = gone.port();
  }
  PrefillWatch watch(20ms, 200ms);
  std::promise<Status> fired;
  const uint64_t id =
      watch.watch("127.0.0.1", closed_port, [&](const Status& why) { fired.set_value(why); });
  auto f = fired.get_future();
  ASSERT_EQ(f.wait_for(30s), std::future_status::ready);
  EXPECT_FALSE(watch.finish(id));
}

TEST(PrefillWatchTest, AnsweringWorkerNeverFires) {
  std::atomic<int> probes{0};
  server::Routes routes;
  routes.add("GET", "/health", [&](const server::Request&) {
    ++probes;
    return server::Response::json(200, R"({"status":"ok"})");
  });
  auto srv = server::Server::start(server::ServerOptions(), std::move(routes));
  ASSERT_TRUE(srv.ok());
  PrefillWatch watch(20ms, 5s);
  std::atomic<bool> fired{false};
  const uint64_t id =
      watch.watch("127.0.0.1", (*srv)->port(), [&](const Status&) { fired = true; });
  const auto until = std::chrono::steady_clock::now() + 30s;
  while (probes < 5 && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(10ms);
  EXPECT_GE(probes, 5);
  EXPECT_TRUE(watch.finish(id));
  EXPECT_FALSE(fired);
  EXPECT_FALSE(watch.finish(id));
}

}  // namespace
}  // namespace pdserve::decode
