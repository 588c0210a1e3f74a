// Copies between host and CUDA device memory for the backends that move
// bytes through the CPU (local, tcp, ucx staging). Built with CUDA
// (device_copy_cuda.cpp) or without (device_copy.cpp: device memory is
// refused). Thread-safe; every call is synchronous.
#pragma once

#include <cstddef>

#include "common/base/status.h"
#include "kvtransfer/agent.h"

namespace pdserve::kvtransfer {

// True when built with CUDA and at least one device is present.
bool device_memory_supported();
// memcpy for host↔host, cudaMemcpy otherwise. kUnimplemented without CUDA.
Status copy_memory(void* dst, MemoryKind dst_kind, const void* src, MemoryKind src_kind,
                   size_t len);

}  // namespace pdserve::kvtransfer
