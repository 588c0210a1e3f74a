// KvArrivals: the awaited arrival of a KV transfer's notification, over the
// local kvtransfer backend: there before the wait or while waiting, never
// (its deadline), or cut short by the decode worker stopping.
#include "decode_worker/kv_arrivals.h"

#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <vector>

#include "common/base/task.h"
#include "tests/common/base/sync_wait.h"

namespace pdserve::decode {
namespace {

using std::chrono::milliseconds;

std::unique_ptr<kvtransfer::Agent> make_agent(const std::string& name,
                                              const std::string& compat = "k",
                                              const std::string& token = "secret") {
  kvtransfer::AgentOptions o;
  o.backend = kvtransfer::BackendKind::kLocal;
  o.name = name;
  o.compat_key = compat;
  o.cluster_token = token;
  auto agent = kvtransfer::Agent::create(o);
  EXPECT_TRUE(agent.ok()) << agent.status().to_string();
  return std::move(agent).value();
}

// A prefill worker's agent writing into a decode worker's region.
class KvArrivalsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    p_ = make_agent("p");
    d_ = make_agent("d");
    src_id_ = p_->register_region(src_.data(), src_.size(), kvtransfer::MemoryKind::kHost).value();
    dst_id_ = d_->register_region(dst_.data(), dst_.size(), kvtransfer::MemoryKind::kHost).value();
    peer_ = p_->connect(d_->metadata()).value();
  }
  // Grants `epoch` and writes the region once per note, each with that
  // notification ("" for a layer of a layer-wise push).
  void write(uint64_t epoch, const std::vector<std::string>& notes) {
    ASSERT_TRUE(
        d_->grant(epoch, {{dst_id_, 0, dst_.size()}}, kvtransfer::GrantScope::kFirstPeer).ok());
    for (const std::string& note : notes) {
      auto id = p_->post_write(peer_, {{src_id_, 0, dst_id_, 0, src_.size()}}, note, epoch);
      ASSERT_TRUE(id.ok()) << id.status().to_string();
      ASSERT_TRUE(p_->wait(*id, milliseconds(1000)).ok());
    }
  }

  std::unique_ptr<kvtransfer::Agent> p_, d_;
  std::vector<unsigned char> src_ = std::vector<unsigned char>(64, 7), dst_ = src_;
  uint64_t src_id_ = 0, dst_id_ = 0, peer_ = 0;
};

// Starts waiting for `epoch` on this thread (the wait is registered when
// this returns); the future gets what the wait ended with.
std::future<Status> start_waiting(KvArrivals& arrivals, uint64_t epoch, milliseconds timeout) {
  auto done = std::make_shared<std::promise<Status>>();
  std::future<Status> ended = done->get_future();
  auto wait = [](KvArrivals& a, uint64_t e, milliseconds t,
                 std::shared_ptr<std::promise<Status>> d) -> Task<> {
    d->set_value(co_await a.arrival(e, t));
  };
  spawn(wait(arrivals, epoch, timeout, done));
  return ended;
}

TEST_F(KvArrivalsTest, ANotificationBeforeTheWaitIsKept) {
  KvArrivals arrivals(*d_);
  write(1, {"req-1"});
  EXPECT_TRUE(sync_wait(arrivals.arrival(1, milliseconds(30'000))).ok());
}

TEST_F(KvArrivalsTest, ANotificationWhileWaitingResumesTheWait) {
  KvArrivals arrivals(*d_);
  std::future<Status> waiting = start_waiting(arrivals, 2, milliseconds(30'000));
  write(2, {"", "req-2"});  // a layer (not the end), then the last one
  EXPECT_TRUE(waiting.get().ok());
}

TEST_F(KvArrivalsTest, NoNotificationEndsAtTheDeadline) {
  KvArrivals arrivals(*d_);
  write(3, {""});  // only a layer came
  EXPECT_EQ(sync_wait(arrivals.arrival(3, milliseconds(100))).code(),
            StatusCode::kDeadlineExceeded);
}

TEST_F(KvArrivalsTest, StoppingCancelsTheWait) {
  auto arrivals = std::make_unique<KvArrivals>(*d_);
  std::future<Status> waiting = start_waiting(*arrivals, 5, milliseconds(60'000));
  arrivals.reset();
  EXPECT_EQ(waiting.get().code(), StatusCode::kCancelled);
}

}  // namespace
}  // namespace pdserve::decode
