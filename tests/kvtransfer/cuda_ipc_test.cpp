// cuda_ipc between two processes on one GPU (CUDA builds; skips without a
// device). The receiver is its own executable (cuda_ipc_receiver_main.cpp),
// started with fork + exec, so it owns a fresh CUDA context.
#include <cuda_runtime_api.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <random>
#include <sstream>
#include <thread>

#include "kvtransfer/agent.h"
#include "kvtransfer/metadata.h"
#include "tests/kvtransfer/child_process.h"

namespace pdserve::kvtransfer {
namespace {

using std::chrono::milliseconds;
using testing::ChildProcess;

constexpr size_t kRegionLen = 64 << 20;  // the receiver's, and our source
constexpr char kToken[] = "cuda-ipc-token";

bool have_device() {
  int n = 0;
  return cudaGetDeviceCount(&n) == cudaSuccess && n > 0;
}

uint64_t fnv1a(const unsigned char* p, size_t n) {
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 1099511628211ull;
  return h;
}

std::unique_ptr<ChildProcess> start_receiver(const std::string& compat) {
  return std::make_unique<ChildProcess>([compat](int in, int out) {
    const std::string in_fd = std::to_string(in), out_fd = std::to_string(out);
    ::execl(CUDA_IPC_RECEIVER, CUDA_IPC_RECEIVER, in_fd.c_str(), out_fd.c_str(), compat.c_str(),
            kToken, static_cast<char*>(nullptr));
    return 127;
  });
}

class CudaIpcTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!have_device()) GTEST_SKIP() << "no CUDA device";
    host_.resize(kRegionLen);
    std::mt19937_64 rng(7);
    for (auto& b : host_) b = static_cast<unsigned char>(rng());
    ASSERT_EQ(cudaMalloc(&src_, kRegionLen), cudaSuccess);
    ASSERT_EQ(cudaMemcpy(src_, host_.data(), kRegionLen, cudaMemcpyHostToDevice), cudaSuccess);
  }
  void TearDown() override {
    agent_.reset();
    if (src_ != nullptr) cudaFree(src_);
  }

  // A receiver child and a sender agent; connects when `connect` is set.
  void start(const std::string& token = kToken, const std::string& receiver_compat = "model-a",
             const std::string& sender_compat = "model-a") {
    child_ = start_receiver(receiver_compat);
    auto meta = child_->call("meta");
    ASSERT_TRUE(meta.has_value());
    ASSERT_NE(meta->substr(0, 4), "err ") << *meta;
    meta_ = *meta;
    AgentOptions o;
    o.backend = BackendKind::kCudaIpc;
    o.name = "sender";
    o.compat_key = sender_compat;
    o.cluster_token = token;
    o.device = 0;
    auto agent = Agent::create(o);
    ASSERT_TRUE(agent.ok()) << agent.status().to_string();
    agent_ = std::move(agent).value();
    src_region_ = agent_->register_region(src_, kRegionLen, MemoryKind::kDevice).value();
    dst_region_ = AgentMetadata::parse(meta_).value().regions.at(0).id;
  }

  uint64_t receiver_sum(uint64_t offset, uint64_t len) {
    auto r = child_->call("sum " + std::to_string(offset) + " " + std::to_string(len));
    return r ? std::strtoull(r->c_str(), nullptr, 10) : 0;
  }

  std::vector<unsigned char> host_;
  void* src_ = nullptr;
  std::unique_ptr<ChildProcess> child_;
  std::string meta_;
  std::unique_ptr<Agent> agent_;
  uint64_t src_region_ = 0, dst_region_ = 0;
};

