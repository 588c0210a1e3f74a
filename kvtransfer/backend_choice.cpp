#include "kvtransfer/backend_choice.h"

#include <string>

namespace pdserve::kvtransfer {

std::vector<BackendKind> auto_backends(const KvPlacement& placement) {
  std::vector<BackendKind> out;
  if (placement.pool == MemoryKind::kDevice && placement.one_machine && placement.cuda_ipc_built) {
    out.push_back(BackendKind::kCudaIpc);
  }
  out.push_back(BackendKind::kUcx);
  out.push_back(BackendKind::kTcp);
  return out;
}

bool is_loopback_address(std::string_view address) {
  std::string_view host = address;
  if (!host.empty() && host.front() == '[') {
    const size_t close = host.find(']');
    if (close == std::string_view::npos) return false;
    host = host.substr(1, close - 1);
  } else if (host.find(':') != host.rfind(':')) {
    // A bare IPv6 address: no port to strip.
  } else if (const size_t colon = host.find(':'); colon != std::string_view::npos) {
    host = host.substr(0, colon);
  }
  if (host == "localhost" || host == "::1") return true;
  return host.substr(0, 4) == "127." && host.size() > 4;
}

bool cuda_ipc_built() {
#ifdef PDSERVE_WITH_CUDA
  return true;
#else
  return false;
#endif
}

}  // namespace pdserve::kvtransfer
