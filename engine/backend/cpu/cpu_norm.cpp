// RMSNorm, as Hugging Face's LlamaRMSNorm in fp32: x * rsqrt(mean(x^2) + eps) * w.
#include <cmath>
#include <vector>

#include "engine/backend/cpu/cpu_backend.h"

namespace pdserve::backend::cpu {
namespace {

void rmsnorm_row(const float* x, const float* w, float eps, int64_t d, float* out) {
  float sum = 0.0f;
  for (int64_t j = 0; j < d; ++j) sum += x[j] * x[j];
  float inv = 1.0f / std::sqrt(sum / static_cast<float>(d) + eps);
  for (int64_t j = 0; j < d; ++j) out[j] = w[j] * (x[j] * inv);
}

void check_norm_args(const char* op, const Tensor& x, const Tensor& weight, const Tensor& out) {
  PD_CHECK(x.dtype() == DType::kF32 && out.dtype() == DType::kF32 &&
           weight.dtype() == DType::kF32 && x.shape() == out.shape() &&
           weight.numel() == x.numel() / x.dim(0))
      << op << ": x " << x.shape().to_string() << " weight " << weight.shape().to_string()
      << " out " << out.shape().to_string();
}

}  // namespace

void CpuBackend::rmsnorm(const Tensor& x, const Tensor& weight, float eps, Tensor& out) {
  check_norm_args("rmsnorm", x, weight, out);
  int64_t d = weight.numel();
  pool_.parallel_for(x.dim(0), 4, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i)
      rmsnorm_row(x.as<float>() + i * d, weight.as<float>(), eps, d, out.as<float>() + i * d);
  });
}

void CpuBackend::add_rmsnorm(Tensor& residual, const Tensor& x, const Tensor& weight, float eps,
                             Tensor& out) {
  check_norm_args("add_rmsnorm", x, weight, out);
  PD_CHECK(residual.shape() == x.shape())
      << "add_rmsnorm: residual " << residual.shape().to_string();
  int64_t d = weight.numel();
  pool_.parallel_for(x.dim(0), 4, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      float* r = residual.as<float>() + i * d;
      const float* xi = x.as<float>() + i * d;
      for (int64_t j = 0; j < d; ++j) r[j] += xi[j];
      rmsnorm_row(r, weight.as<float>(), eps, d, out.as<float>() + i * d);
    }
  });
}

}  // namespace pdserve::backend::cpu
