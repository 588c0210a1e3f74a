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
    cudaEventSynchronize(static_cast<cudaEvent_t>(e));
    cudaEventDestroy(static_cast<cudaEvent_t>(e));
  }
  for (void* p : slots_) cudaFreeHost(p);
}

void PinnedStaging::copy_to_device(void* dst, const void* src, size_t n) {
  PD_CHECK(n <= kSlotBytes) << "staged copy of " << n << " bytes";
  const int i = next_;
  next_ = (next_ + 1) % kSlots;
  auto event = static_cast<cudaEvent_t>(events_[static_cast<size_t>(i)]);
  PD_CUDA_CHECK(cudaEventSynchronize(event));  // the slot's previous copy is done
  std::memcpy(slots_[static_cast<size_t>(i)], src, n);
  PD_CUDA_CHECK(cudaMemcpyAsync(dst, slots_[static_cast<size_t>(i)], n, cudaMemcpyHostToDevice,
                                as_stream(stream_)));
  PD_CUDA_CHECK(cudaEventRecord(event, as_stream(stream_)));
}

}  // namespace pdserve::backend::cuda
