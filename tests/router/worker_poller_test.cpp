#include "router/worker_poller.h"

#include <gtest/gtest.h>

#include "tests/common/server/silent_listener.h"

namespace pdserve::router {
namespace {

using namespace std::chrono_literals;

using server::testing::SilentListener;

// (Parameters, not literals assigned to the members: those trip a false GCC 12 -Wrestrict.)
server::internal::Registration decode_worker(uint16_t port, const std::string& role = "decode",
                                             const std::string& host = "127.0.0.1",
                                             const std::string& model = "m") {
  server::internal::Registration r;
  r.role = role;
  r.address.host = host;
  r.address.port = port;
  r.model = model;
  return r;
}

bool healthy(const WorkerRegistry& registry) {
  return registry.snapshot().workers.at(0).healthy;
}

// Failed polls alone would take 1000 rounds to mark a worker down here.
WorkerRegistryOptions patient() {
  WorkerRegistryOptions o;
  o.heartbeat_timeout = 1h;
  o.max_failed_polls = 1000;
  return o;
}

TEST(WorkerPollerTest, WorkerThatLeavesAPollUnansweredIsDownAtOnce) {
  SilentListener stalled;
  WorkerRegistry registry(patient());
  ASSERT_TRUE(registry.heartbeat(decode_worker(stalled.port()), WorkerRegistry::Clock::now()).ok());
  ASSERT_TRUE(healthy(registry));
  PrefixIndex index;
  WorkerPoller poller(registry, index, "token", 1h, 200ms);
  poller.poll_once();
  EXPECT_FALSE(healthy(registry));
}

TEST(WorkerPollerTest, RefusedPollCountsOneFailure) {
  uint16_t closed_port = 0;
  {
    SilentListener gone;
    closed_port = gone.port();
  }
  WorkerRegistry registry(patient());
  ASSERT_TRUE(registry.heartbeat(decode_worker(closed_port), WorkerRegistry::Clock::now()).ok());
  PrefixIndex index;
  WorkerPoller poller(registry, index, "token", 1h, 200ms);
  poller.poll_once();
  EXPECT_TRUE(healthy(registry));
}

}  // namespace
}  // namespace pdserve::router
