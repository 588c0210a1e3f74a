// The receiving process of the cuda_ipc tests (CUDA builds). A separate
// executable, started with fork + exec: a process forked from one that
// already used CUDA cannot use it. One 64 MiB device region; epochs 1..8 are
// granted all of it. Arguments: in_fd out_fd compat_key cluster_token.
// Commands (child_process.h messages): "meta", "wait <ms>" (the oldest
// notification with a payload, parts' empty ones skipped: "ok <epoch>
// <payload>"), "sum <offset> <len>" (FNV-1a of the region's bytes), "fence
// <epoch>" ("ok <ms it took>"), "refused", "quit".
#include <cuda_runtime_api.h>

#include <chrono>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include "kvtransfer/agent.h"
#include "tests/kvtransfer/child_process.h"

namespace kv = pdserve::kvtransfer;

namespace {

constexpr size_t kRegionLen = 64 << 20;

uint64_t fnv1a(const std::vector<unsigned char>& bytes) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : bytes) h = (h ^ c) * 1099511628211ull;
  return h;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 5) return 2;
  const int in = std::atoi(argv[1]);
  const int out = std::atoi(argv[2]);
  void* region = nullptr;
  if (cudaMalloc(&region, kRegionLen) != cudaSuccess || cudaMemset(region, 0, kRegionLen)) {
    kv::testing::send_message(out, "err cudaMalloc");
    return 1;
  }
  kv::AgentOptions o;
  o.backend = kv::BackendKind::kCudaIpc;
  o.name = "receiver";
  o.compat_key = argv[3];
  o.cluster_token = argv[4];
  o.device = 0;
  auto agent = kv::Agent::create(o);
  if (!agent.ok()) {
    kv::testing::send_message(out, "err " + agent.status().to_string());
    return 1;
  }
  auto id = (*agent)->register_region(region, kRegionLen, kv::MemoryKind::kDevice);
  if (!id.ok()) {
    kv::testing::send_message(out, "err " + id.status().to_string());
    return 1;
  }
  for (uint64_t epoch = 1; epoch <= 8; ++epoch) {
    if (!(*agent)->grant(epoch, {{*id, 0, kRegionLen}}, kv::GrantScope::kFirstPeer).ok()) return 3;
  }
  while (true) {
    auto cmd = kv::testing::recv_message(in, std::chrono::seconds(120));
    if (!cmd) return 0;
    std::istringstream is(*cmd);
    std::string verb;
    is >> verb;
    std::string reply = "ok";
    if (verb == "meta") {
      reply = (*agent)->metadata();
    } else if (verb == "wait") {
      int ms = 0;
      is >> ms;
      auto note = (*agent)->wait_notification(std::chrono::milliseconds(ms));
      while (note.ok() && note->payload.empty()) {
        note = (*agent)->wait_notification(std::chrono::milliseconds(ms));
      }
      reply = note.ok() ? "ok " + std::to_string(note->epoch) + " " + note->payload
                        : "err " + note.status().to_string();
    } else if (verb == "sum") {
      uint64_t off = 0, len = 0;
      is >> off >> len;
      std::vector<unsigned char> host(len);
      if (off + len > kRegionLen ||
          cudaMemcpy(host.data(), static_cast<char*>(region) + off, len, cudaMemcpyDeviceToHost)) {
        reply = "err sum";
      } else {
        reply = std::to_string(fnv1a(host));
      }
    } else if (verb == "fence") {
      uint64_t epoch = 0;
      is >> epoch;
      const auto t0 = std::chrono::steady_clock::now();
      (*agent)->fence_epoch(epoch);
      reply = "ok " + std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                                         std::chrono::steady_clock::now() - t0)
                                         .count());
    } else if (verb == "refused") {
      reply = std::to_string((*agent)->peers_refused());
    } else if (verb == "quit") {
      kv::testing::send_message(out, "ok");
      return 0;
    }
    if (!kv::testing::send_message(out, reply)) return 0;
  }
}
