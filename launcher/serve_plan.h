// What `pdserve serve` runs: the prefill workers, the decode workers and the
// router, as ChildSpecs for the Supervisor. Pure, except that an empty
// cluster token is filled with a random one.
//
//   ServeOptions opts;  opts.pdserve_binary = "/usr/bin/pdserve";  opts.model_dir = "/models/x";
//   Result<std::vector<uint16_t>> p = pick_free_ports(num_prefill + num_decode);
//   Result<ServePlan> plan = plan_serve(opts, ServePorts{prefill_ports, decode_ports});
//   supervisor.start(plan->children);  ...  print(plan->url);
//
// Workers bind to 127.0.0.1 whatever ServeOptions::host is: only the
// router's port faces clients (DESIGN.md, security of the internal plane).
// The cluster token travels in the environment (PDSERVE_CLUSTER_TOKEN),
// never on a command line that `ps` shows. A GPU index becomes the child's
// CUDA_VISIBLE_DEVICES (without a list, a role's workers are on GPU 0).
// Every child gets NCCL_NVLS_ENABLE=0.
//
// Errors (kInvalidArgument): no binary or model dir, num_decode < 1,
// num_prefill < 0, a GPU list whose size is not the worker count, a
// negative GPU index, GPUs with device "cpu", a GPU memory utilization
// outside [0, 1], port counts that do not match
// the worker counts, a port 0, a port used twice.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/base/status.h"
#include "launcher/supervisor.h"

namespace pdserve::launcher {

struct ServeOptions {
  std::string pdserve_binary;
  std::string model_dir;
  std::string host = "127.0.0.1";  // the router's address (the public one)
  uint16_t port = 8000;            // the router's port
  int num_prefill = 1;
  int num_decode = 1;
  std::vector<int> prefill_gpus, decode_gpus;  // empty, or one per worker
  std::string device = "auto";
  std::string cluster_token;  // generated randomly when empty
  std::vector<std::string> extra_worker_args, extra_router_args;
  std::string kv_backend = "auto";  // the workers' --kv-backend
  // Of each GPU, split between the workers on it (gpu_share.h) as their
  // --gpu-memory-utilization; not passed with device cpu or when 0.
  double gpu_memory_utilization = 0.9;
  std::string speculative_config;  // JSON for the decode workers (empty: none)
};

// The workers' ports (on 127.0.0.1), one per worker.
struct ServePorts {
  std::vector<uint16_t> prefill;
  std::vector<uint16_t> decode;
};

struct ServePlan {
  std::vector<ChildSpec> children;  // prefill-0.., decode-0.., router: start order
  std::string cluster_token;        // the one the children got
  std::string url;                  // "http://127.0.0.1:8000", for the user
};

Result<ServePlan> plan_serve(const ServeOptions& options, const ServePorts& ports);

// 32 random bytes from the OS as 64 hex digits.
std::string generate_cluster_token();

// Where the workers listen (their internal endpoints never leave loopback).
inline constexpr const char* kServeWorkerHost = "127.0.0.1";

// The environment variable that carries the cluster token to the children.
inline constexpr const char* kClusterTokenEnv = "PDSERVE_CLUSTER_TOKEN";

}  // namespace pdserve::launcher
