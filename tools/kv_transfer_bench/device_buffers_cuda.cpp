#include <cuda_runtime_api.h>

#include <chrono>
#include <vector>

#include "kvtransfer/cuda_ipc_copy.h"
#include "tools/kv_transfer_bench/device_buffers.h"

namespace kv_bench {

bool device_buffers_built() {
  return true;
}

void* alloc_device(size_t len, int byte) {
  void* p = nullptr;
  if (cudaMalloc(&p, len) != cudaSuccess) return nullptr;
  cudaMemset(p, byte, len);
  cudaDeviceSynchronize();
  return p;
}

void free_device(void* p) {
  cudaFree(p);
}

double device_copy_gbps(const void* src, void* dst, size_t block, size_t count, size_t stride,
                        double seconds) {
  namespace ipc = pdserve::kvtransfer::cuda_ipc;
  std::vector<ipc::CopySpan> spans;
  for (size_t i = 0; i < count; ++i) {
    spans.push_back(
        {static_cast<const char*>(src) + i * stride, static_cast<char*>(dst) + i * stride, block});
  }
  cudaStream_t stream = nullptr;
  cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking);
  size_t bytes = 0;
  const auto t0 = std::chrono::steady_clock::now();
  double elapsed = 0;
  do {
    if (!ipc::enqueue_copies(spans, stream).ok()) break;
    cudaStreamSynchronize(stream);
    bytes += block * count;
    elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  } while (elapsed < seconds);
  cudaStreamDestroy(stream);
  return elapsed > 0 ? bytes / elapsed / 1e9 : 0;
}

}  // namespace kv_bench
