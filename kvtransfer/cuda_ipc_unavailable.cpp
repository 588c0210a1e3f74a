// Built without CUDA: the cuda_ipc backend does not exist.
#include "kvtransfer/backends.h"

namespace pdserve::kvtransfer {

Result<std::unique_ptr<Agent>> create_cuda_ipc_agent(const AgentOptions&) {
  return unimplemented("the cuda_ipc backend needs the CUDA build (PDSERVE_CUDA=ON)");
}

}  // namespace pdserve::kvtransfer
