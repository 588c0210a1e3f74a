#include "engine/runner/gpu_memory_budget.h"

#include <cmath>
#include <cstdio>
#include <string>

namespace pdserve::runner {
namespace {

std::string gib(double bytes) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.2f GiB", bytes / double(size_t{1} << 30));
  return buf;
}

}  // namespace

Result<size_t> kv_pool_bytes(const GpuMemoryBudget& b) {
  if (!(b.utilization > 0 && b.utilization <= 1)) {
    return invalid_argument("--gpu-memory-utilization must be in (0, 1]");
  }
  const double share = std::floor(b.utilization * static_cast<double>(b.device_bytes));
  const double needed = static_cast<double>(b.weight_bytes) + static_cast<double>(b.reserve_bytes);
  if (needed >= share) {
    char fraction[16];
    std::snprintf(fraction, sizeof(fraction), "%.3g", b.utilization);
    return resource_exhausted("the weights (" + gib(static_cast<double>(b.weight_bytes)) +
                              ") and " + gib(static_cast<double>(b.reserve_bytes)) +
                              " of activations leave no room for a KV cache in this worker's share "
                              "of the GPU (" +
                              fraction + " of " + gib(static_cast<double>(b.device_bytes)) + " = " +
                              gib(share) +
                              "): raise --gpu-memory-utilization or run fewer workers on the GPU");
  }
  return static_cast<size_t>(share - needed);
}

}  // namespace pdserve::runner
