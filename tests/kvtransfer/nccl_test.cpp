// nccl backend between two processes on GPUs 0 and 1 (CUDA builds only).
// The test process never touches CUDA itself: a forked probe counts devices,
// then a forked receiver (GPU 1) and sender (GPU 0) do the work. Skips with
// fewer than two GPUs.
#include <cuda_runtime_api.h>
#include <gtest/gtest.h>

#include <cstring>
#include <numeric>
#include <sstream>

#include "kvtransfer/agent.h"
#include "kvtransfer/metadata.h"
#include "tests/kvtransfer/child_process.h"

namespace pdserve::kvtransfer {
namespace {

using testing::ChildProcess;
constexpr size_t kLen = 8 << 20;

int probe(int, int out) {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) n = 0;
  testing::send_message(out, std::to_string(n));
  return 0;
}

std::unique_ptr<Agent> make(const char* name, int device) {
  AgentOptions o;
  o.backend = BackendKind::kNccl;
  o.name = name;
  o.compat_key = "nccl-test";
  o.device = device;
  auto a = Agent::create(o);
  return a.ok() ? std::move(a).value() : nullptr;
}

std::vector<unsigned char> pattern() {
  std::vector<unsigned char> v(kLen);
  for (size_t i = 0; i < kLen; ++i) v[i] = static_cast<unsigned char>(i * 7 + 3);
  return v;
}

int receiver(int in, int out) {
  auto agent = make("nccl-receiver", 1);
  void* dst = nullptr;
  if (!agent || cudaSetDevice(1) != cudaSuccess || cudaMalloc(&dst, kLen) != cudaSuccess) return 1;
  cudaMemset(dst, 0, kLen);
  auto region = agent->register_region(dst, kLen, MemoryKind::kDevice);
  if (!region.ok()) return 2;
  if (!agent->grant(5, {{*region, 0, kLen}}, GrantScope::kFirstPeer).ok()) return 3;
  testing::send_message(out, agent->metadata());
  auto note = agent->wait_notification(std::chrono::seconds(30));
  std::vector<unsigned char> got(kLen), want = pattern();
  cudaMemcpy(got.data(), dst, kLen, cudaMemcpyDeviceToHost);
  bool ok = note.ok() && note->epoch == 5 && std::memcmp(got.data(), want.data(), kLen) == 0;
  testing::send_message(out, ok ? "ok" : "bad");
  testing::recv_message(in, std::chrono::seconds(30));
  return 0;
}

int sender(int in, int out) {
  auto meta = testing::recv_message(in, std::chrono::seconds(30));
  auto agent = make("nccl-sender", 0);
  void* src = nullptr;
  if (!meta || !agent || cudaSetDevice(0) != cudaSuccess || cudaMalloc(&src, kLen) != cudaSuccess)
    return 1;
  auto host = pattern();
  cudaMemcpy(src, host.data(), kLen, cudaMemcpyHostToDevice);
  uint64_t s = agent->register_region(src, kLen, MemoryKind::kDevice).value();
  auto peer = agent->connect(*meta);
  if (!peer.ok()) {
    testing::send_message(out, "connect " + peer.status().to_string());
    return 0;
  }
  uint64_t d = AgentMetadata::parse(*meta)->regions[0].id;
  std::vector<WriteOp> ops;
  for (uint64_t i = 0; i < 8; ++i) ops.push_back({s, i << 20, d, i << 20, 1 << 20});
  auto id = agent->post_write(*peer, ops, "layer-0", 5);
  Status st = id.ok() ? agent->wait(*id, std::chrono::seconds(30)) : id.status();
  testing::send_message(out, st.ok() ? "ok" : st.to_string());
  testing::recv_message(in, std::chrono::seconds(30));
  return 0;
}

TEST(NcclTest, TwoGpusTwoProcesses) {
  int devices = 0;
  {
    ChildProcess p(probe);
    auto n = p.recv(std::chrono::seconds(30));
    devices = n ? std::stoi(*n) : 0;
  }
  if (devices < 2) GTEST_SKIP() << "needs 2 GPUs, found " << devices;
  ChildProcess rx(receiver);
  auto meta = rx.recv(std::chrono::seconds(60));
  ASSERT_TRUE(meta.has_value());
  ChildProcess tx(sender);
  ASSERT_TRUE(tx.send(*meta));
  EXPECT_EQ(tx.recv(std::chrono::seconds(60)), "ok");
  EXPECT_EQ(rx.recv(std::chrono::seconds(60)), "ok");
  tx.send("quit");
  rx.send("quit");
}

}  // namespace
}  // namespace pdserve::kvtransfer
