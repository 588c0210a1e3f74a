// The op set every backend implements (DESIGN.md, engine/backend). The model
// code is written once over these ops; the CPU backend is the reference
// every CUDA op is tested against.
//
// Conventions for every op: tensors are contiguous and row-major; shapes and
// dtypes are checked at this boundary (PD_CHECK) and trusted inside;
// activations are in the backend's activation dtype (fp32 on the CPU, bf16
// on CUDA), weights in any float dtype, accumulation always in fp32; index
// tensors are int32. Ops are asynchronous with respect to the host on
// backends that have a device; copy_to_host() synchronises.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "common/base/status.h"
#include "engine/backend/sampling_row.h"
#include "engine/backend/tensor.h"

namespace pdserve::backend {

// Rotary embedding, "rotate half" (GPT-NeoX) layout as Hugging Face's Llama:
// for i < rotary_dim/2, (x[i], x[i + rotary_dim/2]) rotated by
// angle = position * inv_freq[i]; cos and sin are multiplied by
// attention_scaling (YaRN's mscale, 1 otherwise).
struct RopeParams {
  Tensor inv_freq;  // [rotary_dim / 2] f32, on the backend
  float attention_scaling = 1.0f;
};

// The fused q/k/v row of a token: [q: num_heads*head_dim | k: kv | v: kv].
struct QkvLayout {
  int num_heads = 0;
  int num_kv_heads = 0;
  int head_dim = 0;
  int q_dim() const { return num_heads * head_dim; }
  int kv_dim() const { return num_kv_heads * head_dim; }
  int width() const { return q_dim() + 2 * kv_dim(); }
};

// One layer's paged KV pool: block b holds K then V of block_size tokens for
// all KV heads, contiguous, so one block of one layer is one transfer unit.
struct KvLayer {
  Tensor data;  // [num_blocks, 2, block_size, num_kv_heads * head_dim]
  int block_size = 0;
  int num_blocks() const { return static_cast<int>(data.dim(0)); }
  size_t block_bytes() const { return data.nbytes() / static_cast<size_t>(data.dim(0)); }
};

// Where each sequence's queries and context are, for paged attention.
struct AttentionBatch {
  Tensor query_start;   // [num_seqs + 1] i32: offsets of each sequence's queries in q
  Tensor context_lens;  // [num_seqs] i32: tokens with KV (cached + this step's)
  Tensor block_tables;  // [num_seqs, max_blocks_per_seq] i32
  int num_seqs = 0;
  int max_query_len = 0;
  int max_context_len = 0;  // an upper bound of context_lens (a plan may be sized by it)
  int sliding_window = 0;   // 0: full causal attention
  float scale = 1.0f;       // usually head_dim ** -0.5
};

// What sample_rows needs beside the logits. A history slot is one
// sequence's record for the penalties, kept in backend memory across steps
// (runner/device_sampler.h owns them); tensors a batch does not use may be
// undefined.
struct SamplingBatch {
  Tensor params;         // [rows, kSamplingRowWords] i32: a SamplingRow per row
  Tensor output_counts;  // [slots, vocab] i32: times each token was generated (mutated)
  // [slots, mask_words(vocab)] i32: bit t set: t is in the prompt or was
  // generated (mutated: the sampled token's bit is set). A count > 0 must
  // have its bit set (a backend reads the count of a token only then).
  Tensor seen;
  Tensor allowed;  // [masks, mask_words(vocab)] i32: bit t set: t may be sampled
};

// What sample_rows returns. logprobs undefined: no row's logprobs are
// written (the top tensors are then ignored).
struct SampledRows {
  Tensor token_ids;     // [rows] i32
  Tensor logprobs;      // [rows] f32: log_softmax(raw logits) at the sampled token
  Tensor top_ids;       // [rows, max_top] i32: the min(num_logprobs, max_top) most likely
  Tensor top_logprobs;  // [rows, max_top] f32  (by raw logit, ties by id), then unspecified
};

// Checks the shapes and dtypes of sample_rows' arguments (every backend's
// sample_rows calls it first).
void check_sample_rows(const Tensor& logits, const SamplingBatch& batch, const SampledRows& out);
// The same for masked_argmax_rows (x's dtype is the backend's to check).
void check_masked_argmax_rows(const Tensor& x, const Tensor& allowed, const Tensor& out);

// A recorded sequence of ops (a CUDA graph), replayed with the same
// arguments: the same buffers, whose contents are read afresh at each replay.
class StepGraph {
 public:
  virtual ~StepGraph() = default;
  // Runs the recorded ops, asynchronously like the ops themselves.
  virtual void replay() = 0;
  // Kernels one replay launches (the graph's kernel nodes).
  virtual int num_kernels() const = 0;
};

// A point in a backend's stream of work (ops are asynchronous): wait()
// returns once every op issued before the marker was made has finished.
// Another thread may wait on it; it may outlive nothing but its backend.
class Marker {
 public:
  virtual ~Marker() = default;
  virtual void wait() = 0;
};

class Backend {
 public:
  virtual ~Backend() = default;

