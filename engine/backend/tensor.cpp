#include "engine/backend/tensor.h"

namespace pdserve::backend {

std::string Shape::to_string() const {
  std::string s = "[";
  for (int i = 0; i < rank; ++i) {
    if (i) s += ", ";
    s += std::to_string(dims[i]);
  }
  return s + "]";
}

Tensor Tensor::rows(int64_t begin, int64_t count) const {
  PD_CHECK(rank() >= 1 && begin >= 0 && count >= 0 && begin + count <= dim(0))
      << "rows(" << begin << ", " << count << ") of " << shape_.to_string();
  Shape s = shape_;
  s.dims[0] = count;
  size_t row_bytes = nbytes() / (dim(0) ? dim(0) : 1);
  return Tensor(static_cast<char*>(data_) + begin * row_bytes, s, dtype_, owner_);
}

Tensor Tensor::reshaped(Shape shape) const {
  PD_CHECK(shape.numel() == numel())
      << "reshape " << shape_.to_string() << " to " << shape.to_string();
  return Tensor(data_, shape, dtype_, owner_);
}

}  // namespace pdserve::backend
