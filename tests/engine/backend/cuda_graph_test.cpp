// Graph capture on the CUDA backend: a recorded graph replays the same
// kernels on the inputs' current contents (bit for bit what the eager ops
// give), a copy while recording fails that recording only, and the staged
// row copies that fill graph inputs. Skipped without a GPU.
#include <gtest/gtest.h>

#include <numeric>
#include <random>
#include <tuple>
#include <vector>

#include "common/base/check_scope.h"
#include "tests/engine/backend/cuda_ops_fixture.h"

namespace pdserve::backend {
namespace {

// embedding -> add_rmsnorm with the residual: two kernels, inputs refreshed between replays.
TEST_F(CudaOpsTest, GraphReplayEqualsEagerOnFreshInputs) {
  const int vocab = 300, d = 512, n = 6;
  Pair table = input(random(vocab * d), Shape{vocab, d}, DType::kBF16);
  Pair w = input(random(d), Shape{d}, DType::kF32, DType::kF32);
  Tensor ids = gpu->alloc(Shape{n}, DType::kI32);
  Tensor x = gpu->alloc(Shape{n, d}, DType::kBF16), delta = gpu->alloc(Shape{n, d}, DType::kBF16);
  Tensor out = gpu->alloc(Shape{n, d}, DType::kBF16);
  ASSERT_TRUE(gpu->begin_capture().ok());
  gpu->embedding(table.gpu, ids, x);
  gpu->add_rmsnorm(x, delta, w.gpu, 1e-5f, out);
  auto graph = gpu->end_capture();
  ASSERT_TRUE(graph.ok()) << graph.status().to_string();
  EXPECT_EQ((*graph)->num_kernels(), 2);
  std::mt19937 pick(1);
  for (int round = 0; round < 3; ++round) {
    std::vector<int32_t> v(n);
    for (int32_t& id : v) id = std::uniform_int_distribution<int32_t>(0, vocab - 1)(pick);
    gpu->copy_from_host(ids, v.data(), DType::kI32);
    std::vector<float> dv = random(n * d);
    gpu->copy_from_host(delta, dv.data(), DType::kF32);
    (*graph)->replay();
    const std::vector<float> replayed = host(*gpu, out), residual = host(*gpu, x);
    Tensor ex = gpu->alloc(Shape{n, d}, DType::kBF16), eo = gpu->alloc(Shape{n, d}, DType::kBF16);
    gpu->embedding(table.gpu, ids, ex);
    gpu->add_rmsnorm(ex, delta, w.gpu, 1e-5f, eo);
    EXPECT_EQ(replayed, host(*gpu, eo)) << "round " << round;
    EXPECT_EQ(residual, host(*gpu, ex)) << "round " << round;
  }
}

TEST_F(CudaOpsTest, CopyWhileRecordingFailsThatRecordingOnly) {
  Tensor t = gpu->alloc(Shape{4}, DType::kI32);
  const std::vector<int32_t> v = {1, 2, 3, 4};
  ASSERT_TRUE(gpu->begin_capture().ok());
  EXPECT_EQ(gpu->begin_capture().code(), StatusCode::kFailedPrecondition);
  {
    RecoverableChecks scope;
    EXPECT_THROW(gpu->copy_from_host(t, v.data(), DType::kI32), CheckFailure);
    EXPECT_THROW(gpu->synchronize(), CheckFailure);
  }
  (void)gpu->end_capture();
  EXPECT_EQ(gpu->end_capture().status().code(), StatusCode::kFailedPrecondition);
  gpu->copy_from_host(t, v.data(), DType::kI32);  // eager again
  std::vector<int32_t> back(4);
  gpu->copy_to_host(t, back.data());
  EXPECT_EQ(back, v);
}

// Small copies go through the pinned staging ring, large ones straight; the
// columns past src_cols keep their contents.
TEST_F(CudaOpsTest, CopyRowsFromHostKeepsTheOtherColumns) {
  for (auto [rows, cols, src_cols] : {std::tuple{5, 7, 3}, {64, 8192, 40}, {300, 400, 400}}) {
    const int64_t total = int64_t{rows} * cols;
    std::vector<int32_t> before(static_cast<size_t>(total)),
        src(static_cast<size_t>(rows) * src_cols);
    std::iota(before.begin(), before.end(), 0);
    std::iota(src.begin(), src.end(), 1 << 24);
    Tensor t = gpu->alloc(Shape{rows, cols}, DType::kI32);
    gpu->copy_from_host(t, before.data(), DType::kI32);
    gpu->copy_rows_from_host(t, src.data(), src_cols);
    std::vector<int32_t> after(static_cast<size_t>(total));
    gpu->copy_to_host(t, after.data());
    for (int r = 0; r < rows; ++r)
      for (int c = 0; c < cols; ++c) {
        const size_t i = static_cast<size_t>(r) * cols + c;
        const int32_t want = c < src_cols ? src[static_cast<size_t>(r) * src_cols + c] : before[i];
        ASSERT_EQ(after[i], want) << rows << "x" << cols << " row " << r << " col " << c;
      }
  }
}

}  // namespace
}  // namespace pdserve::backend
