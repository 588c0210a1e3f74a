#include "kvtransfer/agent.h"

#include <cstdlib>
#include <string>

#include "kvtransfer/backends.h"

namespace pdserve::kvtransfer {

std::string_view backend_name(BackendKind kind) {
  switch (kind) {
    case BackendKind::kLocal: return "local";
    case BackendKind::kTcp: return "tcp";
    case BackendKind::kUcx: return "ucx";
    case BackendKind::kNccl: return "nccl";
    case BackendKind::kCudaIpc: return "cuda_ipc";
  }
  return "unknown";
}

Result<BackendKind> parse_backend(std::string_view name) {
  if (name == "local") return BackendKind::kLocal;
  if (name == "tcp") return BackendKind::kTcp;
  if (name == "ucx") return BackendKind::kUcx;
  if (name == "nccl") return BackendKind::kNccl;
  if (name == "cuda_ipc") return BackendKind::kCudaIpc;
  return invalid_argument("unknown kvtransfer backend '" + std::string(name) + "'");
}

std::string_view transfer_state_name(TransferState state) {
  switch (state) {
    case TransferState::kPending: return "pending";
    case TransferState::kDone: return "done";
    case TransferState::kFailed: return "failed";
    case TransferState::kCancelled: return "cancelled";
  }
  return "unknown";
}

Agent::~Agent() = default;

Result<std::unique_ptr<Agent>> Agent::create(const AgentOptions& options) {
  AgentOptions resolved = options;
  if (resolved.fail_every_n < 0) return invalid_argument("fail_every_n must be >= 0");
  if (resolved.fail_every_n == 0) {
    if (const char* env = std::getenv("PDSERVE_KV_FAULT_EVERY_N"); env != nullptr && *env) {
      char* end = nullptr;
      long n = std::strtol(env, &end, 10);
      if (*end != '\0' || n < 0 || n > (1 << 30)) {
        return invalid_argument("PDSERVE_KV_FAULT_EVERY_N must be a non-negative integer");
      }
      resolved.fail_every_n = static_cast<int>(n);
    }
  }
  if (resolved.name.empty()) resolved.name = std::string(backend_name(resolved.backend)) + "-agent";
  switch (resolved.backend) {
    case BackendKind::kLocal: return create_local_agent(resolved);
    case BackendKind::kTcp: return create_tcp_agent(resolved);
    case BackendKind::kUcx: return create_ucx_agent(resolved);
    case BackendKind::kNccl: return create_nccl_agent(resolved);
    case BackendKind::kCudaIpc: return create_cuda_ipc_agent(resolved);
  }
  return invalid_argument("unknown backend");
}

}  // namespace pdserve::kvtransfer
