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
// Host memory to stage device memory through: page-locked (cudaHostAlloc)
// when device memory is supported, plain page-aligned memory otherwise;
// nullptr when the allocation fails. Free it with free_staging_memory.
void* alloc_staging_memory(size_t len);
void free_staging_memory(void* p);

}  // namespace pdserve::kvtransfer
