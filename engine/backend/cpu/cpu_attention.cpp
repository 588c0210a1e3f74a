// Causal attention over the paged KV cache: scores in fp32, softmax in
// fp32, weighted sum of V in fp32. GQA: query head h reads KV head
// h / (num_heads / num_kv_heads).
//
// The query rows of one sequence that read the same KV head (its tokens
// times the heads of the group: a verification's k + 1 tokens, a prefill
// chunk) go through the keys together, kRowsPerPass at a time, so each key
// and value is read once for all of them rather than once per row. The
// rows are the lanes of the score vectors: eight (F8), or four (F4) for a
// pass of four rows or fewer (a decode step's group of heads), which then
// computes no idle lanes. Every row's result is the same
// sequence of fp32 operations as a row computed alone (scores summed over
// d in order, softmax and the weighted sum over keys in order), so a
// token's output does not depend on the tokens computed with it.
#include <algorithm>
#include <cmath>
#include <vector>

#include "engine/backend/cpu/cpu_backend.h"
#include "engine/backend/cpu/lanes.h"

namespace pdserve::backend::cpu {
namespace {

constexpr int kRowsPerPass = 8;  // one lane of F8 each; passes of up to 4 rows take F4
constexpr int kKeysPerPass = 4;
constexpr int kDimsPerPass = 4;

// A block of query rows: rows [row_begin, row_end) of sequence seq's rows
// for KV head kv_head, row r being token r / group, head r % group of the group.
struct RowBlock {
  int seq;
  int kv_head;
  int row_begin;
  int row_end;
};

PD_ALWAYS_INLINE void set_lane(F4& v, int i, float x) {
  v[i] = x;
}
PD_ALWAYS_INLINE void set_lane(F8& v, int i, float x) {
  v.set(i, x);
}

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

