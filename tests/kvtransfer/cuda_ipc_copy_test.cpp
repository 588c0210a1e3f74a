// The cuda_ipc copy path in one process (CUDA builds only): lists of spans of
// every shape the backend sends (many KV blocks, one long span, lengths and
// addresses that are not 16-byte aligned, more spans than one launch
// carries) land byte for byte, and nothing outside the spans is written.
// Skips when no CUDA device is present.
#include <cuda_runtime_api.h>
#include <gtest/gtest.h>

#include <numeric>
#include <vector>

#include "kvtransfer/cuda_ipc_copy.h"

namespace pdserve::kvtransfer::cuda_ipc {
namespace {

bool have_device() {
  int n = 0;
  return cudaGetDeviceCount(&n) == cudaSuccess && n > 0;
}

struct Span {
  size_t offset, len;
};

// Copies `spans` (same offsets in source and destination) from a patterned
// source into a zeroed destination and checks every byte of the destination.
void check_copies(const std::vector<Span>& spans, size_t total) {
  std::vector<unsigned char> src_host(total), back(total);
  for (size_t i = 0; i < total; ++i) src_host[i] = static_cast<unsigned char>(i * 7 + i / 251);
  void *src = nullptr, *dst = nullptr;
  ASSERT_EQ(cudaMalloc(&src, total), cudaSuccess);
  ASSERT_EQ(cudaMalloc(&dst, total), cudaSuccess);
  ASSERT_EQ(cudaMemcpy(src, src_host.data(), total, cudaMemcpyHostToDevice), cudaSuccess);
  ASSERT_EQ(cudaMemset(dst, 0, total), cudaSuccess);
  std::vector<CopySpan> copies;
  std::vector<unsigned char> expected(total, 0);
  for (const Span& s : spans) {
    copies.push_back(
        {static_cast<const char*>(src) + s.offset, static_cast<char*>(dst) + s.offset, s.len});
    std::copy_n(src_host.begin() + static_cast<ptrdiff_t>(s.offset), s.len,
                expected.begin() + static_cast<ptrdiff_t>(s.offset));
  }
  cudaStream_t stream = nullptr;
  ASSERT_EQ(cudaStreamCreate(&stream), cudaSuccess);
  ASSERT_TRUE(enqueue_copies(copies, stream).ok());
  ASSERT_EQ(cudaStreamSynchronize(stream), cudaSuccess);
  ASSERT_EQ(cudaMemcpy(back.data(), dst, total, cudaMemcpyDeviceToHost), cudaSuccess);
  cudaStreamDestroy(stream);
  cudaFree(src);
  cudaFree(dst);
  for (size_t i = 0; i < total; ++i) ASSERT_EQ(back[i], expected[i]) << "byte " << i;
}

TEST(CudaIpcCopyTest, ScatteredKvBlocks) {
  if (!have_device()) GTEST_SKIP() << "no CUDA device";
  std::vector<Span> spans;
  for (size_t i = 0; i < 300; ++i) spans.push_back({(2 * i + 1) * 16384, 16384});
  check_copies(spans, 601 * 16384);
}

TEST(CudaIpcCopyTest, LongSpansBesideShortOnes) {
  if (!have_device()) GTEST_SKIP() << "no CUDA device";
  // 4 MiB + 48 spreads over many CTAs; the short spans end in the first one.
  check_copies({{0, (4 << 20) + 48}, {(5 << 20), 4096}, {(6 << 20), 16}}, 7 << 20);
}

TEST(CudaIpcCopyTest, UnalignedSpansTakeTheByteKernel) {
  if (!have_device()) GTEST_SKIP() << "no CUDA device";
  check_copies({{3, 1000003}, {2000001, 17}, {3000000, 70001}}, 4 << 20);
}

TEST(CudaIpcCopyTest, OneLongSpan) {
  if (!have_device()) GTEST_SKIP() << "no CUDA device";
  check_copies({{4096, (9 << 20) + 5}}, 10 << 20);
}

TEST(CudaIpcCopyTest, MoreSpansThanOneLaunchCarries) {
  if (!have_device()) GTEST_SKIP() << "no CUDA device";
  std::vector<Span> spans;
  const size_t n = 2 * kSpansPerLaunch + 7;
  for (size_t i = 0; i < n; ++i) spans.push_back({i * 1024 + 256, 512});
  check_copies(spans, n * 1024);
}

}  // namespace
}  // namespace pdserve::kvtransfer::cuda_ipc
