// Every CUDA op against the CPU reference on fresh random inputs at several
// shapes, by ||gpu - cpu|| / ||cpu|| (bf16 bound 1e-2, METHOD.md), with the
// GPU outputs poisoned with NaN before each run. Skipped without a GPU.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <tuple>
#include <vector>

#include "tests/engine/backend/cuda_ops_fixture.h"

namespace pdserve::backend {
namespace {

TEST_F(CudaOpsTest, Matmul) {
  for (auto [n, in, out] :
       {std::tuple{1, 4096, 4096}, {7, 512, 1000}, {64, 2048, 2048}, {300, 1024, 3072}}) {
    Pair x = input(random(n * in), Shape{n, in});
    Pair w = input(random(int64_t{out} * in, 0.02f), Shape{out, in}, DType::kBF16);
    Pair b = input(random(out), Shape{out}, DType::kF32, DType::kF32);
    Pair y = output(Shape{n, out});
    cpu->matmul(x.cpu, w.cpu, &b.cpu, y.cpu);
    gpu->matmul(x.gpu, w.gpu, &b.gpu, y.gpu);
    EXPECT_LT(rel_err(y), kBf16Bound) << n << "x" << in << "x" << out;
  }
}

TEST_F(CudaOpsTest, RmsNormAndResidualAdd) {
  for (auto [n, d] : {std::pair{1, 4096}, {33, 896}, {200, 2048}}) {
    Pair x = input(random(n * d), Shape{n, d});
    Pair w = input(random(d), Shape{d}, DType::kF32, DType::kF32);
    Pair out = output(Shape{n, d});
    cpu->rmsnorm(x.cpu, w.cpu, 1e-5f, out.cpu);
    gpu->rmsnorm(x.gpu, w.gpu, 1e-5f, out.gpu);
    EXPECT_LT(rel_err(out), kBf16Bound);
    Pair r = input(random(n * d), Shape{n, d});
    Pair out2 = output(Shape{n, d});
    cpu->add_rmsnorm(r.cpu, x.cpu, w.cpu, 1e-6f, out2.cpu);
    gpu->add_rmsnorm(r.gpu, x.gpu, w.gpu, 1e-6f, out2.gpu);
    EXPECT_LT(rel_err(out2), kBf16Bound);
    EXPECT_LT(rel_err(r), kBf16Bound);  // the residual holds the sum
  }
}

// The fused residual add + RMSNorm gives bit for bit what add, then RMSNorm,
// give on the GPU (the decode step's final norm takes the fused op), in the
// 16-byte variant (d % 8 == 0) and the scalar one; both variants and SiLU-mul
// against the CPU reference.
TEST_F(CudaOpsTest, FusedAddRmsNormEqualsAddThenRmsNorm) {
  for (auto [n, d] : {std::pair{1, 4096}, {9, 100}, {64, 2048}}) {
    const std::vector<float> xv = random(n * d), rv = random(n * d);
    Pair w = input(random(d), Shape{d}, DType::kF32, DType::kF32);
    Pair x = input(xv, Shape{n, d}), fused_r = input(rv, Shape{n, d}),
         split_r = input(rv, Shape{n, d});
    Pair fused = output(Shape{n, d}), split = output(Shape{n, d});
    gpu->add_rmsnorm(fused_r.gpu, x.gpu, w.gpu, 1e-5f, fused.gpu);
    gpu->add(split_r.gpu, x.gpu);
    gpu->rmsnorm(split_r.gpu, w.gpu, 1e-5f, split.gpu);
    EXPECT_EQ(host(*gpu, fused.gpu), host(*gpu, split.gpu)) << n << "x" << d;
    EXPECT_EQ(host(*gpu, fused_r.gpu), host(*gpu, split_r.gpu)) << n << "x" << d;
    cpu->add_rmsnorm(fused_r.cpu, x.cpu, w.cpu, 1e-5f, fused.cpu);
    EXPECT_LT(rel_err(fused), kBf16Bound) << n << "x" << d;
    Pair gu = input(random(n * 2 * d), Shape{n, 2 * d});
    Pair act = output(Shape{n, d});
    cpu->silu_mul(gu.cpu, act.cpu);
    gpu->silu_mul(gu.gpu, act.gpu);
    EXPECT_LT(rel_err(act), kBf16Bound) << n << "x" << d;
  }
}

TEST_F(CudaOpsTest, ElementwiseEmbeddingAndGather) {
  const int n = 37, d = 1536, vocab = 5000;
  Pair gu = input(random(n * 2 * d), Shape{n, 2 * d});
  Pair act = output(Shape{n, d});
  cpu->silu_mul(gu.cpu, act.cpu);
  gpu->silu_mul(gu.gpu, act.gpu);
  EXPECT_LT(rel_err(act), kBf16Bound);

  Pair y = input(random(n * d), Shape{n, d});
  cpu->add(act.cpu, y.cpu);
  gpu->add(act.gpu, y.gpu);
  EXPECT_LT(rel_err(act), kBf16Bound);

  std::vector<int32_t> ids(n);
  for (int32_t& id : ids) id = static_cast<int32_t>(rng() % vocab);
  Pair table = input(random(int64_t{vocab} * d), Shape{vocab, d}, DType::kBF16);
  Pair e = output(Shape{n, d});
  Pair idp = ints(ids);
  cpu->embedding(table.cpu, idp.cpu, e.cpu);
  gpu->embedding(table.gpu, idp.gpu, e.gpu);
  EXPECT_EQ(rel_err(e), 0.0);

  Pair rows = ints({5, 0, 36, 5});
  Pair g = output(Shape{4, d});
  cpu->gather_rows(e.cpu, rows.cpu, g.cpu);
  gpu->gather_rows(e.gpu, rows.gpu, g.gpu);
  EXPECT_EQ(rel_err(g), 0.0);
}

// Rows as wide as a vocabulary (16-byte loads, partial last rounds) and of
// an odd width (one value per load), with the maximum planted at the start,
// the end and twice (the lowest index wins), against the CPU.
TEST_F(CudaOpsTest, ArgmaxRowsWideAndOddWidths) {
  for (int64_t cols : {int64_t{128256}, int64_t{1001}, int64_t{8}}) {
    const int m = 6;
    std::vector<float> v = random(m * cols);
    const auto at = [&](int r, int64_t c) -> float& {
      return v[static_cast<size_t>(r * cols + c)];
    };
    at(0, 0) = 100.0f;
    at(1, cols - 1) = 100.0f;
    at(2, cols / 2) = 100.0f;
    at(2, cols - 1) = 100.0f;
    at(3, 0) = 50.0f;
    at(3, cols / 3) = 100.0f;
    Pair x = input(v, Shape{m, cols});
    Pair out{cpu->alloc(Shape{m}, DType::kI32), gpu->alloc(Shape{m}, DType::kI32)};
    cpu->argmax_rows(x.cpu, out.cpu);
    gpu->argmax_rows(x.gpu, out.gpu);
    std::vector<int32_t> c(m), g(m);
    cpu->copy_to_host(out.cpu, c.data());
    gpu->copy_to_host(out.gpu, g.data());
    EXPECT_EQ(g, c) << "cols " << cols;
    EXPECT_EQ(g[0], 0);
    EXPECT_EQ(g[1], cols - 1);
    EXPECT_EQ(g[2], cols / 2);
    EXPECT_EQ(g[3], cols / 3);
  }
}

// The same widths under masks: random ones, one allowing nothing (token 0,
// as sample_rows), one allowing everything (the plain argmax), and the
// planted maxima masked out; the masks uploaded to the GPU from
// alloc_host() memory by copy_from_host_async, as the runner's sampler does.
TEST_F(CudaOpsTest, MaskedArgmaxRowsFromPinnedMasks) {
  for (int64_t cols : {int64_t{128256}, int64_t{1001}, int64_t{8}}) {
    const int m = 6;
    const int64_t words = mask_words(cols);
    std::vector<float> v = random(m * cols);
    std::vector<uint32_t> masks(static_cast<size_t>(m * words));
    for (uint32_t& w : masks) w = static_cast<uint32_t>(rng()) & static_cast<uint32_t>(rng());
    const auto allow = [&](int r, int64_t c, bool on) {
      uint32_t& w = masks[static_cast<size_t>(r * words + c / 32)];
      w = on ? w | (1u << (c % 32)) : w & ~(1u << (c % 32));
    };
    v[static_cast<size_t>(cols / 2)] = 100.0f;  // row 0: the maximum masked out
    allow(0, cols / 2, false);
    v[static_cast<size_t>(cols + 1)] = v[static_cast<size_t>(2 * cols - 1)] = 100.0f;
    allow(1, 1, true);  // row 1: a tie of allowed maxima
    allow(1, cols - 1, true);
    std::fill_n(masks.begin() + 2 * words, words, 0u);   // row 2: nothing allowed
    std::fill_n(masks.begin() + 3 * words, words, ~0u);  // row 3: everything
    Pair x = input(v, Shape{m, cols});
    std::shared_ptr<void> pinned = gpu->alloc_host(masks.size() * sizeof(uint32_t));
    std::copy(masks.begin(), masks.end(), static_cast<uint32_t*>(pinned.get()));
    Pair allowed{cpu->alloc(Shape{m, words}, DType::kI32),
                 gpu->alloc(Shape{m, words}, DType::kI32)};
    cpu->copy_from_host(allowed.cpu, masks.data(), DType::kI32);
    gpu->copy_from_host_async(allowed.gpu, pinned.get());
    Pair out{cpu->alloc(Shape{m}, DType::kI32), gpu->alloc(Shape{m}, DType::kI32)};
    cpu->masked_argmax_rows(x.cpu, allowed.cpu, out.cpu);
    gpu->masked_argmax_rows(x.gpu, allowed.gpu, out.gpu);
    std::vector<int32_t> c(m), g(m), plain(m);
    cpu->copy_to_host(out.cpu, c.data());
    gpu->copy_to_host(out.gpu, g.data());
    EXPECT_EQ(g, c) << "cols " << cols;
    EXPECT_NE(g[0], cols / 2);
    EXPECT_EQ(g[1], 1);
    EXPECT_EQ(g[2], 0);
    gpu->argmax_rows(x.gpu, out.gpu);
    gpu->copy_to_host(out.gpu, plain.data());
    EXPECT_EQ(g[3], plain[3]);
  }
}

TEST_F(CudaOpsTest, RopeWritesKvAndRotatesQ) {
  for (bool qk_norm : {false, true}) {
    const QkvLayout layout{8, 2, 128};
    const int n = 19, block_size = 16, num_blocks = 8;
    std::vector<float> inv(64);
    for (int i = 0; i < 64; ++i)
      inv[static_cast<size_t>(i)] = 1.0f / std::pow(500000.0f, 2.0f * i / 128);
    RopeParams rc{cpu->alloc(Shape{64}, DType::kF32), 1.1f},
        rg{gpu->alloc(Shape{64}, DType::kF32), 1.1f};
    cpu->copy_from_host(rc.inv_freq, inv.data(), DType::kF32);
    gpu->copy_from_host(rg.inv_freq, inv.data(), DType::kF32);
    std::vector<int32_t> pos(n), slots(n);
    for (int t = 0; t < n; ++t) {
      pos[static_cast<size_t>(t)] = 1000 + 37 * t;
      slots[static_cast<size_t>(t)] =
          t == 3 ? -1 : static_cast<int32_t>((t * 5) % (block_size * num_blocks));
    }
    Pair qkv = input(random(n * layout.width()), Shape{n, layout.width()});
    Pair qn = input(random(128), Shape{128}, DType::kF32, DType::kF32),
         kn = input(random(128), Shape{128}, DType::kF32, DType::kF32);
    Pair p = ints(pos), s = ints(slots);
    Pair q = output(Shape{n, layout.q_dim()});
    Pair kv = input(random(int64_t{num_blocks} * 2 * block_size * layout.kv_dim()),
                    Shape{num_blocks, 2, block_size, layout.kv_dim()}, DType::kBF16);
    KvLayer kc{kv.cpu, block_size}, kg{kv.gpu, block_size};
    cpu->qkv_rope_write_kv(qkv.cpu, layout, qk_norm ? &qn.cpu : nullptr,
                           qk_norm ? &kn.cpu : nullptr, 1e-6f, rc, p.cpu, s.cpu, kc, q.cpu);
    gpu->qkv_rope_write_kv(qkv.gpu, layout, qk_norm ? &qn.gpu : nullptr,
                           qk_norm ? &kn.gpu : nullptr, 1e-6f, rg, p.gpu, s.gpu, kg, q.gpu);
    EXPECT_LT(rel_err(q), kBf16Bound) << "qk_norm " << qk_norm;
    EXPECT_LT(rel_err(kv), kBf16Bound) << "qk_norm " << qk_norm;
  }
}

TEST_F(CudaOpsTest, PagedAttentionPrefillAndDecode) {
  for (int window : {0, 64}) {
    for (auto [heads, kv_heads, hd] : {std::tuple{8, 2, 128}, {4, 4, 64}, {6, 1, 96}}) {
      // Sequences: (cached tokens, new tokens): a long prefill chunk, decodes, a fresh prompt.
      const double err =
          attention_rel_err(QkvLayout{heads, kv_heads, hd},
                            {{0, 200}, {1500, 1}, {37, 1}, {700, 64}, {0, 1}}, 16, window);
      EXPECT_LT(err, kBf16Bound) << heads << "/" << kv_heads << "x" << hd << " window " << window;
    }
  }
}

// The split-K decode kernel (one query per sequence): GQA groups of 1 to 16
// (tiles of 1, 2, 4, 8 and chunks of 8), head_dim 64/128/256, contexts from
// one token to a few thousand, with and without a sliding window, planned
// for the batch's longest context and for a bound far above it.
TEST_F(CudaOpsTest, DecodeAttentionSplitK) {
  const std::vector<std::tuple<int, int, int>> layouts = {{8, 8, 64},   {8, 4, 128}, {32, 8, 128},
                                                          {28, 4, 128}, {12, 2, 64}, {16, 1, 256},
                                                          {32, 2, 128}, {6, 2, 256}};
  const std::vector<int> lengths = {1, 2, 15, 16, 17, 100, 513, 1500, 3000};
  for (auto [heads, kv_heads, hd] : layouts) {
    for (int window : {0, 100}) {
      for (int bound : {0, 65536}) {
        std::vector<std::pair<int, int>> seqs;
        for (int i = 0; i < 7; ++i)
          seqs.emplace_back(
              lengths[std::uniform_int_distribution<size_t>(0, lengths.size() - 1)(rng)] - 1, 1);
        EXPECT_LT(attention_rel_err(QkvLayout{heads, kv_heads, hd}, seqs, 16, window, bound),
                  kBf16Bound)
            << heads << "/" << kv_heads << "x" << hd << " window " << window << " bound " << bound;
      }
    }
  }
}

// A sequence with no context (a padded row of a captured batch) gets zeros.
TEST_F(CudaOpsTest, DecodeAttentionEmptyContextIsZero) {
  const QkvLayout layout{8, 2, 128};
  const int block_size = 16, n = 3;
  Pair q = input(random(int64_t{n} * layout.q_dim()), Shape{n, layout.q_dim()});
  Pair kv = input(random(int64_t{4} * 2 * block_size * layout.kv_dim()),
                  Shape{4, 2, block_size, layout.kv_dim()}, DType::kBF16);
  Pair qs = ints({0, 1, 2, 3}), cl = ints({0, 40, 0}), bt = ints({0, 0, 0, 1, 2, 3, 0, 0, 0});
  AttentionBatch bg{qs.gpu, cl.gpu, bt.gpu.reshaped(Shape{n, 3}), n, 1, 4096, 0, 0.1f};
  Pair out = output(Shape{n, layout.q_dim()});
  gpu->paged_attention(q.gpu, layout, KvLayer{kv.gpu, block_size}, bg, out.gpu);
  std::vector<float> g = host(*gpu, out.gpu);
  for (int64_t i = 0; i < layout.q_dim(); ++i) {
    EXPECT_EQ(g[static_cast<size_t>(i)], 0.0f);
    EXPECT_EQ(g[static_cast<size_t>(2 * layout.q_dim() + i)], 0.0f);
    EXPECT_FALSE(std::isnan(g[static_cast<size_t>(layout.q_dim() + i)]));
  }
}

}  // namespace
}  // namespace pdserve::backend