  std::vector<RowBlock> blocks;
  for (int s = 0; s < batch.num_seqs; ++s) {
    PD_CHECK(qstart[s] <= qstart[s + 1] && ctx[s] >= qstart[s + 1] - qstart[s] &&
             (ctx[s] + kv.block_size - 1) / kv.block_size <= max_blocks)
        << "paged_attention: sequence " << s << " has " << qstart[s + 1] - qstart[s]
        << " queries, context " << ctx[s] << ", " << max_blocks << " blocks";
    const int num_rows = (qstart[s + 1] - qstart[s]) * group;
    for (int kvh = 0; kvh < layout.num_kv_heads; ++kvh)
      for (int r = 0; r < num_rows; r += kRowsPerPass)
        blocks.push_back({s, kvh, r, std::min(num_rows, r + kRowsPerPass)});
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

  pool_.parallel_for(static_cast<int64_t>(blocks.size()), 1, [&](int64_t b, int64_t e) {
    std::vector<const float*> vrows;  // [key]
    std::vector<float> scores, kbuf(static_cast<size_t>(kKeysPerPass * hd)), vbuf;
    // One block with lanes L (F4 or F8); qt: its queries, transposed; probs: [key][row].
    auto attend = [&]<class L>(const RowBlock& blk, std::vector<L>& qt, std::vector<L>& probs) {
      const int s = blk.seq, kvh = blk.kv_head, num_rows = blk.row_end - blk.row_begin;
      const int q_len = qstart[s + 1] - qstart[s];
      int64_t token[kRowsPerPass] = {};
      int head[kRowsPerPass] = {}, pos[kRowsPerPass] = {}, first[kRowsPerPass] = {};
      for (int i = 0; i < num_rows; ++i) {
        const int r = blk.row_begin + i;
        token[i] = qstart[s] + r / group;
        head[i] = kvh * group + r % group;
        pos[i] = ctx[s] - q_len + r / group;
        first[i] = batch.sliding_window > 0 ? std::max(0, pos[i] - batch.sliding_window + 1) : 0;
      }
      // Keys [lo, hi] serve some row of the block; row i reads [first[i], pos[i]].
      const int lo = *std::min_element(first, first + num_rows);
      const int hi = pos[num_rows - 1];
      const auto span = static_cast<size_t>(hi - lo + 1);
      for (int d = 0; d < hd; ++d) {
        L v = {};
        for (int i = 0; i < num_rows; ++i)
          set_lane(v, i, q.as<float>()[token[i] * layout.q_dim() + head[i] * hd + d]);
        qt[static_cast<size_t>(d)] = v;
      }
      scores.resize(static_cast<size_t>(kRowsPerPass) * span);
      // kKeysPerPass keys at a time: independent sums (each over d in order,
      // as one key alone), so the adds of one key do not wait on each other.
      for (int j0 = lo; j0 <= hi; j0 += kKeysPerPass) {
        const int num_keys = std::min(kKeysPerPass, hi + 1 - j0);
        const float* k[kKeysPerPass];
        L dot[kKeysPerPass] = {};
        for (int u = 0; u < kKeysPerPass; ++u)
          k[u] = head_row(s, j0 + std::min(u, num_keys - 1), 0, kvh, kbuf.data() + u * hd);
        for (int d = 0; d < hd; ++d)
          for (int u = 0; u < kKeysPerPass; ++u) dot[u] += qt[static_cast<size_t>(d)] * k[u][d];
        for (int u = 0; u < num_keys; ++u)
          for (int i = 0; i < num_rows; ++i)
            scores[static_cast<size_t>(i) * span + static_cast<size_t>(j0 + u - lo)] =
                dot[u][i] * batch.scale;
      }
      float denom[kRowsPerPass];
      for (int i = 0; i < num_rows; ++i) {
        float* row = scores.data() + static_cast<size_t>(i) * span;
        float* begin = row + (first[i] - lo);
        float* end = row + (pos[i] - lo) + 1;
        const float max_score = *std::max_element(begin, end);
        denom[i] = 0.0f;
        for (float* sc = begin; sc != end; ++sc) {
          *sc = std::exp(*sc - max_score);
          denom[i] += *sc;
        }
      }
      // Each row's weights over the keys, rows as lanes; zero where a row
      // does not read the key.
      probs.assign(span, L{});
      for (int i = 0; i < num_rows; ++i) {
        for (int j = first[i]; j <= pos[i]; ++j) {
          const auto jj = static_cast<size_t>(j - lo);
          set_lane(probs[jj], i, scores[static_cast<size_t>(i) * span + jj] / denom[i]);
        }
      }
      vrows.resize(span);
      if (!f32_cache) vbuf.resize(span * static_cast<size_t>(hd));
      for (size_t jj = 0; jj < span; ++jj)
        vrows[jj] = head_row(s, lo + static_cast<int>(jj), 1, kvh,
                             f32_cache ? nullptr : vbuf.data() + jj * hd);
      // The weighted sum of V, kDimsPerPass dimensions at a time with their
      // sums in registers: each row adds p * v over the keys in order, as
      // alone; the zero weights add zeros, which leave a sum as it is (V
      // is finite).
      for (int d0 = 0; d0 < hd; d0 += kDimsPerPass) {
        const int num_dims = std::min(kDimsPerPass, hd - d0);
        L acc[kDimsPerPass] = {};
        for (size_t jj = 0; jj < span; ++jj) {
          const float* v = vrows[jj] + d0;
          for (int c = 0; c < kDimsPerPass; ++c) acc[c] += probs[jj] * v[std::min(c, num_dims - 1)];
        }
        for (int c = 0; c < num_dims; ++c)
          for (int i = 0; i < num_rows; ++i)
            out.as<float>()[token[i] * layout.q_dim() + head[i] * hd + d0 + c] = acc[c][i];
      }
    };
    std::vector<F4> qt4(static_cast<size_t>(hd)), probs4;
    std::vector<F8> qt8(static_cast<size_t>(hd)), probs8;
    for (int64_t w = b; w < e; ++w) {
      const RowBlock& blk = blocks[static_cast<size_t>(w)];
      if (blk.row_end - blk.row_begin <= 4) {
        attend(blk, qt4, probs4);
      } else {
        attend(blk, qt8, probs8);
      }
    }
  });
}

}  // namespace pdserve::backend::cpu
