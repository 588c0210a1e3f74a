// --kv-backend auto: which backends a worker tries, best first. Both ends of
// a transfer must end up on the same backend, so the choice depends only on
// what both know alike: where the KV pool lives and whether the KV plane
// stays on this machine. Pure; thread-safe.
//
//   device pool, one machine, CUDA build  -> cuda_ipc, ucx, tcp
//   anything else                         -> ucx, tcp
#pragma once

#include <string_view>
#include <vector>

#include "kvtransfer/agent.h"

namespace pdserve::kvtransfer {

struct KvPlacement {
  MemoryKind pool = MemoryKind::kHost;  // where the worker's KV pool lives
  bool one_machine = false;             // every peer runs on this machine
  bool cuda_ipc_built = false;          // this binary has the cuda_ipc backend
};

std::vector<BackendKind> auto_backends(const KvPlacement& placement);

// True for an address only this machine can reach: 127.0.0.0/8, ::1,
// "localhost" (with or without a port, IPv6 in brackets). A KV listener
// bound there has every peer on this machine.
bool is_loopback_address(std::string_view address);

// Whether this build has the cuda_ipc backend (PDSERVE_CUDA).
bool cuda_ipc_built();

}  // namespace pdserve::kvtransfer
