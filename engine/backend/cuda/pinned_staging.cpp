#include "engine/backend/cuda/pinned_staging.h"

#include <cstring>

#include "engine/backend/cuda/cuda_check.h"

namespace pdserve::backend::cuda {

PinnedStaging::PinnedStaging(void* stream) : stream_(stream) {
  for (int i = 0; i < kSlots; ++i) {
    void* p = nullptr;
    PD_CUDA_CHECK(cudaMallocHost(&p, kSlotBytes));
    slots_.push_back(p);
    cudaEvent_t e;
    PD_CUDA_CHECK(cudaEventCreateWithFlags(&e, cudaEventDisableTiming));
    PD_CUDA_CHECK(cudaEventRecord(e, as_stream(stream_)));
    events_.push_back(e);
  }
}

PinnedStaging::~PinnedStaging() {
  for (void* e : events_) {
    PD_CUDA_LOG(cudaEventSynchronize(static_cast<cudaEvent_t>(e)));
    PD_CUDA_LOG(cudaEventDestroy(static_cast<cudaEvent_t>(e)));
  }
  for (void* p : slots_) PD_CUDA_LOG(cudaFreeHost(p));
}

void* PinnedStaging::fill_slot(const void* src, size_t n) {
  PD_CHECK(n <= kSlotBytes) << "staged copy of " << n << " bytes";
  auto event = static_cast<cudaEvent_t>(events_[static_cast<size_t>(next_)]);
  PD_CUDA_CHECK(cudaEventSynchronize(event));  // the slot's previous copy is done
  void* slot = slots_[static_cast<size_t>(next_)];
  std::memcpy(slot, src, n);
  return slot;
}

void PinnedStaging::release_slot() {
  auto event = static_cast<cudaEvent_t>(events_[static_cast<size_t>(next_)]);
  PD_CUDA_CHECK(cudaEventRecord(event, as_stream(stream_)));
  next_ = (next_ + 1) % kSlots;
}

void PinnedStaging::copy_to_device(void* dst, const void* src, size_t n) {
  void* slot = fill_slot(src, n);
  PD_CUDA_CHECK(cudaMemcpyAsync(dst, slot, n, cudaMemcpyHostToDevice, as_stream(stream_)));
  release_slot();
}

void PinnedStaging::copy_rows_to_device(void* dst, size_t dst_pitch, const void* src,
                                        size_t row_bytes, size_t rows) {
  void* slot = fill_slot(src, row_bytes * rows);
  PD_CUDA_CHECK(cudaMemcpy2DAsync(dst, dst_pitch, slot, row_bytes, row_bytes, rows,
                                  cudaMemcpyHostToDevice, as_stream(stream_)));
  release_slot();
}

}  // namespace pdserve::backend::cuda
