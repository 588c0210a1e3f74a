// The CPU reference backend: fp32 activations, weights in fp32/fp16/bf16,
// fp32 accumulation, data-parallel over a thread pool. Plainly correct and
// readable first; every CUDA op is tested against it. Ops run synchronously.
#pragma once

#include <string>

#include "engine/backend/backend.h"
#include "engine/backend/cpu/thread_pool.h"

namespace pdserve::backend::cpu {

class CpuBackend final : public Backend {
 public:
  explicit CpuBackend(int num_threads) : pool_(num_threads) {}

  std::string name() const override { return "cpu"; }
  DType activation_dtype() const override { return DType::kF32; }
  DType weight_dtype(DType checkpoint) const override { return checkpoint; }

  Tensor alloc(Shape shape, DType dtype) override;
  void copy_from_host(Tensor& dst, const void* src, DType src_dtype) override;
  void copy_to_host(const Tensor& src, void* dst) override;
  void copy_bytes_to_host(void* dst, const void* src, size_t n) override;
  void copy_bytes_from_host(void* dst, const void* src, size_t n) override;
  void fill_zero(Tensor& t) override;
  void synchronize() override {}
  std::unique_ptr<Marker> mark() override;

  void embedding(const Tensor& table, const Tensor& ids, Tensor& out) override;
  void rmsnorm(const Tensor& x, const Tensor& weight, float eps, Tensor& out) override;
  void add_rmsnorm(Tensor& residual, const Tensor& x, const Tensor& weight, float eps,
                   Tensor& out) override;
  void matmul(const Tensor& x, const Tensor& w, const Tensor* bias, Tensor& out) override;
  void qkv_rope_write_kv(const Tensor& qkv, const QkvLayout& layout, const Tensor* q_norm,
                         const Tensor* k_norm, float norm_eps, const RopeParams& rope,
                         const Tensor& positions, const Tensor& slot_mapping, KvLayer& kv,
                         Tensor& q_out) override;
  void paged_attention(const Tensor& q, const QkvLayout& layout, const KvLayer& kv,
                       const AttentionBatch& batch, Tensor& out) override;
  void silu_mul(const Tensor& gate_up, Tensor& out) override;
  void add(Tensor& x, const Tensor& y) override;
  void gather_rows(const Tensor& x, const Tensor& idx, Tensor& out) override;
  void argmax_rows(const Tensor& x, Tensor& out) override;
  void masked_argmax_rows(const Tensor& x, const Tensor& allowed, Tensor& out) override;
  void sample_rows(const Tensor& logits, const SamplingBatch& batch, SampledRows& out) override;

  ThreadPool& pool() { return pool_; }

 private:
  ThreadPool pool_;
};

// Reads n values of any float dtype at row `row` of a 2-D tensor into fp32.
void load_row_f32(const Tensor& t, int64_t row, float* dst);

}  // namespace pdserve::backend::cpu
