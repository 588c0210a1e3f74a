#include "launcher/serve_plan.h"

#include <cstdio>
#include <random>
#include <set>
#include <string_view>

#include "launcher/gpu_share.h"

namespace pdserve::launcher {
namespace {

// The command lines of the roles: align these with cli/.
constexpr const char* kPrefillCommand = "prefill";
constexpr const char* kDecodeCommand = "decode";
constexpr const char* kRouterCommand = "router";
constexpr const char* kModelFlag = "--model";
constexpr const char* kHostFlag = "--host";
constexpr const char* kPortFlag = "--port";
constexpr const char* kDeviceFlag = "--device";
constexpr const char* kKvBackendFlag =
    "--kv-backend";  // prefill and decode: both ends of a transfer
constexpr const char* kGpuMemoryFlag = "--gpu-memory-utilization";
constexpr const char* kSpeculativeFlag = "--speculative-config";  // decode workers only
constexpr const char* kDecodeListFlag = "--decode";               // router: host:port,host:port
constexpr const char* kPrefillListFlag = "--prefill";  // router: host:port,... (omitted when none)
// The token is not a flag: it goes in kClusterTokenEnv (see serve_plan.h).

constexpr const char* kHealthPath = "/health";
constexpr const char* kGpuEnv = "CUDA_VISIBLE_DEVICES";
constexpr std::pair<const char*, const char*> kCommonEnv[] = {{"NCCL_NVLS_ENABLE", "0"}};

std::string join_addresses(const std::vector<uint16_t>& ports) {
  std::string out;
  for (uint16_t port : ports) {
    if (!out.empty()) out += ",";
    out += std::string(kServeWorkerHost) + ":" + std::to_string(port);
  }
  return out;
}

// Where the launcher reaches a server bound to `host`, and how a URL names it.
std::string reachable_host(const std::string& host) {
  if (host == "0.0.0.0" || host.empty()) return "127.0.0.1";
  if (host == "::") return "::1";
  return host;
}

std::string url_host(const std::string& host) {
  return host.find(':') != std::string::npos ? "[" + host + "]" : host;
}

Status check_gpus(const char* role, const std::vector<int>& gpus, int count,
                  const std::string& device) {
  if (gpus.empty()) return ok_status();
  if (static_cast<int>(gpus.size()) != count) {
    return invalid_argument(std::string(role) + " GPUs: " + std::to_string(gpus.size()) +
                            " given for " + std::to_string(count) + " workers");
  }
  if (device == "cpu") return invalid_argument(std::string(role) + " GPUs given with device cpu");
  for (int gpu : gpus) {
    if (gpu < 0) return invalid_argument(std::string(role) + " GPU " + std::to_string(gpu));
  }
  return ok_status();
}

Status check_options(const ServeOptions& o, const ServePorts& ports) {
  if (o.pdserve_binary.empty()) return invalid_argument("no pdserve binary");
  if (o.model_dir.empty()) return invalid_argument("no model directory");
  if (o.num_decode < 1) return invalid_argument("at least one decode worker is needed");
  if (o.num_prefill < 0) return invalid_argument("negative number of prefill workers");
  if (o.device.empty()) return invalid_argument("empty device");
  if (o.kv_backend.empty()) return invalid_argument("empty kv backend");
  if (!(o.gpu_memory_utilization >= 0 && o.gpu_memory_utilization <= 1)) {
    return invalid_argument("GPU memory utilization outside [0, 1]");
  }
  PD_RETURN_IF_ERROR(check_gpus("prefill", o.prefill_gpus, o.num_prefill, o.device));
  PD_RETURN_IF_ERROR(check_gpus("decode", o.decode_gpus, o.num_decode, o.device));
  if (static_cast<int>(ports.prefill.size()) != o.num_prefill ||
      static_cast<int>(ports.decode.size()) != o.num_decode) {
    return invalid_argument("worker ports do not match the worker counts");
  }
  std::set<uint16_t> seen = {o.port};
  if (o.port == 0) return invalid_argument("router port 0");
  for (const auto* list : {&ports.prefill, &ports.decode}) {
    for (uint16_t port : *list) {
      if (port == 0) return invalid_argument("worker port 0");
      if (!seen.insert(port).second) {
        return invalid_argument("port " + std::to_string(port) + " used twice");
      }
    }
  }
  return ok_status();
}

// "0.45": a worker's --gpu-memory-utilization.
std::string fraction_arg(double f) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.4g", f);
  return buf;
}

ChildSpec worker_spec(const ServeOptions& o, const std::string& token, const char* command, int idx,
                      uint16_t port, const std::vector<int>& gpus, double gpu_share) {
  ChildSpec spec;
  spec.name = std::string(command) + "-" + std::to_string(idx);
  spec.role = command;  // the workers of one role stand in for each other
  spec.argv = {o.pdserve_binary, command,          kModelFlag,     o.model_dir,
               kHostFlag,        kServeWorkerHost, kPortFlag,      std::to_string(port),
               kDeviceFlag,      o.device,         kKvBackendFlag, o.kv_backend};
  if (o.device != "cpu" && gpu_share > 0) {
    spec.argv.insert(spec.argv.end(), {kGpuMemoryFlag, fraction_arg(gpu_share)});
  }
  if (command == std::string_view(kDecodeCommand) && !o.speculative_config.empty()) {
    spec.argv.insert(spec.argv.end(), {kSpeculativeFlag, o.speculative_config});
  }
  spec.argv.insert(spec.argv.end(), o.extra_worker_args.begin(), o.extra_worker_args.end());
  for (const auto& [name, value] : kCommonEnv) spec.env.emplace_back(name, value);
  spec.env.emplace_back(kClusterTokenEnv, token);
  if (!gpus.empty()) spec.env.emplace_back(kGpuEnv, std::to_string(gpus[static_cast<size_t>(idx)]));
  spec.health_host = kServeWorkerHost;
  spec.health_port = port;
  spec.health_path = kHealthPath;
  // Workers load their models side by side; the router waits for them all.
  spec.after_previous_healthy = false;
  return spec;
}

}  // namespace

