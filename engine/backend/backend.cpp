// The Backend defaults for what only some backends have (graphs) or may do
// faster (staged 2-D copies).
#include "engine/backend/backend.h"

namespace pdserve::backend {

void Backend::copy_rows_from_host(Tensor& dst, const void* src, int64_t src_cols) {
  PD_CHECK(dst.rank() == 2 && src_cols >= 0 && src_cols <= dst.dim(1))
      << "copy_rows_from_host: " << src_cols << " columns into " << dst.shape().to_string();
  const size_t elt = dtype_size(dst.dtype());
  const auto* from = static_cast<const char*>(src);
  for (int64_t r = 0; r < dst.dim(0); ++r) {
    Tensor row(static_cast<char*>(dst.data()) + r * dst.dim(1) * elt, Shape{src_cols}, dst.dtype());
    copy_from_host(row, from + r * src_cols * elt, dst.dtype());
  }
}

Status Backend::begin_capture() {
  return unimplemented("backend " + name() + " cannot capture graphs");
}

Result<std::unique_ptr<StepGraph>> Backend::end_capture() {
  return failed_precondition("backend " + name() + ": no graph capture in progress");
}

}  // namespace pdserve::backend
