// Causal attention over the paged KV cache, one (token, head) at a time:
// scores in fp32, softmax in fp32, weighted sum of V in fp32. GQA: query
// head h reads KV head h / (num_heads / num_kv_heads).
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "engine/backend/cpu/cpu_backend.h"

namespace pdserve::backend::cpu {
namespace {

constexpr int kKeysPerPass = 4;

}  // namespace

void CpuBackend::paged_attention(const Tensor& q, const QkvLayout& layout, const KvLayer& kv,
                                 const AttentionBatch& batch, Tensor& out) {
  const int hd = layout.head_dim, kv_dim = layout.kv_dim();
  const int group = layout.num_heads / layout.num_kv_heads;
  PD_CHECK(q.dim(1) == layout.q_dim() && out.shape() == q.shape() && q.dtype() == DType::kF32 &&
           layout.num_heads % layout.num_kv_heads == 0 &&
           batch.query_start.numel() == batch.num_seqs + 1 &&
           batch.context_lens.numel() == batch.num_seqs && batch.block_tables.rank() == 2 &&
           batch.block_tables.dim(0) == batch.num_seqs)
      << "paged_attention: q " << q.shape().to_string() << " out " << out.shape().to_string()
      << " block_tables " << batch.block_tables.shape().to_string();
  const int32_t* qstart = batch.query_start.as<int32_t>();
  const int32_t* ctx = batch.context_lens.as<int32_t>();
  const int32_t* tables = batch.block_tables.as<int32_t>();
  const int64_t max_blocks = batch.block_tables.dim(1);
  const int64_t num_tokens = q.dim(0);
  PD_CHECK(qstart[batch.num_seqs] == num_tokens)
      << "query_start ends at " << qstart[batch.num_seqs] << ", q has " << num_tokens << " rows";
  const bool f32_cache = kv.data.dtype() == DType::kF32;
  const size_t elem = dtype_size(kv.data.dtype());
  const char* base = static_cast<const char*>(kv.data.data());

  // seq_of[t]: the sequence that token t belongs to.
  std::vector<int> seq_of(static_cast<size_t>(num_tokens));
  for (int s = 0; s < batch.num_seqs; ++s) {
    PD_CHECK(qstart[s] <= qstart[s + 1] && ctx[s] >= qstart[s + 1] - qstart[s] &&
             (ctx[s] + kv.block_size - 1) / kv.block_size <= max_blocks)
        << "paged_attention: sequence " << s << " has " << qstart[s + 1] - qstart[s]
        << " queries, context " << ctx[s] << ", " << max_blocks << " blocks";
    for (int t = qstart[s]; t < qstart[s + 1]; ++t) seq_of[static_cast<size_t>(t)] = s;
  }

  auto kv_row = [&](int s, int pos, int which) {
    int32_t block = tables[s * max_blocks + pos / kv.block_size];
    PD_CHECK(block >= 0 && block < kv.num_blocks()) << "block id " << block << " out of range";
    return base +
           ((static_cast<int64_t>(block) * 2 + which) * kv.block_size + pos % kv.block_size) *
               static_cast<int64_t>(kv_dim) * static_cast<int64_t>(elem);
  };

  // Head kvh of K (which 0) or V (1) at position pos as fp32, converted into
  // buf when the cache holds another dtype.
  auto head_row = [&](int s, int pos, int which, int kvh, float* buf) {
    const char* raw = kv_row(s, pos, which) + static_cast<int64_t>(kvh) * hd * elem;
    if (f32_cache) return reinterpret_cast<const float*>(raw);
    to_f32(kv.data.dtype(), raw, buf, static_cast<size_t>(hd));
    return static_cast<const float*>(buf);
  };

  pool_.parallel_for(num_tokens * layout.num_heads, 1, [&](int64_t b, int64_t e) {
    std::vector<float> scores, kbuf(static_cast<size_t>(kKeysPerPass * hd)),
        acc(static_cast<size_t>(hd));
    for (int64_t w = b; w < e; ++w) {
      const int64_t t = w / layout.num_heads;
      const int h = static_cast<int>(w % layout.num_heads);
      const int kvh = h / group;
      const int s = seq_of[static_cast<size_t>(t)];
      const int q_len = qstart[s + 1] - qstart[s];
      const int pos = ctx[s] - q_len + static_cast<int>(t - qstart[s]);
      const int first = batch.sliding_window > 0 ? std::max(0, pos - batch.sliding_window + 1) : 0;
      const float* qh = q.as<float>() + t * layout.q_dim() + h * hd;
      scores.assign(static_cast<size_t>(pos - first + 1), 0.0f);
      // kKeysPerPass keys at a time: independent sums (each over d in order,
      // as one key alone), so the adds of one key do not wait on each other.
      for (int j0 = first; j0 <= pos; j0 += kKeysPerPass) {
        const int num_keys = std::min(kKeysPerPass, pos + 1 - j0);
        const float* k[kKeysPerPass];
        float dot[kKeysPerPass] = {};
        for (int u = 0; u < kKeysPerPass; ++u)
          k[u] = head_row(s, j0 + std::min(u, num_keys - 1), 0, kvh, kbuf.data() + u * hd);
        for (int d = 0; d < hd; ++d)
          for (int u = 0; u < kKeysPerPass; ++u) dot[u] += qh[d] * k[u][d];
        for (int u = 0; u < num_keys; ++u)
          scores[static_cast<size_t>(j0 + u - first)] = dot[u] * batch.scale;
      }
      const float max_score = *std::max_element(scores.begin(), scores.end());
      float denom = 0.0f;
      for (float& sc : scores) {
        sc = std::exp(sc - max_score);
        denom += sc;
      }
      std::fill(acc.begin(), acc.end(), 0.0f);
      for (int j = first; j <= pos; ++j) {
        const float p = scores[static_cast<size_t>(j - first)] / denom;
        const float* v = head_row(s, j, 1, kvh, kbuf.data());
        for (int d = 0; d < hd; ++d) acc[static_cast<size_t>(d)] += p * v[d];
      }
      std::copy(acc.begin(), acc.end(), out.as<float>() + t * layout.q_dim() + h * hd);
    }
  });
}

}  // namespace pdserve::backend::cpu