  virtual std::string name() const = 0;
  virtual DType activation_dtype() const = 0;
  // The dtype a matmul weight stored as `checkpoint` is kept in.
  virtual DType weight_dtype(DType checkpoint) const = 0;

  // Uninitialised memory on the backend.
  virtual Tensor alloc(Shape shape, DType dtype) = 0;
  // dst (any float dtype or i32) <- host data of src_dtype, converting.
  virtual void copy_from_host(Tensor& dst, const void* src, DType src_dtype) = 0;
  // Host fp32 (or i32 for i32 tensors) <- src; waits for pending work.
  virtual void copy_to_host(const Tensor& src, void* dst) = 0;
  // Raw byte copies between backend memory and host memory (KV swapping).
  virtual void copy_bytes_to_host(void* dst, const void* src, size_t n) = 0;
  virtual void copy_bytes_from_host(void* dst, const void* src, size_t n) = 0;
  virtual void fill_zero(Tensor& t) = 0;
  // Waits until every op issued so far has finished.
  virtual void synchronize() = 0;
  // A marker after every op issued so far (not while a graph is recorded).
  virtual std::unique_ptr<Marker> mark() = 0;
  // dst [rows, cols] <- host src [rows, src_cols] (src_cols <= cols, same
  // dtype), into the first src_cols columns of each row; the other columns
  // keep what they held. Asynchronous where the backend can stage the data.
  virtual void copy_rows_from_host(Tensor& dst, const void* src, int64_t src_cols);
  // Host memory of `bytes` that copy_from_host_async() reads without staging
  // (page-locked on CUDA, plain memory on the CPU); freed with its last owner.
  virtual std::shared_ptr<void> alloc_host(size_t bytes);
  // dst <- src, dst.nbytes() of dst's dtype, src from alloc_host(). Asynchronous
  // on backends with a device: src must not change until a later
  // copy_to_host(), synchronize() or marker's wait() returned.
  virtual void copy_from_host_async(Tensor& dst, const void* src);

  // Graph capture (has_graphs()). Between begin_capture() and a successful or failed
  // end_capture() the ops are recorded, not run; only ops and alloc() may be
  // called (a copy or synchronize() fails a check). Memory allocated while
  // recording belongs to the backend's graphs and is shared by all of them:
  // replays must not overlap (they don't: one stream) and a graph's outputs
  // are read before the next replay of any graph. Backends without graphs
  // (the CPU) answer kUnimplemented.
  virtual bool has_graphs() const { return false; }
  // Device memory the recorded graphs hold (their shared activations).
  virtual size_t graph_memory_bytes() const { return 0; }
  virtual Status begin_capture();
  virtual Result<std::unique_ptr<StepGraph>> end_capture();

