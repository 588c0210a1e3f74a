// The fixture of the CUDA op tests: a CUDA and a CPU backend, inputs rounded
// to bf16 uploaded to both, GPU outputs poisoned with NaN, and
// ||gpu - cpu|| / ||cpu|| (bf16 bound 1e-2, METHOD.md). Skips without a GPU.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <utility>
#include <vector>

#include "engine/backend/backend.h"

namespace pdserve::backend {

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
  Pair input(const std::vector<float>& v, Shape s, DType cpu_dtype = DType::kF32,
             DType gpu_dtype = DType::kBF16) {
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

  // Paged attention inputs of sequences given as (cached tokens, new tokens),
  // their blocks shuffled over a pool of block_size-token blocks.
  struct AttentionInputs {
    Pair query_start, context_lens, block_tables;
    AttentionBatch cpu_batch, gpu_batch;
    int num_tokens = 0, num_blocks = 0;
  };
  AttentionInputs attention_inputs(const std::vector<std::pair<int, int>>& seqs, int block_size,
                                   int window, float scale) {
    std::vector<int32_t> qstart{0}, ctx, tables;
    int max_blocks = 1, num_blocks = 1, max_q = 0, max_ctx = 0;
    for (auto [cached, fresh] : seqs) {
      const int blocks = (cached + fresh + block_size - 1) / block_size;
      max_blocks = std::max(max_blocks, blocks);
      num_blocks += blocks;
    }
    std::vector<int32_t> perm(static_cast<size_t>(num_blocks));
    for (int i = 0; i < num_blocks; ++i) perm[static_cast<size_t>(i)] = i;
    std::shuffle(perm.begin(), perm.end(), rng);
    int next = 0;
    for (auto [cached, fresh] : seqs) {
      qstart.push_back(qstart.back() + fresh);
      ctx.push_back(cached + fresh);
      max_q = std::max(max_q, fresh);
      max_ctx = std::max(max_ctx, cached + fresh);
      const int blocks = (cached + fresh + block_size - 1) / block_size;
      for (int b = 0; b < max_blocks; ++b)
        tables.push_back(b < blocks ? perm[static_cast<size_t>(next++)] : 0);
    }
    const auto num_seqs = static_cast<int64_t>(seqs.size());
    AttentionInputs in{ints(qstart), ints(ctx), ints(tables), {}, {}, qstart.back(), num_blocks};
    const Shape table_shape{num_seqs, max_blocks};
    in.cpu_batch = AttentionBatch{in.query_start.cpu,
                                  in.context_lens.cpu,
                                  in.block_tables.cpu.reshaped(table_shape),
                                  static_cast<int>(num_seqs),
                                  max_q,
                                  max_ctx,
                                  window,
                                  scale};
    in.gpu_batch = in.cpu_batch;
    in.gpu_batch.query_start = in.query_start.gpu;
    in.gpu_batch.context_lens = in.context_lens.gpu;
    in.gpu_batch.block_tables = in.block_tables.gpu.reshaped(table_shape);
    return in;
  }
  // Backend::paged_attention on both backends with random q and KV (scale
  // head_dim^-1/2): the relative error of the GPU's output. max_context_len
  // is the longest context, or context_bound when larger (as a captured CUDA
  // graph's plan is).
  double attention_rel_err(const QkvLayout& layout, const std::vector<std::pair<int, int>>& seqs,
                           int block_size, int window, int context_bound = 0) {
    AttentionInputs in = attention_inputs(seqs, block_size, window,
                                          1.0f / std::sqrt(static_cast<float>(layout.head_dim)));
    in.cpu_batch.max_context_len = std::max(in.cpu_batch.max_context_len, context_bound);
    in.gpu_batch.max_context_len = in.cpu_batch.max_context_len;
    const int n = in.num_tokens;
    Pair q = input(random(int64_t{n} * layout.q_dim()), Shape{n, layout.q_dim()});
    Pair kv = input(random(int64_t{in.num_blocks} * 2 * block_size * layout.kv_dim()),
                    Shape{in.num_blocks, 2, block_size, layout.kv_dim()}, DType::kBF16);
    Pair out = output(Shape{n, layout.q_dim()});
    cpu->paged_attention(q.cpu, layout, KvLayer{kv.cpu, block_size}, in.cpu_batch, out.cpu);
    gpu->paged_attention(q.gpu, layout, KvLayer{kv.gpu, block_size}, in.gpu_batch, out.gpu);
    return rel_err(out);
  }

  std::unique_ptr<Backend> cpu, gpu;
  std::mt19937 rng{std::random_device{}()};
};

}  // namespace pdserve::backend