std::string generate_cluster_token() {
  std::random_device rd;  // /dev/urandom (getrandom) on Linux
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (int i = 0; i < 8; ++i) {
    uint32_t word = rd();
    for (int j = 0; j < 8; ++j) out.push_back(kHex[(word >> (4 * j)) & 0xf]);
  }
  return out;
}

Result<ServePlan> plan_serve(const ServeOptions& o, const ServePorts& ports) {
  PD_RETURN_IF_ERROR(check_options(o, ports));
  ServePlan plan;
  plan.cluster_token = o.cluster_token.empty() ? generate_cluster_token() : o.cluster_token;
  std::vector<int> worker_gpus;  // prefill workers, then decode workers
  for (int i = 0; i < o.num_prefill; ++i) {
    worker_gpus.push_back(o.prefill_gpus.empty() ? 0 : o.prefill_gpus[static_cast<size_t>(i)]);
  }
  for (int i = 0; i < o.num_decode; ++i) {
    worker_gpus.push_back(o.decode_gpus.empty() ? 0 : o.decode_gpus[static_cast<size_t>(i)]);
  }
  const std::vector<double> shares = split_gpu_memory(worker_gpus, o.gpu_memory_utilization);
  for (int i = 0; i < o.num_prefill; ++i) {
    plan.children.push_back(worker_spec(o, plan.cluster_token, kPrefillCommand, i,
                                        ports.prefill[static_cast<size_t>(i)], o.prefill_gpus,
                                        shares[static_cast<size_t>(i)]));
  }
  for (int i = 0; i < o.num_decode; ++i) {
    plan.children.push_back(worker_spec(o, plan.cluster_token, kDecodeCommand, i,
                                        ports.decode[static_cast<size_t>(i)], o.decode_gpus,
                                        shares[static_cast<size_t>(o.num_prefill + i)]));
  }
  ChildSpec router;
  router.name = kRouterCommand;
  router.role = kRouterCommand;
  router.argv = {o.pdserve_binary, kRouterCommand,
                 kModelFlag,       o.model_dir,
                 kHostFlag,        o.host,
                 kPortFlag,        std::to_string(o.port),
                 kDecodeListFlag,  join_addresses(ports.decode)};
  if (!ports.prefill.empty()) {
    router.argv.push_back(kPrefillListFlag);
    router.argv.push_back(join_addresses(ports.prefill));
  }
  router.argv.insert(router.argv.end(), o.extra_router_args.begin(), o.extra_router_args.end());
  for (const auto& [name, value] : kCommonEnv) router.env.emplace_back(name, value);
  router.env.emplace_back(kClusterTokenEnv, plan.cluster_token);
  router.health_host = reachable_host(o.host);
  router.health_port = o.port;
  router.health_path = kHealthPath;
  router.after_previous_healthy = true;
  plan.children.push_back(std::move(router));
  plan.url = "http://" + url_host(reachable_host(o.host)) + ":" + std::to_string(o.port);
  return plan;
}

}  // namespace pdserve::launcher
