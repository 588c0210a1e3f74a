// The CPU backend against plain double-precision formulas written out here.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "engine/backend/backend.h"

namespace pdserve::backend {
namespace {

class CpuOpsTest : public ::testing::Test {
 protected:
  std::unique_ptr<Backend> be = make_cpu_backend(2);
  std::mt19937 rng{42};

  std::vector<float> random(size_t n, float scale = 1.0f) {
    std::normal_distribution<float> d(0.0f, scale);
    std::vector<float> v(n);
    for (float& x : v) x = d(rng);
    return v;
  }
  Tensor make(const std::vector<float>& v, Shape s, DType dtype = DType::kF32) {
    Tensor t = be->alloc(s, dtype);
    be->copy_from_host(t, v.data(), DType::kF32);  // rounds to dtype
    return t;
  }
  Tensor make_i32(const std::vector<int32_t>& v) {
    Tensor t = be->alloc(Shape{static_cast<int64_t>(v.size())}, DType::kI32);
    be->copy_from_host(t, v.data(), DType::kI32);
    return t;
  }
  std::vector<float> host(const Tensor& t) {
    std::vector<float> v(static_cast<size_t>(t.numel()));
    be->copy_to_host(t, v.data());
    return v;
  }
};

double rel_err(const std::vector<float>& got, const std::vector<double>& want) {
  double num = 0, den = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    num += (got[i] - want[i]) * (got[i] - want[i]);
    den += want[i] * want[i];
  }
  return std::sqrt(num / std::max(den, 1e-30));
}

TEST_F(CpuOpsTest, MatmulMatchesDoubleForEveryWeightDtype) {
  for (DType wt : {DType::kF32, DType::kBF16, DType::kF16}) {
    const int n = 5, in = 67, out = 37;  // odd sizes exercise the tails
    auto x = random(n * in), w = random(out * in), b = random(out);
    Tensor tw = make(w, Shape{out, in}, wt);
    std::vector<float> wq(w.size());  // the weights as the backend holds them
    be->copy_to_host(tw, wq.data());
    Tensor tx = make(x, Shape{n, in}), tb = make(b, Shape{out}),
           ty = be->alloc(Shape{n, out}, DType::kF32);
    be->matmul(tx, tw, &tb, ty);
    std::vector<double> want(n * out);
    for (int i = 0; i < n; ++i)
      for (int r = 0; r < out; ++r) {
        double s = b[r];
        for (int k = 0; k < in; ++k) s += static_cast<double>(x[i * in + k]) * wq[r * in + k];
        want[i * out + r] = s;
      }
    EXPECT_LT(rel_err(host(ty), want), 1e-6) << dtype_name(wt);
  }
}

// Speculative verification computes k + 1 tokens per forward where plain
// decoding computes one: each token's output must not depend on how many
// tokens share the call (greedy outputs are compared token for token).
TEST_F(CpuOpsTest, MatmulRowsAreBitwiseIndependentOfTheBatch) {
  std::uniform_int_distribution<int> len(1, 150), width(1, 70);
  for (int trial = 0; trial < 12; ++trial) {
    const DType wt = trial % 3 == 0 ? DType::kF32 : (trial % 3 == 1 ? DType::kBF16 : DType::kF16);
    const bool with_bias = trial % 2 == 0;
    const int in = len(rng), out = width(rng);
    Tensor tw = make(random(out * in), Shape{out, in}, wt), tb = make(random(out), Shape{out});
    const Tensor* bias = with_bias ? &tb : nullptr;
    for (int n = 1; n <= 17; ++n) {
      const std::vector<float> x = random(n * in);
      Tensor ty = be->alloc(Shape{n, out}, DType::kF32);
      be->matmul(make(x, Shape{n, in}), tw, bias, ty);
      const std::vector<float> batched = host(ty);
      for (int i = 0; i < n; ++i) {
        std::vector<float> row(x.begin() + i * in, x.begin() + (i + 1) * in);
        Tensor one = be->alloc(Shape{1, out}, DType::kF32);
        be->matmul(make(row, Shape{1, in}), tw, bias, one);
        EXPECT_EQ(std::memcmp(host(one).data(), batched.data() + i * out, out * sizeof(float)), 0)
            << dtype_name(wt) << " in " << in << " out " << out << " row " << i << " of " << n;
      }
    }
  }
}

TEST_F(CpuOpsTest, RmsNormAndFusedAdd) {
  const int n = 3, d = 19;
  auto x = random(n * d), r = random(n * d), w = random(d);
  Tensor tx = make(x, Shape{n, d}), tr = make(r, Shape{n, d}), tw = make(w, Shape{d});
  Tensor out = be->alloc(Shape{n, d}, DType::kF32);
  be->add_rmsnorm(tr, tx, tw, 1e-5f, out);
  std::vector<double> want(n * d), sum(n * d);
  for (int i = 0; i < n; ++i) {
    double ss = 0;
    for (int j = 0; j < d; ++j) {
      sum[i * d + j] = static_cast<double>(r[i * d + j]) + x[i * d + j];
      ss += sum[i * d + j] * sum[i * d + j];
    }
    double inv = 1.0 / std::sqrt(ss / d + 1e-5);
    for (int j = 0; j < d; ++j) want[i * d + j] = w[j] * sum[i * d + j] * inv;
  }
  EXPECT_LT(rel_err(host(out), want), 1e-6);
  EXPECT_LT(rel_err(host(tr), sum), 1e-7);  // the residual now holds the sum
}

TEST_F(CpuOpsTest, SiluMulEmbeddingGather) {
  auto gu = random(2 * 8);
  Tensor tgu = make(gu, Shape{1, 16}), out = be->alloc(Shape{1, 8}, DType::kF32);
  be->silu_mul(tgu, out);
  std::vector<double> want(8);
  for (int j = 0; j < 8; ++j)
    want[j] = gu[j] / (1.0 + std::exp(-static_cast<double>(gu[j]))) * gu[8 + j];
  EXPECT_LT(rel_err(host(out), want), 1e-6);

  auto table = random(10 * 4);
  Tensor tt = make(table, Shape{10, 4}, DType::kBF16), e = be->alloc(Shape{3, 4}, DType::kF32);
  be->embedding(tt, make_i32({7, 0, 7}), e);
  std::vector<float> rows = host(e);
  for (int j = 0; j < 4; ++j) {
    EXPECT_EQ(rows[j], bf16_to_f32(f32_to_bf16(table[7 * 4 + j])));
    EXPECT_EQ(rows[j], rows[8 + j]);
  }
  Tensor g = be->alloc(Shape{2, 4}, DType::kF32);
  be->gather_rows(e, make_i32({2, 1}), g);
  std::vector<float> gathered = host(g);
  for (int j = 0; j < 4; ++j) EXPECT_EQ(gathered[4 + j], rows[4 + j]);
}

// Dense reference: RoPE, then causal attention over contiguous K/V.
struct Reference {
  std::vector<double> q, k, v;  // rotated, [tokens, heads, hd]
};

void rotate_ref(double* x, int hd, int pos, const std::vector<float>& inv_freq) {
  for (int i = 0; i < hd / 2; ++i) {
    double a = x[i], b = x[i + hd / 2];
    double ang = static_cast<double>(static_cast<float>(pos) * inv_freq[i]);
    x[i] = a * std::cos(ang) - b * std::sin(ang);
    x[i + hd / 2] = b * std::cos(ang) + a * std::sin(ang);
  }
}

TEST_F(CpuOpsTest, PagedAttentionMatchesDenseCausalAttention) {
  const QkvLayout layout{4, 2, 12};  // GQA: two query heads per KV head; 12 = 8 + 4 dims: a tail
  const int block_size = 4, num_blocks = 16;
  std::vector<float> inv_freq(layout.head_dim / 2);
  for (int i = 0; i < layout.head_dim / 2; ++i)
    inv_freq[i] = 1.0f / std::pow(10000.0f, 2.0f * i / layout.head_dim);
  RopeParams rope{make(inv_freq, Shape{6}), 1.0f};
  KvLayer kv{be->alloc(Shape{num_blocks, 2, block_size, layout.kv_dim()}, DType::kF32), block_size};
  be->fill_zero(kv.data);

  for (int window : {0, 3}) {
    // Two sequences: A has 6 tokens cached and 3 new; B is a fresh prompt of 5.
    const std::vector<int32_t> table_a = {9, 2, 14}, table_b = {5, 0};
    const int a_total = 9, b_total = 5;
    auto all_a = random(a_total * layout.width()), all_b = random(b_total * layout.width());
    auto run_prefix = [&](const std::vector<float>& rows, int begin, int count,
                          const std::vector<int32_t>& table) {
      std::vector<float> part(rows.begin() + begin * layout.width(),
                              rows.begin() + (begin + count) * layout.width());
      std::vector<int32_t> pos, slot;
      for (int t = begin; t < begin + count; ++t) {
        pos.push_back(t);
        slot.push_back(table[t / block_size] * block_size + t % block_size);
      }
      Tensor q = be->alloc(Shape{count, layout.q_dim()}, DType::kF32);
      Tensor qkv = make(part, Shape{count, layout.width()});
      be->qkv_rope_write_kv(qkv, layout, nullptr, nullptr, 0, rope, make_i32(pos), make_i32(slot),
                            kv, q);
      return host(q);
    };
    run_prefix(all_a, 0, 6, table_a);  // cache A's first 6 tokens
    std::vector<float> qa = run_prefix(all_a, 6, 3, table_a);
    std::vector<float> qb = run_prefix(all_b, 0, 5, table_b);
    std::vector<float> q(qa);
    q.insert(q.end(), qb.begin(), qb.end());

    std::vector<int32_t> tables = {9, 2, 14, 5, 0, 0};
    AttentionBatch batch{make_i32({0, 3, 8}),
                         make_i32({a_total, b_total}),
                         be->alloc(Shape{2, 3}, DType::kI32),
                         2,
                         5,
                         9,
                         window,
                         1.0f / std::sqrt(12.0f)};
    be->copy_from_host(batch.block_tables, tables.data(), DType::kI32);
    Tensor out = be->alloc(Shape{8, layout.q_dim()}, DType::kF32);
    be->paged_attention(make(q, Shape{8, layout.q_dim()}), layout, kv, batch, out);

    std::vector<double> want;
    auto dense = [&](const std::vector<float>& rows, int total, int first_query) {
      const int hd = layout.head_dim;
      std::vector<double> k(total * layout.kv_dim()), v(total * layout.kv_dim()),
          qr(total * layout.q_dim());
      for (int t = 0; t < total; ++t) {
        const float* r = &rows[t * layout.width()];
        for (int j = 0; j < layout.q_dim(); ++j) qr[t * layout.q_dim() + j] = r[j];
        for (int j = 0; j < layout.kv_dim(); ++j) {
          k[t * layout.kv_dim() + j] = r[layout.q_dim() + j];
          v[t * layout.kv_dim() + j] = r[layout.q_dim() + layout.kv_dim() + j];
        }
        for (int h = 0; h < layout.num_heads; ++h)
          rotate_ref(&qr[t * layout.q_dim() + h * hd], hd, t, inv_freq);
        for (int h = 0; h < layout.num_kv_heads; ++h)
          rotate_ref(&k[t * layout.kv_dim() + h * hd], hd, t, inv_freq);
      }
      for (int t = first_query; t < total; ++t)
        for (int h = 0; h < layout.num_heads; ++h) {
          const int kvh = h / 2;
          const int lo = window ? std::max(0, t - window + 1) : 0;
          std::vector<double> s;
          double mx = -1e300;
          for (int j = lo; j <= t; ++j) {
            double dot = 0;
            for (int d = 0; d < hd; ++d)
              dot += qr[t * layout.q_dim() + h * hd + d] * k[j * layout.kv_dim() + kvh * hd + d];
            s.push_back(dot / std::sqrt(12.0));
            mx = std::max(mx, s.back());
          }
          double den = 0;
          for (double& x : s) den += (x = std::exp(x - mx));
          for (int d = 0; d < hd; ++d) {
            double acc = 0;
            for (int j = lo; j <= t; ++j)
              acc += s[j - lo] / den * v[j * layout.kv_dim() + kvh * hd + d];
            want.push_back(acc);
          }
        }
    };
    dense(all_a, a_total, 6);
    dense(all_b, b_total, 0);
    EXPECT_LT(rel_err(host(out), want), 1e-5) << "sliding window " << window;
  }
}

// A verification attends with k + 1 query tokens where plain decoding
// attends with one: each token's output must not depend on how many
// query tokens (and heads of its group) share the pass over the keys.
TEST_F(CpuOpsTest, PagedAttentionRowsAreBitwiseIndependentOfTheBatch) {
  const QkvLayout layout{6, 2, 16};  // three query heads per KV head: blocks split tokens
  const int block_size = 4, num_blocks = 8, context = 13, num_queries = 7;
  const std::vector<int32_t> table = {3, 1, 7, 0};
  for (DType cache : {DType::kF32, DType::kBF16}) {
    KvLayer kv{make(random(num_blocks * 2 * block_size * layout.kv_dim()),
                    Shape{num_blocks, 2, block_size, layout.kv_dim()}, cache),
               block_size};
    for (int window : {0, 5}) {
      const std::vector<float> q = random(num_queries * layout.q_dim());
      auto attend = [&](int first_query, int count) {
        AttentionBatch batch{make_i32({0, count}),
                             make_i32({context - num_queries + first_query + count}),
                             make_i32(table),
                             1,
                             count,
                             context,
                             window,
                             0.25f};
        batch.block_tables = batch.block_tables.reshaped(Shape{1, 4});
        std::vector<float> part(q.begin() + first_query * layout.q_dim(),
                                q.begin() + (first_query + count) * layout.q_dim());
        Tensor out = be->alloc(Shape{count, layout.q_dim()}, DType::kF32);
        be->paged_attention(make(part, Shape{count, layout.q_dim()}), layout, kv, batch, out);
        return host(out);
      };
      const std::vector<float> together = attend(0, num_queries);
      for (int i = 0; i < num_queries; ++i) {
        const std::vector<float> alone = attend(i, 1);
        EXPECT_EQ(std::memcmp(alone.data(), together.data() + i * layout.q_dim(),
                              layout.q_dim() * sizeof(float)),
                  0)
            << dtype_name(cache) << " window " << window << " query " << i;
      }
    }
  }
}

TEST_F(CpuOpsTest, QkNormIsAppliedPerHeadBeforeRope) {
  const QkvLayout layout{2, 1, 4};
  std::vector<float> zero_freq(2, 0.0f);  // angle 0: RoPE is the identity
  RopeParams rope{make(zero_freq, Shape{2}), 1.0f};
  KvLayer kv{be->alloc(Shape{1, 2, 1, 4}, DType::kF32), 1};
  std::vector<float> row = {1, 2, 3, 4, 2, 2, 2, 2, 3, 0, 0, 4, 9, 9, 9, 9};
  std::vector<float> w = {1, 1, 1, 1};
  Tensor q = be->alloc(Shape{1, 8}, DType::kF32), wn = make(w, Shape{4});
  be->qkv_rope_write_kv(make(row, Shape{1, 16}), layout, &wn, &wn, 0.0f, rope, make_i32({0}),
                        make_i32({0}), kv, q);
  std::vector<float> qh = host(q), cache = host(kv.data);
  const double rms = std::sqrt((1 + 4 + 9 + 16) / 4.0);
  EXPECT_NEAR(qh[3], 4 / rms, 1e-6);
  EXPECT_NEAR(qh[4], 1.0, 1e-6);                         // head 2 is all twos
  EXPECT_NEAR(cache[0], 3 / std::sqrt(25 / 4.0), 1e-6);  // normalised K
  EXPECT_EQ(cache[4], 9.0f);                             // V is written as is
}

// The default copy_rows_from_host (row by row): the first src_cols columns
// of each row are replaced, the others kept; a backend without graphs says so.
TEST_F(CpuOpsTest, CopyRowsFromHostKeepsTheOtherColumnsAndNoGraphs) {
  std::vector<int32_t> before(3 * 5), src = {-1, -2, -3, -4, -5, -6};
  for (size_t i = 0; i < before.size(); ++i) before[i] = static_cast<int32_t>(i);
  Tensor t = be->alloc(Shape{3, 5}, DType::kI32);
  be->copy_from_host(t, before.data(), DType::kI32);
  be->copy_rows_from_host(t, src.data(), 2);
  std::vector<int32_t> after(15);
  be->copy_to_host(t, after.data());
  EXPECT_EQ(after, (std::vector<int32_t>{-1, -2, 2, 3, 4, -3, -4, 7, 8, 9, -5, -6, 12, 13, 14}));
  EXPECT_FALSE(be->has_graphs());
  EXPECT_EQ(be->begin_capture().code(), StatusCode::kUnimplemented);
  EXPECT_EQ(be->end_capture().status().code(), StatusCode::kFailedPrecondition);
}

TEST(DTypeTest, ConversionsRoundToNearestEven) {
  EXPECT_EQ(f32_to_bf16(1.0f), 0x3f80);
  EXPECT_EQ(bf16_to_f32(0x3f80), 1.0f);
  EXPECT_EQ(f32_to_bf16(1.00390625f), 0x3f80);  // halfway, rounds to even
  EXPECT_EQ(f32_to_bf16(1.01171875f), 0x3f82);  // halfway, rounds up to even
  EXPECT_EQ(f32_to_f16(1.0f), 0x3c00);
  EXPECT_EQ(f16_to_f32(0x3c00), 1.0f);
  EXPECT_EQ(f16_to_f32(0x0001), std::ldexp(1.0f, -24));  // smallest subnormal
  EXPECT_EQ(f32_to_f16(std::ldexp(1.0f, -24)), 0x0001);
  EXPECT_EQ(f32_to_f16(70000.0f), 0x7c00);  // overflow to inf
  for (uint32_t h = 0; h < 0x7c00; h += 7)
    EXPECT_EQ(f32_to_f16(f16_to_f32(static_cast<uint16_t>(h))), h);
}

}  // namespace
}  // namespace pdserve::backend
