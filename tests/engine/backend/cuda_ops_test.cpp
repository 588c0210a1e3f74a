// Every CUDA op against the CPU reference on fresh random inputs at several
// shapes, by ||gpu - cpu|| / ||cpu|| (bf16 bound 1e-2, METHOD.md), with the
// GPU outputs poisoned with NaN before each run. Skipped without a GPU.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "engine/backend/backend.h"

namespace pdserve::backend {
namespace {

constexpr double kBf16Bound = 1e-2;

struct Pair {
  Tensor cpu, gpu;
};

class CudaOpsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!cuda_available()) GTEST_SKIP() << "no CUDA device";
    auto g = make_cuda_backend(0);
    ASSERT_TRUE(g.ok()) << g.status().to_string();
    gpu = std::move(*g);
    cpu = make_cpu_backend(0);
  }

  // Random values rounded to bf16, so both backends see the same inputs.
  std::vector<float> random(int64_t n, float scale = 1.0f) {
    std::normal_distribution<float> d(0.0f, scale);
    std::vector<float> v(static_cast<size_t>(n));
    for (float& x : v) x = bf16_to_f32(f32_to_bf16(d(rng)));
    return v;
  }
  Pair input(const std::vector<float>& v, Shape s, DType cpu_dtype = DType::kF32, DType gpu_dtype = DType::kBF16) {
    Pair p{cpu->alloc(s, cpu_dtype), gpu->alloc(s, gpu_dtype)};
    cpu->copy_from_host(p.cpu, v.data(), DType::kF32);
    gpu->copy_from_host(p.gpu, v.data(), DType::kF32);
    return p;
  }
  Pair ints(const std::vector<int32_t>& v) {
    Shape s{static_cast<int64_t>(v.size())};
    Pair p{cpu->alloc(s, DType::kI32), gpu->alloc(s, DType::kI32)};
    cpu->copy_from_host(p.cpu, v.data(), DType::kI32);
    gpu->copy_from_host(p.gpu, v.data(), DType::kI32);
    return p;
  }
  Pair output(Shape s, DType cpu_dtype = DType::kF32) {
    Pair p{cpu->alloc(s, cpu_dtype), gpu->alloc(s, DType::kBF16)};
    std::vector<float> nan(static_cast<size_t>(s.numel()), std::numeric_limits<float>::quiet_NaN());
    gpu->copy_from_host(p.gpu, nan.data(), DType::kF32);
    return p;
  }
  std::vector<float> host(Backend& be, const Tensor& t) {
    std::vector<float> v(static_cast<size_t>(t.numel()));
    be.copy_to_host(t, v.data());
    return v;
  }
  // Relative error of the GPU result; NaN (an unwritten element) fails.
  double rel_err(const Pair& p) {
    std::vector<float> c = host(*cpu, p.cpu), g = host(*gpu, p.gpu);
    double num = 0, den = 0;
    for (size_t i = 0; i < c.size(); ++i) {
      if (std::isnan(g[i])) return std::numeric_limits<double>::infinity();
      num += (static_cast<double>(g[i]) - c[i]) * (static_cast<double>(g[i]) - c[i]);
      den += static_cast<double>(c[i]) * c[i];
    }
    return std::sqrt(num / std::max(den, 1e-30));
  }

  std::unique_ptr<Backend> cpu, gpu;
  std::mt19937 rng{std::random_device{}()};
};

