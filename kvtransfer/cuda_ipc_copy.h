// The cuda_ipc backend's device-to-device copies (CUDA builds): one
// gather/scatter kernel launch for a list of up to kSpansPerLaunch spans
// (never one API call per block; the span list travels as the kernel's
// parameter, so nothing is allocated or staged). One span takes the kernel
// too: an H100 measured cudaMemcpyAsync into IPC-mapped memory of the same
// GPU at about 35 GB/s for 64 MB, where the kernel copies at over 1 TB/s.
// Pointers may be on a peer GPU that the stream's device can access. Plain
// header: no CUDA types.
#pragma once

#include <cstdint>
#include <vector>

#include "common/base/status.h"

namespace pdserve::kvtransfer::cuda_ipc {

struct CopySpan {
  const void* src = nullptr;  // device memory of this process
  void* dst = nullptr;        // device memory mapped from the peer
  uint64_t len = 0;
};

// Spans one kernel launch carries (its parameter stays under CUDA's 32 KB).
inline constexpr size_t kSpansPerLaunch = 1300;

// Enqueues the copies on `stream` (a cudaStream_t); returns at once.
// kInternal on a CUDA error.
Status enqueue_copies(const std::vector<CopySpan>& spans, void* stream);

}  // namespace pdserve::kvtransfer::cuda_ipc
