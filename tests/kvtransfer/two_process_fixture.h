// The fixture of the two-process kvtransfer tests (two_process_test.cpp,
// two_process_liveness_test.cpp): the test process sends, a forked child
// receives and answers commands over a pipe (child_process.h), for tcp, ucx
// over tcp and ucx over shared memory (INSTANTIATE in two_process_test.cpp).
#pragma once

#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <chrono>
#include <cstring>
#include <random>
#include <sstream>
#include <thread>

#include "kvtransfer/agent.h"
#include "kvtransfer/metadata.h"
#include "kvtransfer/ucx_internal.h"
#include "tests/kvtransfer/child_process.h"
#include "tests/kvtransfer/raw_ucx_sender.h"

namespace pdserve::kvtransfer::two_process {

using pdserve::kvtransfer::testing::ChildProcess;
using std::chrono::milliseconds;

inline constexpr size_t kRegionLen = 64 << 20;
inline constexpr size_t kSlot = 1 << 20;

struct Config {
  std::string label;
  BackendKind backend;
  std::string ucx_tls;   // set as UCX_TLS in both processes when not empty
  std::string protocol;  // PDSERVE_KV_UCX_PROTOCOL when not empty
  // Non-empty: PDSERVE_KV_UCX_STAGING=always with chunks of this many KB
  // (PDSERVE_KV_UCX_STAGING_CHUNK_KB), so host regions take the staged path
  // that device memory takes without CUDA-capable UCX.
  std::string staging_chunk_kb = "";
};
// How gtest (and so ctest's test names) shows a Config.
inline void PrintTo(const Config& c, std::ostream* os) {
  *os << c.label;
}

inline uint64_t checksum(const char* p, size_t n) {
  uint64_t h = 1469598103934665603ull;
  const uint64_t* w = reinterpret_cast<const uint64_t*>(p);
  for (size_t i = 0; i < n / 8; ++i) h = (h ^ w[i]) * 1099511628211ull;
  for (size_t i = n / 8 * 8; i < n; ++i)
    h = (h ^ static_cast<unsigned char>(p[i])) * 1099511628211ull;
  return h;
}

inline constexpr char kToken[] = "two-process-token";

// The receiving child: one region of kRegionLen, commands from the parent.
// Epochs 1..8 are granted the whole region; "grant" adds others.
inline int receiver_main(int in, int out, BackendKind backend, const std::string& compat) {
  AgentOptions options;
  options.backend = backend;
  options.name = "receiver";
  options.compat_key = compat;
  options.cluster_token = kToken;
  auto agent = Agent::create(options);
  if (!agent.ok()) {
    testing::send_message(out, "err " + agent.status().to_string());
    return 1;
  }
  std::vector<char> region(kRegionLen, 0);
  auto region_id = (*agent)->register_region(region.data(), region.size(), MemoryKind::kHost);
  if (!region_id.ok()) return 2;
  for (uint64_t epoch = 1; epoch <= 8; ++epoch) {
    if (!(*agent)->grant(epoch, {{*region_id, 0, kRegionLen}}, GrantScope::kFirstPeer).ok())
      return 3;
  }
  while (true) {
    auto cmd = testing::recv_message(in, std::chrono::seconds(60));
    if (!cmd) return 0;
    std::istringstream is(*cmd);
    std::string verb;
    is >> verb;
    std::string reply = "ok";
    if (verb == "meta") {
      reply = (*agent)->metadata();
    } else if (verb == "expect") {  // expect <epoch> <timeout_ms> <n> (offset len sum)*
      uint64_t epoch, timeout_ms, n;
      is >> epoch >> timeout_ms >> n;
      auto note = (*agent)->wait_notification(milliseconds(timeout_ms));
      while (note.ok() && note->payload.empty()) {  // a part's: the transfer goes on
        note = (*agent)->wait_notification(milliseconds(timeout_ms));
      }
      if (!note.ok()) {
        reply = "err " + note.status().to_string();
      } else if (note->epoch != epoch || note->peer_name != "sender" ||
                 note->payload != "note-" + std::to_string(epoch)) {
        reply = "err unexpected notification epoch " + std::to_string(note->epoch);
      }
      for (uint64_t i = 0; i < n && reply == "ok"; ++i) {
        uint64_t off, len, sum;
        is >> off >> len >> sum;
        if (checksum(region.data() + off, len) != sum)
          reply = "err checksum of block " + std::to_string(i);
      }
    } else if (verb == "fence") {
      uint64_t epoch;
      is >> epoch;
      (*agent)->fence_epoch(epoch);
    } else if (verb == "drain") {  // drain <ms>: epochs of the notifications that arrived
      uint64_t ms;
      is >> ms;
      std::this_thread::sleep_for(milliseconds(ms));
      reply = "epochs";
      for (const Notification& n : (*agent)->take_notifications())
        reply += " " + std::to_string(n.epoch) + (n.payload.empty() ? "p" : "");
    } else if (verb == "grant") {  // grant <epoch> <offset> <len>
      uint64_t epoch, off, len;
      is >> epoch >> off >> len;
      Status s = (*agent)->grant(epoch, {{*region_id, off, len}}, GrantScope::kFirstPeer);
      reply = s.ok() ? "ok" : "err " + s.to_string();
    } else if (verb == "sum") {  // sum <offset> <len>: checksum of that part of the region
      uint64_t off, len;
      is >> off >> len;
      reply = std::to_string(checksum(region.data() + off, len));
    } else if (verb == "refused") {
      reply = std::to_string((*agent)->peers_refused());
    } else if (verb == "dereg") {
      Status s = (*agent)->deregister_region(*region_id);
      reply = s.ok() ? "ok" : "err " + s.to_string();
    } else if (verb == "quit") {
      testing::send_message(out, "ok");
      return 0;
    }
    if (!testing::send_message(out, reply)) return 0;
  }
}

class TwoProcessTest : public ::testing::TestWithParam<Config> {
 protected:
  void SetUp() override {
    if (!GetParam().ucx_tls.empty()) setenv("UCX_TLS", GetParam().ucx_tls.c_str(), 1);
    if (!GetParam().protocol.empty())
      setenv("PDSERVE_KV_UCX_PROTOCOL", GetParam().protocol.c_str(), 1);
    if (!GetParam().staging_chunk_kb.empty()) {
      setenv("PDSERVE_KV_UCX_STAGING", "always", 1);
      setenv("PDSERVE_KV_UCX_STAGING_CHUNK_KB", GetParam().staging_chunk_kb.c_str(), 1);
    }
    src_.resize(kRegionLen);
    std::mt19937_64 rng(42);
    for (size_t i = 0; i < kRegionLen / 8; ++i) reinterpret_cast<uint64_t*>(src_.data())[i] = rng();
  }
  void TearDown() override {
    unsetenv("UCX_TLS");
    unsetenv("PDSERVE_KV_UCX_PROTOCOL");
    unsetenv("PDSERVE_KV_UCX_STAGING");
    unsetenv("PDSERVE_KV_UCX_STAGING_CHUNK_KB");
  }

