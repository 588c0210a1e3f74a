#include <cuda_runtime_api.h>

#include <string>

#include "kvtransfer/cuda_ipc_copy.h"

namespace pdserve::kvtransfer::cuda_ipc {
namespace {

constexpr int kThreads = 256;

struct SpanBatch {
  uint64_t num_spans;
  CopySpan spans[kSpansPerLaunch];
};
static_assert(sizeof(SpanBatch) < 32000, "kernel parameters are limited to 32764 bytes");

// One CTA per span: copies len / sizeof(Word) words. Word is uint4 when every
// pointer and length of the batch is 16-byte aligned, else unsigned char.
template <typename Word>
__global__ void scatter_copy_kernel(const __grid_constant__ SpanBatch batch) {
  const CopySpan& span = batch.spans[blockIdx.x];
  const Word* src = static_cast<const Word*>(span.src);
  Word* dst = static_cast<Word*>(span.dst);
  const uint64_t n = span.len / sizeof(Word);
  for (uint64_t i = threadIdx.x; i < n; i += blockDim.x) dst[i] = src[i];
}

Status cuda_error(const char* what, cudaError_t err) {
  return internal_error(std::string("cuda_ipc ") + what + ": " + cudaGetErrorString(err));
}

bool aligned16(const SpanBatch& batch) {
  for (uint64_t i = 0; i < batch.num_spans; ++i) {
    const CopySpan& s = batch.spans[i];
    if ((reinterpret_cast<uintptr_t>(s.src) | reinterpret_cast<uintptr_t>(s.dst) | s.len) % 16) {
      return false;
    }
  }
  return true;
}

}  // namespace

Status enqueue_copies(const std::vector<CopySpan>& spans, void* stream_ptr) {
  auto stream = static_cast<cudaStream_t>(stream_ptr);
  if (spans.size() == 1) {
    cudaError_t err =
        cudaMemcpyAsync(spans[0].dst, spans[0].src, spans[0].len, cudaMemcpyDeviceToDevice, stream);
    return err == cudaSuccess ? ok_status() : cuda_error("cudaMemcpyAsync", err);
  }
  static thread_local SpanBatch batch;  // 31 KB: off the stack
  for (size_t first = 0; first < spans.size(); first += kSpansPerLaunch) {
    batch.num_spans = std::min(kSpansPerLaunch, spans.size() - first);
    for (uint64_t i = 0; i < batch.num_spans; ++i) batch.spans[i] = spans[first + i];
    const auto blocks = static_cast<unsigned>(batch.num_spans);
    if (aligned16(batch)) {
      scatter_copy_kernel<uint4><<<blocks, kThreads, 0, stream>>>(batch);
    } else {
      scatter_copy_kernel<unsigned char><<<blocks, kThreads, 0, stream>>>(batch);
    }
    if (cudaError_t err = cudaGetLastError(); err != cudaSuccess) {
      return cuda_error("scatter copy launch", err);
    }
  }
  return ok_status();
}

}  // namespace pdserve::kvtransfer::cuda_ipc
