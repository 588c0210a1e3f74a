// The ucx backend's staging through host buffers (the path device memory
// takes without CUDA-capable UCX), in one process: PDSERVE_KV_UCX_STAGING is
// read when an agent starts, so a staged and an unstaged agent can face each
// other. The two-process suite runs the whole transfer contract staged too.
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "kvtransfer/agent.h"

namespace pdserve::kvtransfer {
namespace {

struct Env {
  Env(const char* name, const char* value) : name(name) { setenv(name, value, 1); }
  ~Env() { unsetenv(name); }
  const char* name;
};

Result<std::unique_ptr<Agent>> make(std::string name) {
  const AgentOptions o{
      .backend = BackendKind::kUcx, .name = std::move(name), .compat_key = "staging-test"};
  return Agent::create(o);
}

// An agent started with PDSERVE_KV_UCX_STAGING=always and chunks of
// `chunk_kb` (above the 64 KB eager limit they go by rendezvous).
std::unique_ptr<Agent> make_staged(std::string name, const char* chunk_kb = "256") {
  Env staging("PDSERVE_KV_UCX_STAGING", "always");
  Env chunk("PDSERVE_KV_UCX_STAGING_CHUNK_KB", chunk_kb);
  auto agent = make(std::move(name));
  EXPECT_TRUE(agent.ok()) << agent.status().to_string();
  return agent.ok() ? std::move(agent).value() : nullptr;
}

class UcxStagingTest : public ::testing::Test {
 protected:
  void SetUp() override { setenv("UCX_TLS", "sm,self", 1); }
  void TearDown() override { unsetenv("UCX_TLS"); }

