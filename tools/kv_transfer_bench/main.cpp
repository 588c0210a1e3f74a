// kv_transfer_bench: throughput and per-transfer latency of kvtransfer
// backends between two processes on this machine, beside memcpy bandwidth
// (--device cuda: device copy bandwidth, the cuda_ipc copy path inside one
// process) measured in the same run.
//
//   kv_transfer_bench [--backends=tcp,ucx_shm,ucx_tcp,cuda_ipc] [--seconds=0.25] [--scattered]
//                     [--inflight=1] [--layers=1] [--block-kb=N] [--count=N]
//                     [--device=cpu|cuda] [--json=PATH]
//
// For each backend the tool starts a receiver (one 256 MiB region, in device
// memory with --device cuda; the receiver is this binary exec'd again, so
// that it gets a CUDA context of its own), connects
// to it and posts transfers of `count` blocks of `block` bytes (the blocks of
// one list are adjacent, so the backends merge them into few large ops; with
// --scattered every other block is used, so none merge), keeping up to
// --inflight of them outstanding (a layer-wise push posts one transfer per
// layer without waiting) and waiting for the oldest (data landed +
// notification acknowledged) before posting the next. Transfers in flight
// write disjoint parts of the region. --layers=N posts the transfers as a
// layer-wise push does: N writes per epoch, the first N-1 with an empty
// notification (parts, agent.h), the last with the notification. GB/s = bytes / wall time of the
// sequence; p50/p99 are the per-transfer post→done latencies.
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <exception>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "kvtransfer/agent.h"
#include "tools/kv_transfer_bench/device_buffers.h"

namespace kv = pdserve::kvtransfer;
using Clock = std::chrono::steady_clock;

namespace {

constexpr size_t kRegionLen = 256 << 20;
const size_t kBlocks[] = {16 << 10, 64 << 10, 256 << 10, 1 << 20, 4 << 20};
const size_t kCounts[] = {1, 16, 256, 4096};

struct BackendConfig {
  std::string label;
  kv::BackendKind kind;
  const char* ucx_tls;
};

bool write_msg(int fd, const std::string& s) {
  uint64_t n = s.size();
  return ::write(fd, &n, 8) == 8 && ::write(fd, s.data(), n) == static_cast<ssize_t>(n);
}

bool read_exact(int fd, char* p, size_t n) {
  while (n > 0) {
    pollfd pfd{fd, POLLIN, 0};
    if (::poll(&pfd, 1, 10000) <= 0) return false;
    ssize_t got = ::read(fd, p, n);
    if (got <= 0) return false;
    p += got;
    n -= static_cast<size_t>(got);
  }
  return true;
}

int receiver(int fd, kv::BackendKind kind, bool device) {
  kv::AgentOptions o;
  o.backend = kind;
  o.name = "bench-receiver";
  o.compat_key = "bench";
  o.require_grants = false;  // the transports' speed, over thousands of epochs
  o.device = device ? 0 : -1;
  auto agent = kv::Agent::create(o);
  if (!agent.ok()) {
    std::fprintf(stderr, "receiver: %s\n", agent.status().to_string().c_str());
    return 1;
  }
  std::vector<char> host_region(device ? 0 : kRegionLen, 1);
  void* region = device ? kv_bench::alloc_device(kRegionLen, 1) : host_region.data();
  if (region == nullptr ||
      !(*agent)
           ->register_region(region, kRegionLen,
                             device ? kv::MemoryKind::kDevice : kv::MemoryKind::kHost)
           .ok())
    return 2;
  if (!write_msg(fd, (*agent)->metadata())) return 3;
  while (true) {  // drain notifications until the parent closes the socket
    (*agent)->take_notifications();
    pollfd pfd{fd, POLLIN, 0};
    if (::poll(&pfd, 1, 50) != 0) return 0;
  }
}

// The sender's source region: mapped MADV_DONTFORK, so that the forked
// receiver does not share its pages copy-on-write (otherwise every page the
// receiver's CMA read pins is unshared first, a page copy and a TLB
// shootdown each, which is the benchmark's artefact, not the transport's).
class SourceRegion {
 public:
  SourceRegion() {
    void* p =
        ::mmap(nullptr, kRegionLen, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw std::runtime_error("mmap of the source region failed");
    data_ = static_cast<char*>(p);
    ::madvise(data_, kRegionLen, MADV_DONTFORK);
    std::memset(data_, 3, kRegionLen);
  }
  ~SourceRegion() { ::munmap(data_, kRegionLen); }
  SourceRegion(const SourceRegion&) = delete;
  SourceRegion& operator=(const SourceRegion&) = delete;
  char* data() const { return data_; }
  size_t size() const { return kRegionLen; }

 private:
  char* data_ = nullptr;
};

double memcpy_gbps(const SourceRegion& src, std::vector<char>& dst, size_t block, size_t count,
                   double seconds) {
  size_t bytes = 0;
  auto t0 = Clock::now();
  size_t offset = 0;
  do {
    for (size_t i = 0; i < count; ++i) {
      if (offset + block > kRegionLen) offset = 0;
      std::memcpy(dst.data() + offset, src.data() + offset, block);
      offset += block;
    }
    bytes += block * count;
  } while (std::chrono::duration<double>(Clock::now() - t0).count() < seconds);
  return bytes / std::chrono::duration<double>(Clock::now() - t0).count() / 1e9;
}

double percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * v.size()))];
}

