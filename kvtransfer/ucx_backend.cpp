#include "kvtransfer/backends.h"

namespace pdserve::kvtransfer {

Result<std::unique_ptr<Agent>> create_ucx_agent(const AgentOptions&) {
  return unimplemented("ucx backend not yet written");
}

}  // namespace pdserve::kvtransfer