TEST_F(CudaOpsTest, Matmul) {
  for (auto [n, in, out] : {std::tuple{1, 4096, 4096}, {7, 512, 1000}, {64, 2048, 2048}, {300, 1024, 3072}}) {
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

TEST_F(CudaOpsTest, RopeWritesKvAndRotatesQ) {
  for (bool qk_norm : {false, true}) {
    const QkvLayout layout{8, 2, 128};
    const int n = 19, block_size = 16, num_blocks = 8;
    std::vector<float> inv(64);
    for (int i = 0; i < 64; ++i) inv[static_cast<size_t>(i)] = 1.0f / std::pow(500000.0f, 2.0f * i / 128);
    RopeParams rc{cpu->alloc(Shape{64}, DType::kF32), 1.1f}, rg{gpu->alloc(Shape{64}, DType::kF32), 1.1f};
    cpu->copy_from_host(rc.inv_freq, inv.data(), DType::kF32);
    gpu->copy_from_host(rg.inv_freq, inv.data(), DType::kF32);
    std::vector<int32_t> pos(n), slots(n);
    for (int t = 0; t < n; ++t) {
      pos[static_cast<size_t>(t)] = 1000 + 37 * t;
      slots[static_cast<size_t>(t)] = t == 3 ? -1 : static_cast<int32_t>((t * 5) % (block_size * num_blocks));
    }
    Pair qkv = input(random(n * layout.width()), Shape{n, layout.width()});
    Pair qn = input(random(128), Shape{128}, DType::kF32, DType::kF32), kn = input(random(128), Shape{128}, DType::kF32, DType::kF32);
    Pair p = ints(pos), s = ints(slots);
    Pair q = output(Shape{n, layout.q_dim()});
    Pair kv = input(random(int64_t{num_blocks} * 2 * block_size * layout.kv_dim()),
                    Shape{num_blocks, 2, block_size, layout.kv_dim()}, DType::kBF16);
    KvLayer kc{kv.cpu, block_size}, kg{kv.gpu, block_size};
    cpu->qkv_rope_write_kv(qkv.cpu, layout, qk_norm ? &qn.cpu : nullptr, qk_norm ? &kn.cpu : nullptr, 1e-6f, rc,
                           p.cpu, s.cpu, kc, q.cpu);
    gpu->qkv_rope_write_kv(qkv.gpu, layout, qk_norm ? &qn.gpu : nullptr, qk_norm ? &kn.gpu : nullptr, 1e-6f, rg,
                           p.gpu, s.gpu, kg, q.gpu);
    EXPECT_LT(rel_err(q), kBf16Bound) << "qk_norm " << qk_norm;
    EXPECT_LT(rel_err(kv), kBf16Bound) << "qk_norm " << qk_norm;
  }
}

TEST_F(CudaOpsTest, PagedAttentionPrefillAndDecode) {
  for (int window : {0, 64}) {
    for (auto [heads, kv_heads, hd] : {std::tuple{8, 2, 128}, {4, 4, 64}, {6, 1, 96}}) {
      const QkvLayout layout{heads, kv_heads, hd};
      const int block_size = 16, num_blocks = 300;
      // Sequences: (cached tokens, new tokens): a long prefill chunk, decodes, a fresh prompt.
      const std::vector<std::pair<int, int>> seqs = {{0, 200}, {1500, 1}, {37, 1}, {700, 64}, {0, 1}};
      std::vector<int32_t> qstart{0}, ctx, tables;
      int max_blocks = 0;
      for (auto [cached, fresh] : seqs) max_blocks = std::max(max_blocks, (cached + fresh + block_size - 1) / block_size);
      std::vector<int32_t> perm(num_blocks);
      for (int i = 0; i < num_blocks; ++i) perm[static_cast<size_t>(i)] = i;
      std::shuffle(perm.begin(), perm.end(), rng);
      int next = 0;
      for (auto [cached, fresh] : seqs) {
        qstart.push_back(qstart.back() + fresh);
        ctx.push_back(cached + fresh);
        const int blocks = (cached + fresh + block_size - 1) / block_size;
        for (int b = 0; b < max_blocks; ++b) tables.push_back(b < blocks ? perm[static_cast<size_t>(next++)] : 0);
      }
      const int n = qstart.back();
      Pair q = input(random(int64_t{n} * layout.q_dim()), Shape{n, layout.q_dim()});
      Pair kv = input(random(int64_t{num_blocks} * 2 * block_size * layout.kv_dim()),
                      Shape{num_blocks, 2, block_size, layout.kv_dim()}, DType::kBF16);
      Pair qs = ints(qstart), cl = ints(ctx), bt = ints(tables);
      const auto num_seqs = static_cast<int64_t>(seqs.size());
      AttentionBatch bc{qs.cpu, cl.cpu, bt.cpu.reshaped(Shape{num_seqs, max_blocks}), static_cast<int>(num_seqs), 200, 1501, window,
                        1.0f / std::sqrt(static_cast<float>(hd))};
      AttentionBatch bg = bc;
      bg.query_start = qs.gpu;
      bg.context_lens = cl.gpu;
      bg.block_tables = bt.gpu.reshaped(Shape{num_seqs, max_blocks});
      Pair out = output(Shape{n, layout.q_dim()});
      cpu->paged_attention(q.cpu, layout, KvLayer{kv.cpu, block_size}, bc, out.cpu);
      gpu->paged_attention(q.gpu, layout, KvLayer{kv.gpu, block_size}, bg, out.gpu);
      EXPECT_LT(rel_err(out), kBf16Bound) << heads << "/" << kv_heads << "x" << hd << " window " << window;
    }
  }
}

}  // namespace
}  // namespace pdserve::backend
