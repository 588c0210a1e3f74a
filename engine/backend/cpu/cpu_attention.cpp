// Causal attention over the paged KV cache: scores in fp32, softmax in
// fp32, weighted sum of V in fp32. GQA: query head h reads KV head
// h / (num_heads / num_kv_heads).
//
// The query rows of one sequence that read the same KV head (its tokens
// times the heads of the group: a verification's k + 1 tokens, a prefill
// chunk) go through the keys together, kMaxAttentionRows at a time
// (attention_rows.h), so each key and value is read once for all of them
// rather than once per row, and a token's output does not depend on the
// tokens computed with it.
#include <algorithm>
#include <vector>

#include "engine/backend/cpu/attention_rows.h"
#include "engine/backend/cpu/cpu_backend.h"

namespace pdserve::backend::cpu {
namespace {

// A block of query rows: rows [row_begin, row_end) of sequence seq's rows
// for KV head kv_head, row r being token r / group, head r % group of the group.
struct RowBlock {
  int seq;
  int kv_head;
  int row_begin;
  int row_end;
};

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
      for (int r = 0; r < num_rows; r += kMaxAttentionRows)
        blocks.push_back({s, kvh, r, std::min(num_rows, r + kMaxAttentionRows)});
  }

  // Head kvh of K and V at positions [lo, hi] of sequence s as fp32 rows,
  // one cache block at a time; converted into kbuf and vbuf when the cache
  // holds another dtype.
  const int64_t row_bytes = static_cast<int64_t>(kv_dim) * static_cast<int64_t>(elem);
  auto head_rows = [&](int s, int kvh, int lo, int hi, const float** krows, const float** vrows,
                       float* kbuf, float* vbuf) {
    for (int pos = lo; pos <= hi;) {
      const int32_t block = tables[s * max_blocks + pos / kv.block_size];
      PD_CHECK(block >= 0 && block < kv.num_blocks()) << "block id " << block << " out of range";
      const int end = std::min(hi + 1, (pos / kv.block_size + 1) * kv.block_size);
      const char* k =
          base +
          (static_cast<int64_t>(block) * 2 * kv.block_size + pos % kv.block_size) * row_bytes +
          static_cast<int64_t>(kvh) * hd * static_cast<int64_t>(elem);
      const char* v = k + kv.block_size * row_bytes;
      for (; pos < end; ++pos, k += row_bytes, v += row_bytes) {
        const auto j = static_cast<size_t>(pos - lo);
        if (f32_cache) {
          krows[j] = reinterpret_cast<const float*>(k);
          vrows[j] = reinterpret_cast<const float*>(v);
        } else {
          to_f32(kv.data.dtype(), k, kbuf + j * hd, static_cast<size_t>(hd));
          to_f32(kv.data.dtype(), v, vbuf + j * hd, static_cast<size_t>(hd));
          krows[j] = kbuf + j * hd;
          vrows[j] = vbuf + j * hd;
        }
      }
    }
  };

  pool_.parallel_for(static_cast<int64_t>(blocks.size()), 1, [&](int64_t b, int64_t e) {
    std::vector<const float*> krows, vrows;  // [key]
    std::vector<float> kbuf, vbuf;           // [key][hd]: a cache in another dtype, converted
    std::vector<F4> scratch;
    for (int64_t w = b; w < e; ++w) {
      const RowBlock& blk = blocks[static_cast<size_t>(w)];
      const int s = blk.seq, kvh = blk.kv_head;
      const int q_len = qstart[s + 1] - qstart[s];
      AttentionRows rows{};
      rows.num_rows = blk.row_end - blk.row_begin;
      rows.head_dim = hd;
      rows.scale = batch.scale;
      for (int i = 0; i < rows.num_rows; ++i) {
        const int r = blk.row_begin + i;
        const int64_t offset = (qstart[s] + r / group) * static_cast<int64_t>(layout.q_dim()) +
                               static_cast<int64_t>(kvh * group + r % group) * hd;
        rows.q[i] = q.as<float>() + offset;
        rows.out[i] = out.as<float>() + offset;
        rows.last[i] = ctx[s] - q_len + r / group;
        rows.first[i] =
            batch.sliding_window > 0 ? std::max(0, rows.last[i] - batch.sliding_window + 1) : 0;
      }
      rows.lo = *std::min_element(rows.first, rows.first + rows.num_rows);
      rows.hi = rows.last[rows.num_rows - 1];
      const size_t span = static_cast<size_t>(rows.hi - rows.lo) + 1;
      krows.resize(span);
      vrows.resize(span);
      if (!f32_cache) {
        kbuf.resize(span * static_cast<size_t>(hd));
        vbuf.resize(span * static_cast<size_t>(hd));
      }
      head_rows(s, kvh, rows.lo, rows.hi, krows.data(), vrows.data(), kbuf.data(), vbuf.data());
      rows.k = krows.data();
      rows.v = vrows.data();
      attend_rows(rows, scratch);
    }
  });
}

}  // namespace pdserve::backend::cpu