// memcpy GB/s per (block, count), measured before any agent runs.
using MemcpyTable = std::vector<std::pair<std::pair<size_t, size_t>, double>>;

double lookup(const MemcpyTable& t, size_t block, size_t count) {
  for (const auto& [key, gbps] : t) {
    if (key == std::make_pair(block, count)) return gbps;
  }
  return 0;
}

struct RunOptions {
  double seconds = 0.25;
  bool device = false;  // --device cuda
  bool scattered = false;
  size_t inflight = 1;
  size_t layers = 1;      // writes per epoch, the last one notifying
  size_t only_block = 0;  // --block-kb: measure this block size only (bytes; 0: all)
  size_t only_count = 0;  // --count: this list length only (0: all)
};

// One measured point, for --json.
struct BenchPoint {
  std::string backend;
  size_t block = 0, count = 0;
  double gbps = 0, p50_us = 0, p99_us = 0, baseline_gbps = 0;
};

int run_backend(const BackendConfig& cfg, const RunOptions& run, const SourceRegion& src,
                void* device_src, const MemcpyTable& memcpy_table,
                std::vector<BenchPoint>* results) {
  if (cfg.ucx_tls != nullptr) setenv("UCX_TLS", cfg.ucx_tls, 1);
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) return 1;
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(sv[0]);
    const std::string fd_arg = "--receiver-fd=" + std::to_string(sv[1]);
    const std::string backend_arg = "--backends=" + cfg.label;
    const char* device_arg = run.device ? "--device=cuda" : "--device=cpu";
    ::execl("/proc/self/exe", "kv_transfer_bench", fd_arg.c_str(), backend_arg.c_str(), device_arg,
            static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(sv[1]);
  uint64_t n = 0;
  std::string meta;
  bool ok = read_exact(sv[0], reinterpret_cast<char*>(&n), 8);
  if (ok) {
    meta.resize(n);
    ok = read_exact(sv[0], meta.data(), n);
  }
  kv::AgentOptions o;
  o.backend = cfg.kind;
  o.name = "bench-sender";
  o.compat_key = "bench";
  o.require_grants = false;  // as the receiver
  o.device = run.device ? 0 : -1;
  auto agent = ok ? kv::Agent::create(o)
                  : pdserve::Result<std::unique_ptr<kv::Agent>>(
                        pdserve::unavailable("receiver did not start"));
  int rc = 0;
  if (!agent.ok()) {
    std::fprintf(stderr, "%s: %s\n", cfg.label.c_str(), agent.status().to_string().c_str());
    rc = 1;
  } else {
    uint64_t src_id =
        (*agent)
            ->register_region(run.device ? device_src : src.data(), src.size(),
                              run.device ? kv::MemoryKind::kDevice : kv::MemoryKind::kHost)
            .value();
    auto peer = (*agent)->connect(meta);
    if (!peer.ok()) {
      std::fprintf(stderr, "%s: connect: %s\n", cfg.label.c_str(),
                   peer.status().to_string().c_str());
      rc = 1;
    }
    uint64_t dst_id = 1;  // the receiver's first region
    for (size_t block : kBlocks) {
      for (size_t count : kCounts) {
        // --scattered: every other block, so no two blocks of a list are adjacent
        // (the backends merge adjacent blocks into one op). Each slot of the
        // in-flight window writes its own part of the region.
        const size_t stride = run.scattered ? 2 * block : block;
        const size_t span = stride * count;
        const size_t window = std::min(run.inflight, kRegionLen / std::max<size_t>(span, 1));
        if (rc != 0 || window == 0) continue;
        if ((run.only_block != 0 && block != run.only_block) ||
            (run.only_count != 0 && count != run.only_count))
          continue;
        std::vector<std::vector<kv::WriteOp>> slots(window);
        for (size_t w = 0; w < window; ++w) {
          for (size_t i = 0; i < count; ++i) {
            const size_t at = w * span + i * stride;
            slots[w].push_back({src_id, at, dst_id, at, block});
          }
        }
        struct Posted {
          uint64_t id;
          Clock::time_point at;
        };
        std::deque<Posted> posted;
        std::vector<double> lat_us;
        uint64_t epoch = 0;
        const auto wait_oldest = [&]() -> bool {
          const Posted p = posted.front();
          posted.pop_front();
          const pdserve::Status st = (*agent)->wait(p.id, std::chrono::seconds(30));
          if (!st.ok()) {
            std::fprintf(stderr, "%s: transfer failed: %s\n", cfg.label.c_str(),
                         st.to_string().c_str());
            return false;
          }
          lat_us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - p.at).count());
          return true;
        };
        auto t0 = Clock::now();
        // Counts writes; the sequence ends with a whole epoch.
        const auto more = [&] {
          if (epoch % run.layers != 0) return true;
          return (std::chrono::duration<double>(Clock::now() - t0).count() < run.seconds ||
                  epoch < 3) &&
                 epoch < 20000;
        };
        while (rc == 0 && more()) {
          if (posted.size() == window && !wait_oldest()) rc = 1;
          if (rc != 0) break;
          const auto at = Clock::now();
          const bool last = (epoch + 1) % run.layers == 0;
          auto id = (*agent)->post_write(*peer, slots[epoch % window], last ? "b" : "",
                                         epoch / run.layers + 1);
          ++epoch;
          if (!id.ok()) {
            std::fprintf(stderr, "%s: post failed: %s\n", cfg.label.c_str(),
                         id.status().to_string().c_str());
            rc = 1;
            break;
          }
          posted.push_back({*id, at});
        }
        while (rc == 0 && !posted.empty()) {
          if (!wait_oldest()) rc = 1;
        }
        if (rc != 0) break;
        double wall = std::chrono::duration<double>(Clock::now() - t0).count();
        double gbps = lat_us.size() * block * count / wall / 1e9;
        double mc = lookup(memcpy_table, block, count);
        results->push_back(
            {cfg.label, block, count, gbps, percentile(lat_us, 0.5), percentile(lat_us, 0.99), mc});
        std::printf("%-8s %8zuK %6zu %10.2f %10.1f %10.1f %10.2f %6.0f%%\n", cfg.label.c_str(),
                    block >> 10, count, gbps, percentile(lat_us, 0.5), percentile(lat_us, 0.99), mc,
                    100.0 * gbps / mc);
        std::fflush(stdout);
      }
    }
    agent->reset();
  }
  ::close(sv[0]);
  int status = 0;
  ::kill(pid, SIGTERM);
  ::waitpid(pid, &status, 0);
  unsetenv("UCX_TLS");
  return rc;
}

