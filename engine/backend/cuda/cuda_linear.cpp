// The CUDA backend's linear ops, matmul and its fused forms (backend.h). The
// plan: a call of at most kGemvTokens tokens runs the decode GEMV (gemv.cu),
// its RMSNorm, SiLU-and-multiply and residual add folded in; a larger one
// runs the input's own kernel, then cuBLASLt (adding into the residual with
// beta = 1), so a decode step of a few tokens and a prefill chunk each take
// their fastest path. Both are plain launches on the stream, so CUDA graphs
// record them.
#include "engine/backend/cuda/bias_add.h"
#include "engine/backend/cuda/cuda_backend.h"
#include "engine/backend/cuda/cuda_check.h"
#include "engine/backend/cuda/rmsnorm.h"
#include "engine/backend/cuda/silu_mul.h"
#include "engine/backend/cuda/tensor_args.h"

namespace pdserve::backend::cuda {
namespace {

// Up to this many tokens the GEMV beats cuBLASLt at every Llama projection
// shape (tools/gemv_bench; docs/PERFORMANCE.md, "The decode GEMV").
constexpr int64_t kGemvTokens = kGemvMaxTokens;

}  // namespace

void CudaBackend::linear(const char* op, GemvInput input, const Tensor& x,
                         const Tensor* norm_weight, float eps, const Tensor& w, const Tensor* bias,
                         bool add, Tensor& out) {
  expect_bf16(op, {&x, &w, &out});
  const int64_t n = x.dim(0), in = w.dim(1), outs = w.dim(0);
  const int64_t x_cols = input == GemvInput::kSiluMul ? 2 * in : in;
  PD_CHECK(x.rank() == 2 && w.rank() == 2 && out.rank() == 2 && x.dim(1) == x_cols &&
           out.dim(0) == n && out.dim(1) == outs)
      << op << ": x " << x.shape().to_string() << " w " << w.shape().to_string() << " out "
      << out.shape().to_string();
  PD_CHECK(!bias || (bias->dtype() == DType::kF32 && bias->numel() == outs))
      << op << ": bias " << bias->shape().to_string() << " for " << outs << " outputs";
  PD_CHECK(!norm_weight || (norm_weight->dtype() == DType::kF32 && norm_weight->numel() == in))
      << op << ": norm weight " << norm_weight->shape().to_string() << " for " << in << " inputs";
  if (n == 0) return;
  const GemvArgs a{bf16(x),
                   norm_weight ? norm_weight->as<float>() : nullptr,
                   eps,
                   bf16(w),
                   bias ? bias->as<float>() : nullptr,
                   bf16_mut(out),
                   n,
                   in,
                   outs};
  if (n <= kGemvTokens && gemv_supports(a)) {
    launch_gemv(a, input, add, stream_);
    return;
  }
  Tensor staged = x;
  if (input != GemvInput::kPlain) {
    staged = alloc(Shape{n, in}, DType::kBF16);
    if (input == GemvInput::kRmsNorm)
      launch_rmsnorm(bf16(x), nullptr, a.norm_weight, eps, n, in, bf16_mut(staged), stream_);
    else
      launch_silu_mul(bf16(x), n, in, bf16_mut(staged), stream_);
  }
  gemm_->run(bf16(staged), bf16(w), bf16_mut(out), n, in, outs, add);
  if (bias) launch_bias_add(bf16_mut(out), a.bias, n, outs, stream_);
}

void CudaBackend::matmul(const Tensor& x, const Tensor& w, const Tensor* bias, Tensor& out) {
  linear("matmul", GemvInput::kPlain, x, nullptr, 0.0f, w, bias, false, out);
}

void CudaBackend::rmsnorm_matmul(const Tensor& x, const Tensor& norm_weight, float eps,
                                 const Tensor& w, const Tensor* bias, Tensor& out) {
  linear("rmsnorm_matmul", GemvInput::kRmsNorm, x, &norm_weight, eps, w, bias, false, out);
}

void CudaBackend::matmul_add(const Tensor& x, const Tensor& w, const Tensor* bias,
                             Tensor& residual) {
  linear("matmul_add", GemvInput::kPlain, x, nullptr, 0.0f, w, bias, true, residual);
}

void CudaBackend::silu_mul_matmul_add(const Tensor& gate_up, const Tensor& w, const Tensor* bias,
                                      Tensor& residual) {
  linear("silu_mul_matmul_add", GemvInput::kSiluMul, gate_up, nullptr, 0.0f, w, bias, true,
         residual);
}

}  // namespace pdserve::backend::cuda
