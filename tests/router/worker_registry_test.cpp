#include "router/worker_registry.h"

#include <gtest/gtest.h>

#include <thread>

namespace pdserve::router {
namespace {

using namespace std::chrono_literals;
using Clock = WorkerRegistry::Clock;
namespace internal = server::internal;

internal::WorkerState state(const std::string& role, int waiting = 0, int running = 0) {
  internal::WorkerState s;
  s.role = role;
  s.model = std::string(1, 'm');  // (= "m" trips a false GCC 12 -Wrestrict here)
  s.block_size = 16;
  s.load = {waiting, running, 100, 200};
  return s;
}

internal::Registration registration(const std::string& role, const std::string& host, uint16_t port,
                                    const std::string& model = "m") {
  internal::Registration r;
  r.role = role;
  r.address.host = host;
  r.address.port = port;
  r.model = model;
  return r;
}

const WorkerView* find(const WorkerSnapshot& s, const std::string& id) {
  for (const WorkerView& w : s.workers)
    if (w.id == id) return &w;
  return nullptr;
}

TEST(WorkerAddressTest, Parses) {
  auto a = parse_worker_address("10.0.0.1:8001");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->host, "10.0.0.1");
  EXPECT_EQ(a->port, 8001);
  auto v6 = parse_worker_address("[::1]:9");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(worker_id(*v6), "[::1]:9");
  for (const char* bad : {"host", ":80", "h:0", "h:65536", "h:x", "::1:80", "[]:1", "h:80x"})
    EXPECT_EQ(parse_worker_address(bad).status().code(), StatusCode::kInvalidArgument) << bad;
  EXPECT_TRUE(parse_role("decode").ok());
  EXPECT_EQ(parse_role("router").status().code(), StatusCode::kInvalidArgument);
}

TEST(WorkerRegistryTest, StaticWorkersFollowPolls) {
  WorkerRegistry reg({10s, 2});
  ASSERT_TRUE(reg.add_static(WorkerRole::kDecode, "d1:1").ok());
  EXPECT_EQ(reg.add_static(WorkerRole::kDecode, "d1:1").code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(reg.add_static(WorkerRole::kDecode, "nope").code(), StatusCode::kInvalidArgument);
  auto now = Clock::now();
  EXPECT_FALSE(find(reg.snapshot(now), "d1:1")->healthy);  // not polled yet
  reg.record_poll("d1:1", state("decode", 3, 4));
  const WorkerSnapshot s = reg.snapshot(now + 1h);  // static: no heartbeat needed
  const WorkerView* w = find(s, "d1:1");
  ASSERT_NE(w, nullptr);
  EXPECT_TRUE(w->healthy);
  EXPECT_TRUE(w->is_static);
  EXPECT_EQ(w->model, "m");
  EXPECT_EQ(w->block_size, 16);
  EXPECT_EQ(w->load.num_waiting, 3);
  EXPECT_EQ(w->load.num_running, 4);
  reg.record_poll_failure("d1:1");
  EXPECT_TRUE(find(reg.snapshot(now), "d1:1")->healthy);  // one failure tolerated
  reg.record_poll_failure("d1:1");
  EXPECT_FALSE(find(reg.snapshot(now), "d1:1")->healthy);
  EXPECT_TRUE(reg.expire(now + 1h).empty());  // static ones are never dropped
  reg.record_poll("d1:1", state("decode"));
  EXPECT_TRUE(find(reg.snapshot(now), "d1:1")->healthy);
  reg.mark_stalled("d1:1");  // a stream to it went silent: down at once
  EXPECT_FALSE(find(reg.snapshot(now), "d1:1")->healthy);
  reg.record_poll("d1:1", state("decode"));  // until a poll finds it well
  EXPECT_TRUE(find(reg.snapshot(now), "d1:1")->healthy);
  reg.record_poll("d1:1", state("prefill"));  // wrong role counts as a failure
  reg.record_poll("d1:1", state("prefill"));
  EXPECT_FALSE(find(reg.snapshot(now), "d1:1")->healthy);
}

TEST(WorkerRegistryTest, RegisteredWorkersExpire) {
  WorkerRegistry reg({10s, 1});
  const auto t0 = Clock::now();
  const internal::Registration r = registration("prefill", "p1", 5);
  auto fresh = reg.heartbeat(r, t0);
  ASSERT_TRUE(fresh.ok());
  EXPECT_TRUE(*fresh);
  EXPECT_TRUE(find(reg.snapshot(t0), "p1:5")->healthy);
  EXPECT_EQ(find(reg.snapshot(t0), "p1:5")->role, WorkerRole::kPrefill);
  auto again = reg.heartbeat(r, t0 + 8s);
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(*again);
  EXPECT_TRUE(find(reg.snapshot(t0 + 15s), "p1:5")->healthy);
  EXPECT_FALSE(find(reg.snapshot(t0 + 19s), "p1:5")->healthy);  // silent: unhealthy before expire
  EXPECT_TRUE(reg.expire(t0 + 17s).empty());
  EXPECT_EQ(reg.expire(t0 + 19s), std::vector<std::string>{"p1:5"});
  EXPECT_TRUE(reg.snapshot(t0).workers.empty());

  EXPECT_EQ(reg.heartbeat(registration("router", "x", 1), t0).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(reg.heartbeat(registration("decode", "", 1), t0).status().code(),
            StatusCode::kInvalidArgument);
  ASSERT_TRUE(reg.heartbeat(registration("decode", "d", 1), t0).ok());
  EXPECT_EQ(reg.heartbeat(registration("prefill", "d", 1), t0).status().code(),
            StatusCode::kFailedPrecondition);
  reg.record_poll_failure("d:1");
  EXPECT_FALSE(find(reg.snapshot(t0), "d:1")->healthy);
}

TEST(WorkerRegistryTest, InflightAndSortedSnapshot) {
  WorkerRegistry reg;
  ASSERT_TRUE(reg.add_static(WorkerRole::kDecode, "b:1").ok());
  ASSERT_TRUE(reg.add_static(WorkerRole::kDecode, "a:1").ok());
  reg.add_inflight("a:1", 2);
  reg.add_inflight("a:1", -1);
  reg.add_inflight("b:1", -5);  // never below 0
  reg.add_inflight("zz:1", 1);  // unknown: ignored
  const WorkerSnapshot s = reg.snapshot();
  ASSERT_EQ(s.workers.size(), 2u);
  EXPECT_EQ(s.workers[0].id, "a:1");
  EXPECT_EQ(s.workers[0].num_inflight, 1);
  EXPECT_EQ(s.workers[1].num_inflight, 0);
}

TEST(WorkerRegistryTest, ConcurrentReadersAndWriters) {
  WorkerRegistry reg;
  ASSERT_TRUE(reg.add_static(WorkerRole::kDecode, "a:1").ok());
  std::thread writer([&] {
    for (int i = 0; i < 2000; ++i) {
      reg.record_poll("a:1", state("decode", i, 0));
      reg.heartbeat(registration("prefill", "p", static_cast<uint16_t>(1 + i % 7)), Clock::now())
          .ok();
      reg.add_inflight("a:1", i % 2 ? 1 : -1);
    }
  });
  size_t seen = 0;
  for (int i = 0; i < 2000; ++i) seen += reg.snapshot().workers.size();
  writer.join();
  EXPECT_GE(seen, 2000u);
  EXPECT_EQ(reg.snapshot().workers.size(), 8u);
}

}  // namespace
}  // namespace pdserve::router