  // Writes 3 ops (one of 1 MiB + 5 bytes, split into many chunks) from a to b
  // and checks every byte and the notification.
  void round_trip(Agent& a, Agent& b) {
    constexpr size_t kLen = 4 << 20;
    std::vector<char> src(kLen), dst(kLen, 0);
    std::mt19937 rng(5);
    for (char& c : src) c = static_cast<char>(rng());
    const uint64_t s = a.register_region(src.data(), kLen, MemoryKind::kHost).value();
    const uint64_t d = b.register_region(dst.data(), kLen, MemoryKind::kHost).value();
    const uint64_t peer = a.connect(b.metadata()).value();
    ASSERT_TRUE(b.grant(9, {{d, 0, kLen}}, GrantScope::kFirstPeer).ok());
    const std::vector<WriteOp> ops = {{s, 7, d, 2 << 20, (1 << 20) + 5},
                                      {s, 2 << 20, d, 0, 4096},
                                      {s, 100, d, (3 << 20) + 64, 1}};
    auto id = a.post_write(peer, ops, "staged", 9);
    ASSERT_TRUE(id.ok()) << id.status().to_string();
    ASSERT_TRUE(a.wait(*id, std::chrono::seconds(10)).ok());
    auto note = b.wait_notification(std::chrono::seconds(5));
    ASSERT_TRUE(note.ok()) << note.status().to_string();
    EXPECT_EQ(note->payload, "staged");
    EXPECT_EQ(note->epoch, 9u);
    for (const WriteOp& op : ops) {
      EXPECT_EQ(std::memcmp(dst.data() + op.remote_offset, src.data() + op.local_offset, op.len), 0)
          << "op at remote offset " << op.remote_offset;
    }
    EXPECT_EQ(dst[1 << 20], 0);  // nothing outside the ops
  }
};

TEST_F(UcxStagingTest, StagedSenderToStagedReceiver) {
  auto a = make_staged("a"), b = make_staged("b");
  ASSERT_TRUE(a && b);
  round_trip(*a, *b);
}

TEST_F(UcxStagingTest, EagerChunks) {
  auto a = make_staged("a", "64"), b = make_staged("b", "64");
  ASSERT_TRUE(a && b);
  round_trip(*a, *b);
}

TEST_F(UcxStagingTest, ChunksLargerThanTheReceiversUseHeapBuffers) {
  auto a = make_staged("a", "1024"), b = make_staged("b", "64");
  ASSERT_TRUE(a && b);
  round_trip(*a, *b);
}

// A staged transfer to a peer that vanished mid-transfer (shared memory: no
// failure detection) must not hold back staged transfers to another peer,
// and fails itself once its sends made no progress for 30 s.
TEST_F(UcxStagingTest, DeadPeerDoesNotStallOtherPeers) {
  auto a = make_staged("a"), b = make_staged("b"), c = make_staged("c");
  ASSERT_TRUE(a && b && c);
  constexpr size_t kLen = 64 << 20;
  std::vector<char> src(kLen, 7), dst_b(kLen, 0), dst_c(1 << 20, 0);
  const uint64_t s = a->register_region(src.data(), kLen, MemoryKind::kHost).value();
  const uint64_t db = b->register_region(dst_b.data(), kLen, MemoryKind::kHost).value();
  const uint64_t dc = c->register_region(dst_c.data(), dst_c.size(), MemoryKind::kHost).value();
  const uint64_t to_b = a->connect(b->metadata()).value();
  const uint64_t to_c = a->connect(c->metadata()).value();
  ASSERT_TRUE(b->grant(1, {{db, 0, kLen}}, GrantScope::kFirstPeer).ok());
  ASSERT_TRUE(c->grant(1, {{dc, 0, dst_c.size()}}, GrantScope::kFirstPeer).ok());
  auto doomed = a->post_write(to_b, {{s, 0, db, 0, kLen}}, "b", 1);
  ASSERT_TRUE(doomed.ok());
  b.reset();  // gone, with chunks of the transfer still in flight
  auto id = a->post_write(to_c, {{s, 0, dc, 0, 1 << 20}}, "c", 1);
  ASSERT_TRUE(id.ok());
  EXPECT_TRUE(a->wait(*id, std::chrono::seconds(10)).ok());
  EXPECT_TRUE(c->wait_notification(std::chrono::seconds(5)).ok());
  EXPECT_EQ(dst_c[12345], 7);
  // It fails (kUnavailable) once its sends made no progress for 30 s, unless
  // it had finished before b went away.
  const Status st = a->wait(*doomed, std::chrono::seconds(45));
  EXPECT_TRUE(st.ok() || st.code() == StatusCode::kUnavailable) << st.to_string();
}

TEST_F(UcxStagingTest, UnstagedSenderChunksIntoAStagedReceiver) {
  auto b = make_staged("b");
  auto a = make("a");
  ASSERT_TRUE(a.ok() && b);
  round_trip(**a, *b);
}

TEST_F(UcxStagingTest, StagedSenderToUnstagedReceiver) {
  auto a = make_staged("a");
  auto b = make("b");
  ASSERT_TRUE(a && b.ok());
  round_trip(*a, **b);
}

TEST_F(UcxStagingTest, PutProtocolRefusesAStagedRemoteRegion) {
  auto b = make_staged("b");
  ASSERT_TRUE(b);
  Env put("PDSERVE_KV_UCX_PROTOCOL", "put");
  auto a = make("a");
  ASSERT_TRUE(a.ok()) << a.status().to_string();
  std::vector<char> src(4096, 1), dst(4096, 0);
  const uint64_t s = (*a)->register_region(src.data(), src.size(), MemoryKind::kHost).value();
  const uint64_t d = b->register_region(dst.data(), dst.size(), MemoryKind::kHost).value();
  const uint64_t peer = (*a)->connect(b->metadata()).value();
  auto id = (*a)->post_write(peer, {{s, 0, d, 0, 4096}}, "n", 1);
  ASSERT_FALSE(id.ok());
  EXPECT_EQ(id.status().code(), StatusCode::kUnimplemented) << id.status().to_string();
  EXPECT_NE(id.status().message().find("staged"), std::string::npos) << id.status().message();
  EXPECT_EQ(dst[0], 0);
}

TEST_F(UcxStagingTest, BadSettingsAreRefusedAtStart) {
  {
    Env staging("PDSERVE_KV_UCX_STAGING", "sometimes");
    EXPECT_EQ(make("a").status().message(), "PDSERVE_KV_UCX_STAGING must be 'auto' or 'always'");
  }
  {
    Env staging("PDSERVE_KV_UCX_STAGING", "always");
    Env put("PDSERVE_KV_UCX_PROTOCOL", "put");
    EXPECT_EQ(make("a").status().message(), "PDSERVE_KV_UCX_STAGING=always needs the am protocol");
  }
  for (const char* bad : {"0", "2k", "", "99999999"}) {
    Env chunk("PDSERVE_KV_UCX_STAGING_CHUNK_KB", bad);
    EXPECT_EQ(make("a").status().code(), StatusCode::kInvalidArgument) << bad;
  }
  for (const char* bad : {"-1", "64KB", "2048"}) {
    Env eager("PDSERVE_KV_UCX_EAGER_MAX_KB", bad);
    EXPECT_EQ(make("a").status().message(),
              "PDSERVE_KV_UCX_EAGER_MAX_KB must be an integer from 0 to 1024")
        << bad;
  }
  {
    Env spin("PDSERVE_KV_UCX_SPIN_US", "-5");
    EXPECT_EQ(make("a").status().message(),
              "PDSERVE_KV_UCX_SPIN_US must be an integer from 0 to 1000000");
  }
}

}  // namespace
}  // namespace pdserve::kvtransfer
