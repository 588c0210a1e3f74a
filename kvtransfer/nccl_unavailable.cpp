// Built without CUDA: the nccl backend does not exist.
#include "kvtransfer/backends.h"

namespace pdserve::kvtransfer {

Result<std::unique_ptr<Agent>> create_nccl_agent(const AgentOptions&) {
  return unimplemented("the nccl backend needs a CUDA build (PDSERVE_WITH_CUDA)");
}

}  // namespace pdserve::kvtransfer
