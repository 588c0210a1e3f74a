// The CUDA backend: bf16 activations and weights, fp32 accumulation, one
// stream, cuBLASLt GEMMs, our kernels for everything else (one op per .cu
// file). Plain C++ header: CUDA types stay in the .cpp/.cu files. Graphs it
// records (end_capture) must be destroyed before it.
#pragma once

#include <memory>
#include <string>

#include "engine/backend/backend.h"
#include "engine/backend/cuda/cublaslt_gemm.h"
#include "engine/backend/cuda/device_allocator.h"
#include "engine/backend/cuda/graph_pool.h"
#include "engine/backend/cuda/pinned_staging.h"

namespace pdserve::backend::cuda {

class CudaBackend final : public Backend {
 public:
  static Result<std::unique_ptr<CudaBackend>> create(int device);
  ~CudaBackend() override;

  std::string name() const override { return "cuda:" + std::to_string(device_); }
  DType activation_dtype() const override { return DType::kBF16; }
  DType weight_dtype(DType) const override { return DType::kBF16; }

  Tensor alloc(Shape shape, DType dtype) override;
  void copy_from_host(Tensor& dst, const void* src, DType src_dtype) override;
  void copy_to_host(const Tensor& src, void* dst) override;
  void copy_bytes_to_host(void* dst, const void* src, size_t n) override;
  void copy_bytes_from_host(void* dst, const void* src, size_t n) override;
  void fill_zero(Tensor& t) override;
  void synchronize() override;
  std::unique_ptr<Marker> mark() override;
  void copy_rows_from_host(Tensor& dst, const void* src, int64_t src_cols) override;
  std::shared_ptr<void> alloc_host(size_t bytes) override;
  void copy_from_host_async(Tensor& dst, const void* src) override;
  bool has_graphs() const override { return true; }
  size_t graph_memory_bytes() const override;
  Status begin_capture() override;
  Result<std::unique_ptr<StepGraph>> end_capture() override;

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

  void* stream() const { return stream_; }

 private:
  explicit CudaBackend(int device);
  // Device memory for a tensor or a scratch buffer: from the graph pool
  // while a graph is recorded, else from the shared caching allocator.
  std::shared_ptr<void> device_memory(size_t bytes);
  // Fails a check while a graph is recorded (copies and waits cannot be).
  void expect_not_capturing(const char* what) const;

  int device_;
  int num_sms_ = 0;
  void* stream_ = nullptr;
  std::shared_ptr<DeviceAllocator> allocator_;
  std::unique_ptr<CublasLtGemm> gemm_;
  std::unique_ptr<PinnedStaging> staging_;
  std::shared_ptr<GraphPool> graph_pool_;  // made at the first capture
  bool capturing_ = false;
};

}  // namespace pdserve::backend::cuda
