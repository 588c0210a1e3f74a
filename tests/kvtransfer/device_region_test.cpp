// Device regions (CUDA builds only): local backend cudaMemcpy paths, tcp
// bounce buffers and ucx staging, in one process. Skips when no CUDA device is present.
#include <cuda_runtime_api.h>
#include <gtest/gtest.h>

#include <cstring>
#include <numeric>

#include "kvtransfer/agent.h"

namespace pdserve::kvtransfer {
namespace {

bool have_device() {
  int n = 0;
  return cudaGetDeviceCount(&n) == cudaSuccess && n > 0;
}

struct DeviceBuffer {
  explicit DeviceBuffer(size_t n) : len(n) { EXPECT_EQ(cudaMalloc(&ptr, n), cudaSuccess); }
  ~DeviceBuffer() { cudaFree(ptr); }
  void* ptr = nullptr;
  size_t len;
};

void round_trip(BackendKind backend) {
  AgentOptions o;
  o.backend = backend;
  o.compat_key = "dev";
  o.device = 0;
  o.name = std::string(backend_name(backend)) + "-dev-a";
  auto a = Agent::create(o).value();
  o.name = std::string(backend_name(backend)) + "-dev-b";
  auto b = Agent::create(o).value();
  constexpr size_t kLen = 4 << 20;
  std::vector<unsigned char> host(kLen), back(kLen, 0);
  std::iota(host.begin(), host.end(), 0);
  DeviceBuffer src(kLen), dst(kLen);
  ASSERT_EQ(cudaMemcpy(src.ptr, host.data(), kLen, cudaMemcpyHostToDevice), cudaSuccess);
  uint64_t s = a->register_region(src.ptr, kLen, MemoryKind::kDevice).value();
  uint64_t h = a->register_region(host.data(), kLen, MemoryKind::kHost).value();
  uint64_t d = b->register_region(dst.ptr, kLen, MemoryKind::kDevice).value();
  uint64_t peer = a->connect(b->metadata()).value();
  ASSERT_TRUE(b->grant(1, {{d, 0, kLen}}, GrantScope::kFirstPeer).ok());
  // device -> device (3 MiB, several tcp chunks) and host -> device.
  auto id = a->post_write(peer, {{s, 0, d, 0, 3 << 20}, {h, 3 << 20, d, 3 << 20, 1 << 20}}, "n", 1);
  ASSERT_TRUE(id.ok()) << id.status().to_string();
  ASSERT_TRUE(a->wait(*id, std::chrono::seconds(10)).ok());
  ASSERT_TRUE(b->wait_notification(std::chrono::seconds(5)).ok());
  ASSERT_EQ(cudaMemcpy(back.data(), dst.ptr, kLen, cudaMemcpyDeviceToHost), cudaSuccess);
  EXPECT_EQ(std::memcmp(back.data(), host.data(), kLen), 0);
}

TEST(DeviceRegionTest, LocalBackendCopiesDeviceMemory) {
  if (!have_device()) GTEST_SKIP() << "no CUDA device";
  round_trip(BackendKind::kLocal);
}

TEST(DeviceRegionTest, TcpBackendBouncesDeviceMemory) {
  if (!have_device()) GTEST_SKIP() << "no CUDA device";
  round_trip(BackendKind::kTcp);
}

// Without CUDA-capable UCX (Debian's build) device regions are staged through
// page-locked host buffers; with it they are mapped and used directly.
TEST(DeviceRegionTest, UcxBackendStagesOrMapsDeviceMemory) {
  if (!have_device()) GTEST_SKIP() << "no CUDA device";
  round_trip(BackendKind::kUcx);
}

}  // namespace
}  // namespace pdserve::kvtransfer
