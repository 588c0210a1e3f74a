// The decode GEMV (engine/backend/cuda/gemv.cu; measured, not on the
// engine's default path: docs/PERFORMANCE.md) against the CPU reference at
// shapes that are not multiples of the kernel's tiles, 1 to 16 tokens, with
// each fused input (RMSNorm, SiLU-and-multiply) and the residual add; and a
// token's result the same bits whatever the other tokens of the call.
// Skipped without a GPU.
#include <gtest/gtest.h>

#include <tuple>
#include <vector>

#include "engine/backend/cuda/cuda_backend.h"
#include "engine/backend/cuda/gemv.h"
#include "tests/engine/backend/cuda_ops_fixture.h"

namespace pdserve::backend {
namespace {

using cuda::GemvInput;

// (in, out): k a multiple of 8 but not of a warp step (32) or of 8 warps'
// steps; out not a multiple of the 16-row tile.
const std::vector<std::pair<int, int>> kShapes = {
    {8, 1}, {40, 17}, {264, 33}, {2056, 100}, {4096, 530}};

class CudaGemvTest : public CudaOpsTest {
 protected:
  Pair weight(int64_t in, int64_t out) {
    return input(random(in * out, 0.05f), Shape{out, in}, DType::kBF16);
  }
  Pair f32(int64_t n) { return input(random(n), Shape{n}, DType::kF32, DType::kF32); }
  // y (+)= in(x) @ w^T (+ bias) on the GPU.
  void gemv(GemvInput input, const Tensor& x, const Tensor* norm, const Tensor& w,
            const Tensor* bias, bool add, Tensor& y) {
    const cuda::GemvArgs a{x.as<uint16_t>(),
                           norm ? norm->as<float>() : nullptr,
                           1e-5f,
                           w.as<uint16_t>(),
                           bias ? bias->as<float>() : nullptr,
                           y.as<uint16_t>(),
                           y.dim(0),
                           w.dim(1),
                           w.dim(0)};
    ASSERT_TRUE(cuda::gemv_supports(a));
    cuda::launch_gemv(a, input, add, static_cast<cuda::CudaBackend&>(*gpu).stream());
  }
  std::vector<uint16_t> bits(const Tensor& t) {
    std::vector<uint16_t> v(static_cast<size_t>(t.numel()));
    gpu->copy_bytes_to_host(v.data(), t.data(), t.nbytes());
    return v;
  }
};

TEST_F(CudaGemvTest, MatmulAtOddShapesAndEveryTokenCount) {
  for (auto [in, out] : kShapes)
    for (int n = 1; n <= cuda::kGemvMaxTokens; ++n) {
      Pair x = input(random(int64_t{n} * in), Shape{n, in});
      Pair w = weight(in, out), b = f32(out);
      Pair y = output(Shape{n, out});
      cpu->matmul(x.cpu, w.cpu, &b.cpu, y.cpu);
      gemv(GemvInput::kPlain, x.gpu, nullptr, w.gpu, &b.gpu, false, y.gpu);
      EXPECT_LT(rel_err(y), kBf16Bound) << n << " x " << in << " -> " << out;
    }
}

TEST_F(CudaGemvTest, RmsNormFoldedIntoTheInput) {
  for (auto [in, out] : kShapes)
    for (int n : {1, 4, 11, 16}) {
      Pair x = input(random(int64_t{n} * in, 3.0f), Shape{n, in});
      Pair nw = f32(in), w = weight(in, out);
      Pair y = output(Shape{n, out});
      Tensor normed = cpu->alloc(Shape{n, in}, DType::kF32);
      cpu->rmsnorm(x.cpu, nw.cpu, 1e-5f, normed);
      cpu->matmul(normed, w.cpu, nullptr, y.cpu);
      gemv(GemvInput::kRmsNorm, x.gpu, &nw.gpu, w.gpu, nullptr, false, y.gpu);
      EXPECT_LT(rel_err(y), kBf16Bound) << n << " x " << in << " -> " << out;
    }
}

TEST_F(CudaGemvTest, ResidualAddAndSiluMulFolded) {
  for (auto [in, out] : kShapes)
    for (int n : {1, 7, 16}) {
      Pair x = input(random(int64_t{n} * in), Shape{n, in});
      Pair gate_up = input(random(int64_t{n} * 2 * in, 2.0f), Shape{n, 2 * in});
      Pair w = weight(in, out);
      const std::vector<float> rv = random(int64_t{n} * out);
      Pair r = input(rv, Shape{n, out}), r2 = input(rv, Shape{n, out});
      Tensor delta = cpu->alloc(Shape{n, out}, DType::kF32);
      cpu->matmul(x.cpu, w.cpu, nullptr, delta);
      cpu->add(r.cpu, delta);
      gemv(GemvInput::kPlain, x.gpu, nullptr, w.gpu, nullptr, true, r.gpu);
      EXPECT_LT(rel_err(r), kBf16Bound) << n << " x " << in << " -> " << out;
      Tensor act = cpu->alloc(Shape{n, in}, DType::kF32);
      cpu->silu_mul(gate_up.cpu, act);
      cpu->matmul(act, w.cpu, nullptr, delta);
      cpu->add(r2.cpu, delta);
      gemv(GemvInput::kSiluMul, gate_up.gpu, nullptr, w.gpu, nullptr, true, r2.gpu);
      EXPECT_LT(rel_err(r2), kBf16Bound) << n << " x " << in << " -> " << out << " SiLU-mul";
    }
}

// SiLU-and-multiply folded into the input gives the bits of the separate
// kernel, then the GEMV (the same expression, rounded to bf16 alike).
TEST_F(CudaGemvTest, FoldedSiluMulEqualsSiluMulThenGemv) {
  for (int n : {1, 6, 16}) {
    const int64_t in = 1032, out = 77;
    Pair gate_up = input(random(n * 2 * in, 2.0f), Shape{n, 2 * in});
    Pair w = weight(in, out);
    Tensor act = gpu->alloc(Shape{n, in}, DType::kBF16);
    Tensor folded = gpu->alloc(Shape{n, out}, DType::kBF16);
    Tensor split = gpu->alloc(Shape{n, out}, DType::kBF16);
    gemv(GemvInput::kSiluMul, gate_up.gpu, nullptr, w.gpu, nullptr, false, folded);
    gpu->silu_mul(gate_up.gpu, act);
    gemv(GemvInput::kPlain, act, nullptr, w.gpu, nullptr, false, split);
    EXPECT_EQ(bits(folded), bits(split)) << n << " tokens";
  }
}

// Row r of a call of n tokens is the same bits as that token alone, for
// every input kind (a decode graph pads its batch up to a menu size).
TEST_F(CudaGemvTest, TokenResultDoesNotDependOnTheOtherTokens) {
  const int64_t in = 2056, out = 100, n = 16;
  Pair x = input(random(n * in, 2.0f), Shape{n, in});
  Pair gate_up = input(random(n * 2 * in), Shape{n, 2 * in});
  Pair nw = f32(in), w = weight(in, out);
  auto run = [&](int64_t begin, int64_t count) {
    std::vector<std::vector<uint16_t>> results;
    for (GemvInput input : {GemvInput::kPlain, GemvInput::kRmsNorm, GemvInput::kSiluMul}) {
      Tensor y = gpu->alloc(Shape{count, out}, DType::kBF16);
      const Tensor& src = input == GemvInput::kSiluMul ? gate_up.gpu : x.gpu;
      gemv(input, src.rows(begin, count), &nw.gpu, w.gpu, nullptr, false, y);
      results.push_back(bits(y));
    }
    return results;
  };
  for (int64_t count : {int64_t{3}, int64_t{8}, n}) {
    const auto all = run(0, count);
    for (int64_t r = 0; r < count; ++r) {
      const auto alone = run(r, 1);
      for (size_t v = 0; v < all.size(); ++v)
        EXPECT_EQ(std::vector<uint16_t>(all[v].begin() + r * out, all[v].begin() + (r + 1) * out),
                  alone[v])
            << "token " << r << " of " << count << ", input kind " << v;
    }
  }
}

}  // namespace
}  // namespace pdserve::backend
