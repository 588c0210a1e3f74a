#include "router/worker_poller.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace pdserve::router {
namespace {

using namespace std::chrono_literals;

// A listening socket nobody accepts on: the kernel completes connections and
// takes requests, no answer ever comes (a SIGSTOPped worker).
class SilentListener {
 public:
  SilentListener() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(a);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&a), len), 0);
    EXPECT_EQ(::listen(fd_, 16), 0);
    EXPECT_EQ(::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len), 0);
    port_ = ntohs(a.sin_port);
  }
  ~SilentListener() { ::close(fd_); }
  uint16_t port() const { return port_; }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
};

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