bool write_json(const std::string& path, const RunOptions& run,
                const std::vector<BenchPoint>& results) {
  std::FILE* f = std::fopen(path.c_str(), "w");
  if (f == nullptr) return false;
  std::fprintf(f,
               "{\"device\": \"%s\", \"scattered\": %s, \"inflight\": %zu, \"layers\": %zu, "
               "\"results\": [",
               run.device ? "cuda" : "cpu", run.scattered ? "true" : "false", run.inflight,
               run.layers);
  for (size_t i = 0; i < results.size(); ++i) {
    const BenchPoint& r = results[i];
    std::fprintf(
        f,
        "%s\n  {\"backend\": \"%s\", \"block_bytes\": %zu, \"count\": %zu, \"gbps\": %.3f, "
        "\"p50_us\": %.1f, \"p99_us\": %.1f, \"baseline_gbps\": %.3f}",
        i == 0 ? "" : ",", r.backend.c_str(), r.block, r.count, r.gbps, r.p50_us, r.p99_us,
        r.baseline_gbps);
  }
  std::fprintf(f, "\n]}\n");
  return std::fclose(f) == 0;
}

}  // namespace

namespace {

int bench_main(int argc, char** argv) {
  std::string backends = "tcp,ucx_shm,ucx_tcp";
  std::string json_path;
  int receiver_fd = -1;
  RunOptions run;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a.rfind("--receiver-fd=", 0) == 0) {
      receiver_fd = std::atoi(a.c_str() + 14);
    } else if (a == "--device=cuda" || a == "--device=cpu") {
      run.device = a == "--device=cuda";
    } else if (a.rfind("--json=", 0) == 0) {
      json_path = a.substr(7);
    } else if (a.rfind("--backends=", 0) == 0) {
      backends = a.substr(11);
    } else if (a == "--scattered") {
      run.scattered = true;
    } else if (a.rfind("--seconds=", 0) == 0) {
      run.seconds = std::atof(a.c_str() + 10);
    } else if (a.rfind("--inflight=", 0) == 0 && std::atoi(a.c_str() + 11) > 0) {
      run.inflight = static_cast<size_t>(std::atoi(a.c_str() + 11));
    } else if (a.rfind("--layers=", 0) == 0 && std::atoi(a.c_str() + 9) > 0) {
      run.layers = static_cast<size_t>(std::atoi(a.c_str() + 9));
    } else if (a.rfind("--block-kb=", 0) == 0 && std::atoi(a.c_str() + 11) > 0) {
      run.only_block = static_cast<size_t>(std::atoi(a.c_str() + 11)) << 10;
    } else if (a.rfind("--count=", 0) == 0 && std::atoi(a.c_str() + 8) > 0) {
      run.only_count = static_cast<size_t>(std::atoi(a.c_str() + 8));
    } else {
      std::fprintf(stderr,
                   "usage: kv_transfer_bench [--backends=tcp,ucx_shm,ucx_tcp,cuda_ipc] "
                   "[--seconds=S] [--scattered] [--inflight=N] [--layers=N] [--block-kb=N] "
                   "[--count=N] [--device=cpu|cuda] [--json=PATH]\n");
      return 2;
    }
  }
  if (run.device && !kv_bench::device_buffers_built()) {
    std::fprintf(stderr, "kv_transfer_bench: --device cuda needs the CUDA build\n");
    return 2;
  }
  const BackendConfig all[] = {{"tcp", kv::BackendKind::kTcp, nullptr},
                               {"ucx_shm", kv::BackendKind::kUcx, "sm,self"},
                               {"ucx_tcp", kv::BackendKind::kUcx, "tcp"},
                               {"cuda_ipc", kv::BackendKind::kCudaIpc, nullptr}};
  if (receiver_fd >= 0) {  // the exec'd receiving process
    for (const BackendConfig& cfg : all) {
      if (cfg.label == backends) return receiver(receiver_fd, cfg.kind, run.device);
    }
    return 2;
  }
  SourceRegion src;
  void* device_src = run.device ? kv_bench::alloc_device(kRegionLen, 3) : nullptr;
  void* device_dst = run.device ? kv_bench::alloc_device(kRegionLen, 4) : nullptr;
  if (run.device && (device_src == nullptr || device_dst == nullptr)) {
    std::fprintf(stderr, "kv_transfer_bench: no CUDA device memory\n");
    return 1;
  }
  std::vector<char> scratch(run.device ? 0 : kRegionLen, 4);
  MemcpyTable memcpy_table;
  for (size_t block : kBlocks) {
    for (size_t count : kCounts) {
      const size_t stride = run.scattered ? 2 * block : block;
      if (stride * count > kRegionLen) continue;
      memcpy_table.push_back({{block, count},
                              run.device ? kv_bench::device_copy_gbps(device_src, device_dst, block,
                                                                      count, stride, 0.1)
                                         : memcpy_gbps(src, scratch, block, count, 0.1)});
    }
  }
  scratch = {};
  kv_bench::free_device(device_dst);
  std::printf("%-8s %9s %6s %10s %10s %10s %10s %7s\n", "backend", "block", "count", "GB/s",
              "p50_us", "p99_us", run.device ? "devcpyGB/s" : "memcpyGB/s", "ratio");
  std::vector<BenchPoint> results;
  int rc = 0;
  std::stringstream list(backends);
  std::string name;
  while (std::getline(list, name, ',')) {
    bool found = false;
    for (const BackendConfig& cfg : all) {
      if (cfg.label != name || cfg.kind == kv::BackendKind::kLocal) continue;
      found = true;
      rc |= run_backend(cfg, run, src, device_src, memcpy_table, &results);
    }
    if (!found) std::fprintf(stderr, "unknown backend '%s'\n", name.c_str());
  }
  kv_bench::free_device(device_src);
  if (!json_path.empty() && !write_json(json_path, run, results)) {
    std::fprintf(stderr, "kv_transfer_bench: cannot write %s\n", json_path.c_str());
    rc = 1;
  }
  return rc;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return bench_main(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "kv_transfer_bench: %s\n", e.what());
    return 1;
  }
}
