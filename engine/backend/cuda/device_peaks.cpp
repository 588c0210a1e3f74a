#include "engine/backend/device_peaks.h"

#include <cuda_runtime.h>

#include "engine/backend/cuda/cuda_backend.h"
#include "engine/backend/cuda/cuda_check.h"

namespace pdserve::backend {
namespace {

// Mean seconds of `reps` runs of fn after `warmup` runs, timed with events.
template <typename Fn>
double time_on_stream(cudaStream_t s, int warmup, int reps, Fn fn) {
  for (int i = 0; i < warmup; ++i) fn();
  cudaEvent_t a, b;
  PD_CUDA_CHECK(cudaEventCreate(&a));
  PD_CUDA_CHECK(cudaEventCreate(&b));
  PD_CUDA_CHECK(cudaEventRecord(a, s));
  for (int i = 0; i < reps; ++i) fn();
  PD_CUDA_CHECK(cudaEventRecord(b, s));
  PD_CUDA_CHECK(cudaEventSynchronize(b));
  float ms = 0;
  PD_CUDA_CHECK(cudaEventElapsedTime(&ms, a, b));
  PD_CUDA_LOG(cudaEventDestroy(a));
  PD_CUDA_LOG(cudaEventDestroy(b));
  return ms / 1e3 / reps;
}

}  // namespace

Result<DevicePeaks> measure_device_peaks(Backend& be) {
  auto* cuda = dynamic_cast<cuda::CudaBackend*>(&be);
  if (!cuda) return unimplemented("device peaks: backend " + be.name() + " has no device");
  cudaStream_t s = cuda::as_stream(cuda->stream());
  DevicePeaks peaks;
  int device = 0;
  cudaDeviceProp prop{};
  PD_CUDA_CHECK(cudaGetDevice(&device));
  PD_CUDA_CHECK(cudaGetDeviceProperties(&prop, device));
  peaks.device_name = prop.name;
  {
    constexpr int64_t kBytes = int64_t{1} << 30;
    Tensor src = be.alloc(Shape{kBytes / 2}, DType::kBF16),
           dst = be.alloc(Shape{kBytes / 2}, DType::kBF16);
    std::vector<float> ones(static_cast<size_t>(kBytes / 2), 1.0f);
    be.copy_from_host(src, ones.data(), DType::kF32);  // never time on zeros
    const double secs = time_on_stream(s, 3, 10, [&] {
      PD_CUDA_CHECK(cudaMemcpyAsync(dst.data(), src.data(), kBytes, cudaMemcpyDeviceToDevice, s));
    });
    peaks.copy_bytes_per_s = 2.0 * static_cast<double>(kBytes) / secs;
  }
  {
    constexpr int64_t n = 8192;
    std::vector<float> host(static_cast<size_t>(n * n));
    uint32_t x = 12345;
    for (float& v : host) {
      x = x * 1664525u + 1013904223u;
      v = static_cast<float>(x >> 8) / 16777216.0f - 0.5f;
    }
    Tensor a = be.alloc(Shape{n, n}, DType::kBF16), w = be.alloc(Shape{n, n}, DType::kBF16);
    Tensor y = be.alloc(Shape{n, n}, DType::kBF16);
    be.copy_from_host(a, host.data(), DType::kF32);
    be.copy_from_host(w, host.data(), DType::kF32);
    const double secs = time_on_stream(s, 3, 10, [&] { be.matmul(a, w, nullptr, y); });
    peaks.gemm_flops_per_s = 2.0 * n * n * n / secs;
  }
  return peaks;
}

}  // namespace pdserve::backend
