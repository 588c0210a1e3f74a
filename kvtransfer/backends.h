// Factories of the backends, one per file; Agent::create dispatches here.
#pragma once

#include <memory>

#include "common/base/status.h"
#include "kvtransfer/agent.h"

namespace pdserve::kvtransfer {

Result<std::unique_ptr<Agent>> create_local_agent(const AgentOptions& options);
Result<std::unique_ptr<Agent>> create_tcp_agent(const AgentOptions& options);
Result<std::unique_ptr<Agent>> create_ucx_agent(const AgentOptions& options);
Result<std::unique_ptr<Agent>> create_nccl_agent(const AgentOptions& options);
Result<std::unique_ptr<Agent>> create_cuda_ipc_agent(const AgentOptions& options);

}  // namespace pdserve::kvtransfer
