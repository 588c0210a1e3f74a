// A ring of pinned host buffers for small asynchronous host-to-device
// copies (a step's token ids, positions, block tables): the caller's host
// memory is copied into a pinned slot at once, and the device copy runs
// asynchronously on the stream, so the host does not wait for the GPU.
// A slot is reused only after the copy that last used it has completed.
// Not thread-safe (one per stream).
#pragma once

#include <cstddef>
#include <vector>

namespace pdserve::backend::cuda {

class PinnedStaging {
 public:
  static constexpr size_t kSlotBytes = size_t{256} << 10;
  static constexpr int kSlots = 64;

  explicit PinnedStaging(void* stream);
  ~PinnedStaging();
  PinnedStaging(const PinnedStaging&) = delete;
  PinnedStaging& operator=(const PinnedStaging&) = delete;

  // Copies n <= kSlotBytes bytes from host src to device dst, asynchronously.
  void copy_to_device(void* dst, const void* src, size_t n);

 private:
  void* stream_;
  std::vector<void*> slots_;
  std::vector<void*> events_;  // cudaEvent_t of the last copy out of each slot
  int next_ = 0;
};

}  // namespace pdserve::backend::cuda
