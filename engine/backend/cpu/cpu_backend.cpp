// Memory, copies and the small element-wise ops of the CPU backend.
#include "engine/backend/cpu/cpu_backend.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace pdserve::backend::cpu {

void load_row_f32(const Tensor& t, int64_t row, float* dst) {
  int64_t cols = t.numel() / t.dim(0);
  const char* base = static_cast<const char*>(t.data()) + row * cols * dtype_size(t.dtype());
  to_f32(t.dtype(), base, dst, static_cast<size_t>(cols));
}

namespace {

// Every CPU op has finished when it returns: a marker is passed at once.
class DoneMarker final : public Marker {
 public:
  void wait() override {}
};

}  // namespace

std::unique_ptr<Marker> CpuBackend::mark() {
  return std::make_unique<DoneMarker>();
}

Tensor CpuBackend::alloc(Shape shape, DType dtype) {
  size_t bytes = static_cast<size_t>(shape.numel()) * dtype_size(dtype);
  // 64-byte aligned, at least one byte so that data() is never null.
  size_t rounded = (std::max<size_t>(bytes, 1) + 63) / 64 * 64;
  void* p = std::aligned_alloc(64, rounded);
  PD_CHECK(p != nullptr) << "out of host memory allocating " << bytes << " bytes";
  return Tensor(p, shape, dtype, std::shared_ptr<void>(p, std::free));
}

void CpuBackend::copy_from_host(Tensor& dst, const void* src, DType src_dtype) {
  size_t n = static_cast<size_t>(dst.numel());
  if (src_dtype == dst.dtype()) {
    std::memcpy(dst.data(), src, dst.nbytes());
    return;
  }
  PD_CHECK(src_dtype != DType::kI32 && dst.dtype() != DType::kI32)
      << "cannot convert " << dtype_name(src_dtype) << " to " << dtype_name(dst.dtype());
  if (dst.dtype() == DType::kF32) {
    to_f32(src_dtype, src, dst.as<float>(), n);
    return;
  }
  std::vector<float> tmp(n);
  to_f32(src_dtype, src, tmp.data(), n);
  from_f32(dst.dtype(), tmp.data(), dst.data(), n);
}

void CpuBackend::copy_to_host(const Tensor& src, void* dst) {
  if (src.dtype() == DType::kI32 || src.dtype() == DType::kF32) {
    std::memcpy(dst, src.data(), src.nbytes());
    return;
  }
  to_f32(src.dtype(), src.data(), static_cast<float*>(dst), static_cast<size_t>(src.numel()));
}

void CpuBackend::copy_bytes_to_host(void* dst, const void* src, size_t n) {
  std::memcpy(dst, src, n);
}
void CpuBackend::copy_bytes_from_host(void* dst, const void* src, size_t n) {
  std::memcpy(dst, src, n);
}
void CpuBackend::fill_zero(Tensor& t) {
  std::memset(t.data(), 0, t.nbytes());
}

void CpuBackend::embedding(const Tensor& table, const Tensor& ids, Tensor& out) {
  PD_CHECK(table.rank() == 2 && ids.dtype() == DType::kI32 && out.dtype() == DType::kF32 &&
           out.dim(0) == ids.numel() && out.dim(1) == table.dim(1))
      << "embedding: table " << table.shape().to_string() << " ids " << ids.shape().to_string()
      << " out " << out.shape().to_string();
  const int32_t* id = ids.as<int32_t>();
  int64_t vocab = table.dim(0), hidden = table.dim(1);
  pool_.parallel_for(ids.numel(), 1, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      PD_CHECK(id[i] >= 0 && id[i] < vocab) << "token id " << id[i] << " outside vocab " << vocab;
      load_row_f32(table, id[i], out.as<float>() + i * hidden);
    }
  });
}

void CpuBackend::silu_mul(const Tensor& gate_up, Tensor& out) {
  int64_t n = gate_up.dim(0), d = out.dim(1);
  PD_CHECK(gate_up.dim(1) == 2 * d && out.dim(0) == n && out.dtype() == DType::kF32)
      << "silu_mul: gate_up " << gate_up.shape().to_string() << " out " << out.shape().to_string();
  pool_.parallel_for(n, 1, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      const float* g = gate_up.as<float>() + i * 2 * d;
      const float* u = g + d;
      float* o = out.as<float>() + i * d;
      for (int64_t j = 0; j < d; ++j) o[j] = g[j] / (1.0f + std::exp(-g[j])) * u[j];
    }
  });
}

void CpuBackend::add(Tensor& x, const Tensor& y) {
  PD_CHECK(x.shape() == y.shape() && x.dtype() == DType::kF32 && y.dtype() == DType::kF32)
      << "add: " << x.shape().to_string() << " + " << y.shape().to_string();
  float* a = x.as<float>();
  const float* b = y.as<float>();
  for (int64_t i = 0; i < x.numel(); ++i) a[i] += b[i];
}

void CpuBackend::gather_rows(const Tensor& x, const Tensor& idx, Tensor& out) {
  int64_t d = x.row_numel();
  PD_CHECK(idx.dtype() == DType::kI32 && out.dim(0) == idx.numel() && out.row_numel() == d &&
           out.dtype() == x.dtype())
      << "gather_rows: x " << x.shape().to_string() << " idx " << idx.shape().to_string() << " out "
      << out.shape().to_string();
  size_t row_bytes = static_cast<size_t>(d) * dtype_size(x.dtype());
  for (int64_t i = 0; i < idx.numel(); ++i) {
    int32_t r = idx.as<int32_t>()[i];
    PD_CHECK(r >= 0 && r < x.dim(0)) << "gather_rows: row " << r << " of " << x.dim(0);
    std::memcpy(static_cast<char*>(out.data()) + i * row_bytes,
                static_cast<const char*>(x.data()) + r * row_bytes, row_bytes);
  }
}

void CpuBackend::argmax_rows(const Tensor& x, Tensor& out) {
  PD_CHECK(x.rank() == 2 && x.dtype() == DType::kF32 && out.dtype() == DType::kI32 &&
           out.numel() == x.dim(0))
      << "argmax_rows: x " << x.shape().to_string() << " out " << out.shape().to_string();
  const int64_t cols = x.dim(1);
  for (int64_t i = 0; i < x.dim(0); ++i) {
    const float* row = x.as<float>() + i * cols;
    out.as<int32_t>()[i] = static_cast<int32_t>(std::max_element(row, row + cols) - row);
  }
}

}  // namespace pdserve::backend::cpu

namespace pdserve::backend {
std::unique_ptr<Backend> make_cpu_backend(int num_threads) {
  return std::make_unique<cpu::CpuBackend>(num_threads);
}
}  // namespace pdserve::backend