  // out[i] = table[ids[i]].  table [vocab, hidden], ids [n], out [n, hidden]
  virtual void embedding(const Tensor& table, const Tensor& ids, Tensor& out) = 0;
  // out = x / rms(x) * weight over the last dim.  x, out [n, d], weight [d]
  virtual void rmsnorm(const Tensor& x, const Tensor& weight, float eps, Tensor& out) = 0;
  // residual += x; out = rmsnorm(residual).  residual, x, out [n, d]
  virtual void add_rmsnorm(Tensor& residual, const Tensor& x, const Tensor& weight, float eps,
                           Tensor& out) = 0;
  // out = x @ w^T (+ bias).  x [n, in], w [out, in], bias [out] or undefined, out [n, out]
  virtual void matmul(const Tensor& x, const Tensor& w, const Tensor* bias, Tensor& out) = 0;
  // From the fused qkv [n, layout.width()]: optional per-head RMSNorm of q and
  // k (q_norm/k_norm [head_dim], Qwen3), RoPE on q and k at `positions` [n],
  // K and V written to `kv` at slot_mapping [n] (slot = block * block_size +
  // offset; negative: not written), rotated q written to q_out [n, q_dim].
  virtual void qkv_rope_write_kv(const Tensor& qkv, const QkvLayout& layout, const Tensor* q_norm,
                                 const Tensor* k_norm, float norm_eps, const RopeParams& rope,
                                 const Tensor& positions, const Tensor& slot_mapping, KvLayer& kv,
                                 Tensor& q_out) = 0;
  // Causal attention of q [n, num_heads*head_dim] over each sequence's paged
  // context; the query at index j of a sequence with q_len queries and
  // context c sits at position c - q_len + j.  out [n, num_heads*head_dim]
  virtual void paged_attention(const Tensor& q, const QkvLayout& layout, const KvLayer& kv,
                               const AttentionBatch& batch, Tensor& out) = 0;
  // out = silu(gate) * up, gate_up [n, 2*d] = [gate | up], out [n, d]
  virtual void silu_mul(const Tensor& gate_up, Tensor& out) = 0;
  // x += y, same shapes
  virtual void add(Tensor& x, const Tensor& y) = 0;
  // out[i] = x[idx[i]].  x [n, d], idx [m] i32, out [m, d]
  virtual void gather_rows(const Tensor& x, const Tensor& idx, Tensor& out) = 0;
  // out[i] = argmax_j x[i, j] (the lowest j on ties).  x [m, vocab], out [m] i32
  virtual void argmax_rows(const Tensor& x, Tensor& out) = 0;
  // out[i] = argmax_j x[i, j] with the j whose bit is clear in row i of
  // `allowed` counted as -inf (the lowest j on ties, so 0 when none is
  // allowed): the token sample_rows picks for a greedy row under that mask
  // without penalties.  x [m, vocab], allowed [m, mask_words(vocab)] i32, out [m] i32
  virtual void masked_argmax_rows(const Tensor& x, const Tensor& allowed, Tensor& out) = 0;
  // Samples one token per row of logits [rows, vocab] as runner/sampler.h
  // does on the host, with row r's SamplingRow: the allowed-token mask, the
  // penalties from its history slot, greedy argmax or temperature, min_p,
  // top_k, top_p and a draw at uniform_draw(seed, draw_index); then adds the
  // sampled token to the slot's output_counts. Rows draw independently: a
  // row's token depends on its logits, parameters and history only (not on
  // the other rows), though backends may draw different tokens for one u
  // (same distribution). Rows must not share a history slot.
  virtual void sample_rows(const Tensor& logits, const SamplingBatch& batch, SampledRows& out) = 0;
};

// The CPU reference backend; num_threads <= 0 uses every core.
std::unique_ptr<Backend> make_cpu_backend(int num_threads = 0);

// True when this build has the CUDA backend and a GPU is visible.
bool cuda_available();
// The total memory of CUDA device `device`; kUnimplemented without CUDA.
Result<size_t> cuda_device_memory_bytes(int device);
// The CUDA backend on GPU `device`; fails when the build has no CUDA
// backend or the device cannot be used.
Result<std::unique_ptr<Backend>> make_cuda_backend(int device = 0);

}  // namespace pdserve::backend