  // Starts the receiver child and a connected sender agent.
  void start(const std::string& child_compat = "model-a", int fail_every_n = 0,
             const std::string& token = kToken) {
    BackendKind backend = GetParam().backend;
    child_ = std::make_unique<ChildProcess>([backend, child_compat](int in, int out) {
      return receiver_main(in, out, backend, child_compat);
    });
    auto meta = child_->call("meta");
    ASSERT_TRUE(meta.has_value());
    ASSERT_NE(meta->substr(0, 4), "err ") << *meta;
    peer_meta_ = *meta;
    AgentOptions options;
    options.backend = backend;
    options.name = "sender";
    options.compat_key = "model-a";
    options.cluster_token = token;
    options.fail_every_n = fail_every_n;
    auto agent = Agent::create(options);
    ASSERT_TRUE(agent.ok()) << agent.status().to_string();
    agent_ = std::move(agent).value();
    auto region = agent_->register_region(src_.data(), src_.size(), MemoryKind::kHost);
    ASSERT_TRUE(region.ok());
    src_region_ = *region;
    if (child_compat == "model-a" && token == kToken) {
      auto peer = agent_->connect(peer_meta_);
      ASSERT_TRUE(peer.ok()) << peer.status().to_string();
      peer_ = *peer;
      auto md = AgentMetadata::parse(peer_meta_);
      ASSERT_TRUE(md.ok() && !md->regions.empty());
      dst_region_ = md->regions[0].id;
    }
  }

