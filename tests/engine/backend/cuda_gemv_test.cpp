// The linear ops on the GPU (engine/backend/cuda/cuda_linear.cpp): the decode
// GEMV at up to 16 tokens, cuBLASLt above, each against the CPU reference
// (backend.h's composed defaults) at shapes that are not multiples of the
// kernel's tiles, with every fused input and the residual add; and a token's
// result the same bits whatever the other tokens of the call. Skipped
// without a GPU.
#include <gtest/gtest.h>

#include <cstring>
#include <tuple>
#include <vector>

#include "tests/engine/backend/cuda_ops_fixture.h"

namespace pdserve::backend {
namespace {

// (in, out): k a multiple of 8 but not of a warp step (32) or of 8 warps'
// steps; k = 12 is not a multiple of 8 (cuBLASLt takes it); out not a
// multiple of the 16-row tile.
const std::vector<std::pair<int, int>> kShapes = {{8, 1},    {12, 5},     {40, 17},
                                                  {264, 33}, {2056, 100}, {4096, 530}};

class CudaGemvTest : public CudaOpsTest {
 protected:
  Pair weight(int64_t in, int64_t out) {
    return input(random(in * out, 0.05f), Shape{out, in}, DType::kBF16);
  }
  Pair f32(int64_t n) { return input(random(n), Shape{n}, DType::kF32, DType::kF32); }
  std::vector<uint16_t> bits(const Tensor& t) {
    std::vector<uint16_t> v(static_cast<size_t>(t.numel()));
    gpu->copy_bytes_to_host(v.data(), t.data(), t.nbytes());
    return v;
  }
};

TEST_F(CudaGemvTest, MatmulAtOddShapesAndEveryTokenCount) {
  for (auto [in, out] : kShapes)
    for (int n : {1, 2, 3, 5, 8, 9, 13, 16, 17, 40}) {
      Pair x = input(random(int64_t{n} * in), Shape{n, in});
      Pair w = weight(in, out), b = f32(out);
      Pair y = output(Shape{n, out}), yb = output(Shape{n, out});
      cpu->matmul(x.cpu, w.cpu, nullptr, y.cpu);
      gpu->matmul(x.gpu, w.gpu, nullptr, y.gpu);
      EXPECT_LT(rel_err(y), kBf16Bound) << n << " x " << in << " -> " << out;
      cpu->matmul(x.cpu, w.cpu, &b.cpu, yb.cpu);
      gpu->matmul(x.gpu, w.gpu, &b.gpu, yb.gpu);
      EXPECT_LT(rel_err(yb), kBf16Bound) << n << " x " << in << " -> " << out << " with bias";
    }
}

TEST_F(CudaGemvTest, RmsNormMatmul) {
  for (auto [in, out] : kShapes)
    for (int n : {1, 4, 11, 16, 33}) {
      Pair x = input(random(int64_t{n} * in, 3.0f), Shape{n, in});
      Pair nw = f32(in), w = weight(in, out), b = f32(out);
      Pair y = output(Shape{n, out});
      cpu->rmsnorm_matmul(x.cpu, nw.cpu, 1e-5f, w.cpu, &b.cpu, y.cpu);
      gpu->rmsnorm_matmul(x.gpu, nw.gpu, 1e-5f, w.gpu, &b.gpu, y.gpu);
      EXPECT_LT(rel_err(y), kBf16Bound) << n << " x " << in << " -> " << out;
    }
}

TEST_F(CudaGemvTest, MatmulAddAndSiluMulMatmulAddIntoTheResidual) {
  for (auto [in, out] : kShapes)
    for (int n : {1, 7, 16, 24}) {
      Pair x = input(random(int64_t{n} * in), Shape{n, in});
      Pair gate_up = input(random(int64_t{n} * 2 * in, 2.0f), Shape{n, 2 * in});
      Pair w = weight(in, out), b = f32(out);
      const std::vector<float> rv = random(int64_t{n} * out);
      Pair r = input(rv, Shape{n, out}), r2 = input(rv, Shape{n, out});
      cpu->matmul_add(x.cpu, w.cpu, &b.cpu, r.cpu);
      gpu->matmul_add(x.gpu, w.gpu, &b.gpu, r.gpu);
      EXPECT_LT(rel_err(r), kBf16Bound) << n << " x " << in << " -> " << out;
      cpu->silu_mul_matmul_add(gate_up.cpu, w.cpu, nullptr, r2.cpu);
      gpu->silu_mul_matmul_add(gate_up.gpu, w.gpu, nullptr, r2.gpu);
      EXPECT_LT(rel_err(r2), kBf16Bound) << n << " x " << in << " -> " << out << " SiLU-mul";
    }
}

// SiLU-and-multiply folded into the GEMV's input gives the bits of the
// separate kernel, then the GEMV (the same expression, rounded to bf16 alike).
TEST_F(CudaGemvTest, FoldedSiluMulEqualsSiluMulThenMatmul) {
  for (int n : {1, 6, 16}) {
    const int64_t in = 1032, out = 77;
    Pair gate_up = input(random(n * 2 * in, 2.0f), Shape{n, 2 * in});
    Pair w = weight(in, out);
    Tensor act = gpu->alloc(Shape{n, in}, DType::kBF16);
    Tensor folded = gpu->alloc(Shape{n, out}, DType::kBF16);
    Tensor split = gpu->alloc(Shape{n, out}, DType::kBF16);
    gpu->fill_zero(folded);
    gpu->fill_zero(split);
    gpu->silu_mul_matmul_add(gate_up.gpu, w.gpu, nullptr, folded);
    gpu->silu_mul(gate_up.gpu, act);
    gpu->matmul_add(act, w.gpu, nullptr, split);
    EXPECT_EQ(bits(folded), bits(split)) << n << " tokens";
  }
}

// Row r of a call of n tokens is the same bits as that token alone, for
// every input kind (the decode graphs pad a batch up to a menu size).
TEST_F(CudaGemvTest, TokenResultDoesNotDependOnTheOtherTokens) {
  const int64_t in = 2056, out = 100, n = 16;
  Pair x = input(random(n * in, 2.0f), Shape{n, in});
  Pair gate_up = input(random(n * 2 * in), Shape{n, 2 * in});
  Pair nw = f32(in), w = weight(in, out);
  auto run = [&](int64_t begin, int64_t count) {
    Tensor y = gpu->alloc(Shape{count, out}, DType::kBF16);
    Tensor yn = gpu->alloc(Shape{count, out}, DType::kBF16);
    Tensor ys = gpu->alloc(Shape{count, out}, DType::kBF16);
    gpu->fill_zero(ys);
    gpu->matmul(x.gpu.rows(begin, count), w.gpu, nullptr, y);
    gpu->rmsnorm_matmul(x.gpu.rows(begin, count), nw.gpu, 1e-5f, w.gpu, nullptr, yn);
    gpu->silu_mul_matmul_add(gate_up.gpu.rows(begin, count), w.gpu, nullptr, ys);
    return std::tuple{bits(y), bits(yn), bits(ys)};
  };
  for (int64_t count : {int64_t{3}, int64_t{8}, n}) {
    auto [y, yn, ys] = run(0, count);
    for (int64_t r = 0; r < count; ++r) {
      auto [y1, yn1, ys1] = run(r, 1);
      auto row = [&](const std::vector<uint16_t>& v) {
        return std::vector<uint16_t>(v.begin() + r * out, v.begin() + (r + 1) * out);
      };
      EXPECT_EQ(row(y), y1) << "token " << r << " of " << count;
      EXPECT_EQ(row(yn), yn1) << "token " << r << " of " << count << ", RMSNorm";
      EXPECT_EQ(row(ys), ys1) << "token " << r << " of " << count << ", SiLU-mul";
    }
  }
}

}  // namespace
}  // namespace pdserve::backend
