#include <cuda_runtime_api.h>

#include <algorithm>
#include <string>

#include "kvtransfer/cuda_ipc_copy.h"

namespace pdserve::kvtransfer::cuda_ipc {
namespace {

constexpr int kThreads = 256;
constexpr int kUnroll = 4;                                 // loads in flight per thread
constexpr uint64_t kChunkBytes = 16 * kThreads * kUnroll;  // one CTA's part of a span: 16 KiB

struct SpanBatch {
  uint64_t num_spans;
  CopySpan spans[kSpansPerLaunch];
};
static_assert(sizeof(SpanBatch) < 32000, "kernel parameters are limited to 32764 bytes");

// Grid [chunks of the longest span, spans]: CTA (x, y) copies chunk x of span
// y (kChunkBytes; CTAs past a shorter span's end return), so a 4 MiB span
// spreads over 256 CTAs and a list of 16 KiB blocks over one CTA each. Word
// is uint4 when every pointer and length of the batch is 16-byte aligned,
// else unsigned char. Each thread issues kUnroll loads before its stores.
template <typename Word>
__global__ void scatter_copy_kernel(const __grid_constant__ SpanBatch batch) {
  const CopySpan& span = batch.spans[blockIdx.y];
  const Word* __restrict__ src = static_cast<const Word*>(span.src);
  Word* __restrict__ dst = static_cast<Word*>(span.dst);
  constexpr uint64_t kWords = kChunkBytes / sizeof(Word);
  const uint64_t begin = blockIdx.x * kWords;
  const uint64_t end = min(span.len / sizeof(Word), begin + kWords);
  for (uint64_t i = begin + threadIdx.x; i < end; i += kThreads * kUnroll) {
    Word w[kUnroll];
#pragma unroll
    for (int u = 0; u < kUnroll; ++u)
      if (i + u * kThreads < end) w[u] = src[i + u * kThreads];
#pragma unroll
    for (int u = 0; u < kUnroll; ++u)
      if (i + u * kThreads < end) dst[i + u * kThreads] = w[u];
  }
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
  static thread_local SpanBatch batch;  // 31 KB: off the stack
  for (size_t first = 0; first < spans.size(); first += kSpansPerLaunch) {
    batch.num_spans = std::min(kSpansPerLaunch, spans.size() - first);
    uint64_t longest = 0;
    for (uint64_t i = 0; i < batch.num_spans; ++i) {
      batch.spans[i] = spans[first + i];
      longest = std::max(longest, batch.spans[i].len);
    }
    if (longest == 0) continue;
    const dim3 grid(static_cast<unsigned>((longest + kChunkBytes - 1) / kChunkBytes),
                    static_cast<unsigned>(batch.num_spans));
    if (aligned16(batch)) {
      scatter_copy_kernel<uint4><<<grid, kThreads, 0, stream>>>(batch);
    } else {
      scatter_copy_kernel<unsigned char><<<grid, kThreads, 0, stream>>>(batch);
    }
    if (cudaError_t err = cudaGetLastError(); err != cudaSuccess) {
      return cuda_error("scatter copy launch", err);
    }
  }
  return ok_status();
}

}  // namespace pdserve::kvtransfer::cuda_ipc