  // n random blocks of 4 KB..1 MB into distinct 1 MB slots; "expect" command.
  std::vector<WriteOp> random_ops(std::mt19937_64& rng, size_t n, uint64_t epoch,
                                  std::string* expect) {
    std::vector<uint64_t> slots(kRegionLen / kSlot);
    for (size_t i = 0; i < slots.size(); ++i) slots[i] = i;
    std::shuffle(slots.begin(), slots.end(), rng);
    std::vector<WriteOp> ops;
    ops.reserve(n);
    std::ostringstream os;
    os << "expect " << epoch << " 10000 " << n;
    for (size_t i = 0; i < n; ++i) {
      uint64_t len = std::uniform_int_distribution<uint64_t>(4096, kSlot)(rng);
      uint64_t local = std::uniform_int_distribution<uint64_t>(0, kRegionLen - len)(rng);
      WriteOp op{src_region_, local, dst_region_, slots[i] * kSlot, len};
      ops.push_back(op);
      os << " " << op.remote_offset << " " << len << " " << checksum(src_.data() + local, len);
    }
    *expect = os.str();
    return ops;
  }

  // SIGSTOP of the receiver, returning once it is stopped (the signal is
  // delivered when the child next runs).
  void stop_child() {
    ASSERT_EQ(::kill(child_->pid(), SIGSTOP), 0);
    int stopped = 0;
    ASSERT_EQ(::waitpid(child_->pid(), &stopped, WUNTRACED), child_->pid());
    ASSERT_TRUE(WIFSTOPPED(stopped));
  }

  // connect() after the peer broke gives a new peer, whose write of epoch
  // `epoch` lands at `offset` (checksum).
  void expect_reconnect_writes(uint64_t epoch, uint64_t offset) {
    auto again = agent_->connect(peer_meta_);
    ASSERT_TRUE(again.ok()) << again.status().to_string();
    EXPECT_NE(*again, peer_);
    auto next = agent_->post_write(*again, {{src_region_, 0, dst_region_, offset, 4096}},
                                   "note-" + std::to_string(epoch), epoch);
    ASSERT_TRUE(next.ok()) << next.status().to_string();
    EXPECT_TRUE(agent_->wait(*next, std::chrono::seconds(10)).ok());
    EXPECT_EQ(child_->call("sum " + std::to_string(offset) + " 4096"),
              std::to_string(checksum(src_.data(), 4096)));
  }

  std::vector<WriteOp> big_ops(size_t n) {
    std::vector<WriteOp> ops;
    ops.reserve(n);
    for (size_t i = 0; i < n; ++i)
      ops.push_back({src_region_, (i % 64) * kSlot, dst_region_, (i % 64) * kSlot, kSlot});
    return ops;
  }

  std::vector<char> src_;
  std::unique_ptr<ChildProcess> child_;
  std::unique_ptr<Agent> agent_;
  std::string peer_meta_;
  uint64_t src_region_ = 0, dst_region_ = 0, peer_ = 0;
};

}  // namespace pdserve::kvtransfer::two_process
