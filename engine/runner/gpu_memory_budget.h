// --gpu-memory-utilization: how much of a GPU one worker's KV pool may take
// once its weights are loaded. Pure; thread-safe.
//
//   kv pool = utilization * device memory - weights - activation reserve
#pragma once

#include <cstddef>

#include "common/base/status.h"

namespace pdserve::runner {

// Activations and workspace the engine keeps beside weights and KV pool.
inline constexpr size_t kActivationReserveBytes = size_t{1} << 30;

struct GpuMemoryBudget {
  size_t device_bytes = 0;  // the GPU's total memory
  double utilization = 0;   // the fraction of it this worker may take, (0, 1]
  size_t weight_bytes = 0;  // the loaded weights
  size_t reserve_bytes = kActivationReserveBytes;
};

// The KV pool's bytes. kInvalidArgument for a utilization outside (0, 1];
// kResourceExhausted, in one line that names the sizes, when the weights and
// the reserve do not fit the worker's share.
Result<size_t> kv_pool_bytes(const GpuMemoryBudget& budget);

}  // namespace pdserve::runner
