// Device memory for kv_transfer_bench --device cuda: the regions and the
// device copy bandwidth the backends are measured against (the cuda_ipc
// backend's own copy path, inside one process). Without CUDA every call
// fails and device_buffers_built() is false.
#pragma once

#include <cstddef>

namespace kv_bench {

bool device_buffers_built();
// cudaMalloc'd bytes filled with `byte`; nullptr on failure.
void* alloc_device(size_t len, int byte);
void free_device(void* p);
// GB/s of copying `count` blocks of `block` bytes, `stride` apart, from src to
// dst on one device, repeated for about `seconds`.
double device_copy_gbps(const void* src, void* dst, size_t block, size_t count, size_t stride,
                        double seconds);

}  // namespace kv_bench
