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
// Makes `device` the calling thread's CUDA device, so that what it allocates
// (staging memory, streams) lives there; ok and nothing done for device < 0
// or without CUDA.
Status use_device(int device);
// memcpy for host↔host; otherwise a copy on the device pointer's GPU, waited
// for until the bytes are there. kUnimplemented without CUDA.
Status copy_memory(void* dst, MemoryKind dst_kind, const void* src, MemoryKind src_kind,
                   size_t len);
// Host memory to stage device memory through: page-locked (cudaHostAlloc)
// when device memory is supported, plain page-aligned memory otherwise;
// nullptr when the allocation fails. Free it with free_staging_memory.
void* alloc_staging_memory(size_t len);
void free_staging_memory(void* p);

}  // namespace pdserve::kvtransfer