TEST_F(CudaIpcTest, ScatteredDeviceBlocksArriveByteForByte) {
  ASSERT_NO_FATAL_FAILURE(start());
  auto peer = agent_->connect(meta_);
  ASSERT_TRUE(peer.ok()) << peer.status().to_string();
  // 512 blocks of 16 KB into shuffled 64 KB slots (one gather/scatter
  // kernel), then one contiguous 8 MiB run (one cudaMemcpyAsync), then
  // unaligned odd-length blocks (the byte-wise kernel).
  std::mt19937_64 rng(11);
  std::vector<uint64_t> slots(kRegionLen / (64 << 10));
  for (size_t i = 0; i < slots.size(); ++i) slots[i] = i;
  std::shuffle(slots.begin(), slots.end(), rng);
  std::vector<WriteOp> scattered;
  for (size_t i = 0; i < 512; ++i) {
    scattered.push_back(
        {src_region_, i * (64 << 10), dst_region_, slots[i] * (64 << 10), 16 << 10});
  }
  std::vector<WriteOp> contiguous{{src_region_, 0, dst_region_, 40 << 20, 8 << 20}};
  std::vector<WriteOp> unaligned;
  for (size_t i = 0; i < 64; ++i) {
    unaligned.push_back({src_region_, 3 + i * 4099, dst_region_, (50 << 20) + 1 + i * 5003, 1001});
  }
  uint64_t epoch = 1;
  for (const auto* ops : {&scattered, &contiguous, &unaligned}) {
    auto id = agent_->post_write(*peer, *ops, "note-" + std::to_string(epoch), epoch);
    ASSERT_TRUE(id.ok()) << id.status().to_string();
    ASSERT_TRUE(agent_->wait(*id, std::chrono::seconds(10)).ok());
    auto note = child_->call("wait 5000");
    ASSERT_TRUE(note.has_value());
    EXPECT_EQ(*note, "ok " + std::to_string(epoch) + " note-" + std::to_string(epoch));
    for (const WriteOp& op : *ops) {
      ASSERT_EQ(receiver_sum(op.remote_offset, op.len),
                fnv1a(host_.data() + op.local_offset, op.len))
          << "block at " << op.remote_offset << " of epoch " << epoch;
    }
    ++epoch;
  }
  EXPECT_GE(agent_->bytes_sent(), (512u << 14) + (8u << 20) + 64u * 1001);
}

