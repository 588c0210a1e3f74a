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
  // Copies `rows` rows of row_bytes from packed host src to device rows
  // dst_pitch bytes apart (rows * row_bytes <= kSlotBytes), asynchronously.
  void copy_rows_to_device(void* dst, size_t dst_pitch, const void* src, size_t row_bytes,
                           size_t rows);

 private:
  // A slot whose previous copy is done, holding n bytes of src.
  void* fill_slot(const void* src, size_t n);
  // Marks the slot fill_slot() gave last as in use by the copies just queued.
  void release_slot();

  void* stream_;
  std::vector<void*> slots_;
  std::vector<void*> events_;  // cudaEvent_t of the last copy out of each slot
  int next_ = 0;
};

}  // namespace pdserve::backend::cuda
