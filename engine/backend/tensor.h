// A dense, contiguous, row-major tensor in one backend's memory (host memory
// for the CPU backend, device memory for CUDA). Copies share the storage;
// the last copy frees it. Shapes are written in brackets beside pointers:
// `Tensor x;  // [num_tokens, hidden]`.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>

#include "common/base/logging.h"
#include "engine/backend/dtype.h"

namespace pdserve::backend {

inline constexpr int kMaxDims = 4;

struct Shape {
  std::array<int64_t, kMaxDims> dims{};
  int rank = 0;

  Shape() = default;
  Shape(std::initializer_list<int64_t> d) {
    PD_CHECK(d.size() <= kMaxDims) << "rank " << d.size() << " > " << kMaxDims;
    for (int64_t v : d) dims[rank++] = v;
  }
  int64_t operator[](int i) const { return dims[i]; }
  int64_t numel() const {
    int64_t n = 1;
    for (int i = 0; i < rank; ++i) n *= dims[i];
    return n;
  }
  std::string to_string() const;
  friend bool operator==(const Shape& a, const Shape& b) {
    if (a.rank != b.rank) return false;
    for (int i = 0; i < a.rank; ++i)
      if (a.dims[i] != b.dims[i]) return false;
    return true;
  }
};

class Tensor {
 public:
  Tensor() = default;
  // Wraps memory kept alive by `owner` (nullptr: not owned, caller keeps it alive).
  Tensor(void* data, Shape shape, DType dtype, std::shared_ptr<void> owner = nullptr)
      : data_(data), shape_(shape), dtype_(dtype), owner_(std::move(owner)) {}

  bool defined() const { return data_ != nullptr || shape_.numel() == 0; }
  void* data() const { return data_; }
  template <typename T>
  T* as() const {
    return static_cast<T*>(data_);
  }
  const Shape& shape() const { return shape_; }
  int64_t dim(int i) const { return shape_[i]; }
  int rank() const { return shape_.rank; }
  DType dtype() const { return dtype_; }
  int64_t numel() const { return shape_.numel(); }
  size_t nbytes() const { return static_cast<size_t>(numel()) * dtype_size(dtype_); }
  // Elements per row of the first dimension (well defined when there are no rows).
  int64_t row_numel() const {
    int64_t n = 1;
    for (int i = 1; i < shape_.rank; ++i) n *= shape_[i];
    return n;
  }

  // Rows [begin, begin + count) of the first dimension, sharing storage.
  Tensor rows(int64_t begin, int64_t count) const;
  // The same bytes seen with another shape of equal numel.
  Tensor reshaped(Shape shape) const;

 private:
  void* data_ = nullptr;
  Shape shape_;
  DType dtype_ = DType::kF32;
  std::shared_ptr<void> owner_;
};

}  // namespace pdserve::backend