TEST_F(CudaIpcTest, WritesOutsideTheGrantsAreRefusedBeforeTheCopy) {
  ASSERT_NO_FATAL_FAILURE(start());
  auto peer = agent_->connect(meta_);
  ASSERT_TRUE(peer.ok()) << peer.status().to_string();
  auto id = agent_->post_write(*peer, {{src_region_, 0, dst_region_, 0, 4096}}, "x", 99);
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(agent_->wait(*id, std::chrono::seconds(5)).code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(receiver_sum(0, 4096), fnv1a(std::vector<unsigned char>(4096, 0).data(), 4096));
}

TEST_F(CudaIpcTest, ReceiverDyingMidTransferFailsTheSenderCleanly) {
  ASSERT_NO_FATAL_FAILURE(start());
  auto peer = agent_->connect(meta_);
  ASSERT_TRUE(peer.ok()) << peer.status().to_string();
  std::vector<uint64_t> ids;
  for (size_t i = 0; i < 2000; ++i) {
    auto id =
        agent_->post_write(*peer, {{src_region_, 0, dst_region_, 0, 4 << 20}}, "n", 1 + i % 8);
    ASSERT_TRUE(id.ok()) << id.status().to_string();
    ids.push_back(*id);
  }
  ASSERT_TRUE(agent_->wait(ids.front(), std::chrono::seconds(10)).ok());
  child_->kill_now();
  // Every transfer ends (none stays pending); the last ones failed kUnavailable.
  for (uint64_t id : ids) {
    Status s = agent_->wait(id, std::chrono::seconds(5));
    ASSERT_NE(s.code(), StatusCode::kDeadlineExceeded) << "transfer " << id << " still pending";
  }
  EXPECT_EQ(agent_->wait(ids.back(), milliseconds(0)).code(), StatusCode::kUnavailable);
  auto late = agent_->post_write(*peer, {{src_region_, 0, dst_region_, 0, 4096}}, "n", 1);
  EXPECT_FALSE(late.ok() && agent_->wait(*late, std::chrono::seconds(5)).ok());
}

// A layer-wise push: per epoch, 16 layers of 8 scattered 64 KB blocks, the
// first a claim (its go brings the lease), the last with the notification.
// Epoch 1 posts them back to back (the later ones wait for the claim's go,
// then copy under the lease); epoch 2 waits for each before the next (each
// after the first copies at once). Every block lands byte for byte.
TEST_F(CudaIpcTest, LayersUnderALeaseArriveByteForByte) {
  ASSERT_NO_FATAL_FAILURE(start());
  auto peer = agent_->connect(meta_);
  ASSERT_TRUE(peer.ok()) << peer.status().to_string();
  constexpr uint64_t kBlock = 64 << 10;
  for (uint64_t epoch = 1; epoch <= 2; ++epoch) {
    std::vector<uint64_t> ids;
    std::vector<WriteOp> all;
    for (uint64_t layer = 0; layer < 16; ++layer) {
      std::vector<WriteOp> ops;
      for (uint64_t b = 0; b < 8; ++b) {
        const uint64_t slot = (layer * 8 + b) * 2 + epoch - 1;  // every other slot: no merging
        ops.push_back(
            {src_region_, (slot * 7919 % 512) * kBlock, dst_region_, slot * kBlock, kBlock});
      }
      all.insert(all.end(), ops.begin(), ops.end());
      auto id =
          agent_->post_write(*peer, ops, layer == 15 ? "note-" + std::to_string(epoch) : "", epoch);
      ASSERT_TRUE(id.ok()) << id.status().to_string();
      ids.push_back(*id);
      if (epoch == 2) {
        ASSERT_TRUE(agent_->wait(*id, std::chrono::seconds(10)).ok());
      }
    }
    for (uint64_t id : ids) ASSERT_TRUE(agent_->wait(id, std::chrono::seconds(10)).ok());
    EXPECT_EQ(child_->call("wait 5000").value_or(""),
              "ok " + std::to_string(epoch) + " note-" + std::to_string(epoch));
    for (const WriteOp& op : all) {
      ASSERT_EQ(receiver_sum(op.remote_offset, op.len),
                fnv1a(host_.data() + op.local_offset, op.len))
          << "block at " << op.remote_offset << " of epoch " << epoch;
    }
  }
}

// The receiver gives up on an epoch while the sender holds its lease: the
// fence revokes it and returns once the sender released it; the epoch's
// later writes are refused, the last one fails, the next epoch goes.
TEST_F(CudaIpcTest, AFenceMidTransferRevokesTheLease) {
  ASSERT_NO_FATAL_FAILURE(start());
  auto peer = agent_->connect(meta_);
  ASSERT_TRUE(peer.ok()) << peer.status().to_string();
  for (uint64_t layer = 0; layer < 2; ++layer) {  // the claim, then one under the lease
    auto id =
        agent_->post_write(*peer, {{src_region_, 0, dst_region_, layer << 20, 1 << 20}}, "", 3);
    ASSERT_TRUE(id.ok());
    ASSERT_TRUE(agent_->wait(*id, std::chrono::seconds(10)).ok());
  }
  auto fenced = child_->call("fence 3");
  ASSERT_TRUE(fenced.has_value());
  ASSERT_EQ(fenced->substr(0, 3), "ok ");
  EXPECT_LT(std::stoi(fenced->substr(3)), 2000) << "the fence gave up waiting for the release";
  auto part = agent_->post_write(*peer, {{src_region_, 0, dst_region_, 2 << 20, 1 << 20}}, "", 3);
  ASSERT_TRUE(part.ok());
  EXPECT_EQ(agent_->wait(*part, std::chrono::seconds(10)).code(), StatusCode::kAborted);
  auto last =
      agent_->post_write(*peer, {{src_region_, 0, dst_region_, 3 << 20, 1 << 20}}, "note-3", 3);
  ASSERT_TRUE(last.ok());
  EXPECT_EQ(agent_->wait(*last, std::chrono::seconds(10)).code(), StatusCode::kAborted);
  auto next =
      agent_->post_write(*peer, {{src_region_, 0, dst_region_, 4 << 20, 4096}}, "note-4", 4);
  ASSERT_TRUE(next.ok());
  EXPECT_TRUE(agent_->wait(*next, std::chrono::seconds(10)).ok());
  EXPECT_EQ(child_->call("wait 5000").value_or(""), "ok 4 note-4");
}

// A sender that dies holding a lease: the receiver notices (its probe of
// the sender's control connection fails) and takes the lease back, so a
// fence of the epoch does not wait for a release that never comes.
TEST_F(CudaIpcTest, ASenderDyingMidTransferGivesItsLeaseBack) {
  ASSERT_NO_FATAL_FAILURE(start());
  auto peer = agent_->connect(meta_);
  ASSERT_TRUE(peer.ok()) << peer.status().to_string();
  auto id = agent_->post_write(*peer, {{src_region_, 0, dst_region_, 0, 1 << 20}}, "", 5);
  ASSERT_TRUE(id.ok());
  ASSERT_TRUE(agent_->wait(*id, std::chrono::seconds(10)).ok());  // the lease is held
  agent_.reset();                                                 // gone without a release
  auto fenced = child_->call("fence 5");
  ASSERT_TRUE(fenced.has_value());
  ASSERT_EQ(fenced->substr(0, 3), "ok ");
  EXPECT_LT(std::stoi(fenced->substr(3)), 2000) << "the lease outlived its sender";
}

TEST_F(CudaIpcTest, WrongClusterTokenIsRefusedBeforeAnyHandleIsSent) {
  ASSERT_NO_FATAL_FAILURE(start("not-the-token"));
  auto peer = agent_->connect(meta_);
  ASSERT_FALSE(peer.ok());
  // The receiver's challenge did not prove our token: we hang up before
  // sending a HELLO, so it never sends its table.
  EXPECT_EQ(peer.status().code(), StatusCode::kUnauthenticated) << peer.status().to_string();
}

TEST_F(CudaIpcTest, CompatKeyMismatchIsRefusedBeforeAnyHandleIsSent) {
  // Our own check refuses the receiver's metadata at once...
  ASSERT_NO_FATAL_FAILURE(start(kToken, "model-a", "model-b"));
  auto peer = agent_->connect(meta_);
  ASSERT_FALSE(peer.ok());
  EXPECT_EQ(peer.status().code(), StatusCode::kFailedPrecondition);
  // ...and a sender that lies about the receiver's key is refused by the
  // receiver's control handshake.
  AgentMetadata forged = AgentMetadata::parse(meta_).value();
  forged.compat_key = "model-b";
  AgentMetadata control = AgentMetadata::parse(forged.address).value();
  control.compat_key = "model-b/cuda_ipc-control";
  forged.address = control.serialize();
  peer = agent_->connect(forged.serialize());
  ASSERT_FALSE(peer.ok());
  EXPECT_EQ(peer.status().code(), StatusCode::kFailedPrecondition) << peer.status().to_string();
  std::this_thread::sleep_for(milliseconds(200));
  EXPECT_EQ(child_->call("refused").value_or(""), "1");
}

TEST_F(CudaIpcTest, HostRegionsBelongToAnotherBackend) {
  ASSERT_NO_FATAL_FAILURE(start());
  std::vector<char> host(4096);
  auto r = agent_->register_region(host.data(), host.size(), MemoryKind::kHost);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnimplemented);
}

}  // namespace
}  // namespace pdserve::kvtransfer
