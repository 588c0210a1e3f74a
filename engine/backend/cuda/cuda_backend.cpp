// Memory, copies and op dispatch of the CUDA backend: shapes and dtypes are
// checked here, then the launchers of the .cu files run on the stream.
#include "engine/backend/cuda/cuda_backend.h"

#include "engine/backend/cuda/add.h"
#include "engine/backend/cuda/argmax.h"
#include "engine/backend/cuda/bias_add.h"
#include "engine/backend/cuda/convert.h"
#include "engine/backend/cuda/cuda_check.h"
#include "engine/backend/cuda/cuda_step_graph.h"
#include "engine/backend/cuda/decode_attention.h"
#include "engine/backend/cuda/embedding.h"
#include "engine/backend/cuda/gather_rows.h"
#include "engine/backend/cuda/paged_attention.h"
#include "engine/backend/cuda/prefill_attention.h"
#include "engine/backend/cuda/rmsnorm.h"
#include "engine/backend/cuda/rope_kv.h"
#include "engine/backend/cuda/sample_rows.h"
#include "engine/backend/cuda/silu_mul.h"

namespace pdserve::backend::cuda {
namespace {

const uint16_t* bf16(const Tensor& t) {
  return static_cast<const uint16_t*>(t.data());
}
uint16_t* bf16_mut(Tensor& t) {
  return static_cast<uint16_t*>(t.data());
}

void expect_bf16(const char* op, std::initializer_list<const Tensor*> ts) {
  for (const Tensor* t : ts)
    PD_CHECK(t->dtype() == DType::kBF16)
        << op << ": expected bfloat16, got " << dtype_name(t->dtype());
}

}  // namespace

Result<std::unique_ptr<CudaBackend>> CudaBackend::create(int device) {
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess || count == 0) {
    (void)cudaGetLastError();
    return unavailable("no CUDA device is visible");
  }
  if (device < 0 || device >= count)
    return invalid_argument("CUDA device " + std::to_string(device) + " does not exist (" +
                            std::to_string(count) + " visible)");
  return std::unique_ptr<CudaBackend>(new CudaBackend(device));
}

CudaBackend::CudaBackend(int device) : device_(device) {
  PD_CUDA_CHECK(cudaSetDevice(device));
  cudaStream_t s;
  PD_CUDA_CHECK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
  stream_ = s;
  allocator_ = std::make_shared<DeviceAllocator>(device);
  PD_CUDA_CHECK(cudaDeviceGetAttribute(&num_sms_, cudaDevAttrMultiProcessorCount, device));
  constexpr size_t kWorkspace = size_t{32} << 20;
  gemm_ = std::make_unique<CublasLtGemm>(stream_, allocator_->allocate(kWorkspace), kWorkspace);
  staging_ = std::make_unique<PinnedStaging>(stream_);
}

CudaBackend::~CudaBackend() {
  PD_CUDA_LOG(cudaStreamSynchronize(as_stream(stream_)));
  staging_.reset();
  gemm_.reset();
  PD_CUDA_LOG(cudaStreamDestroy(as_stream(stream_)));
}

std::shared_ptr<void> CudaBackend::device_memory(size_t bytes) {
  return capturing_ ? graph_pool_->allocate(bytes) : allocator_->allocate(bytes);
}

void CudaBackend::expect_not_capturing(const char* what) const {
  PD_CHECK(!capturing_) << what << ": not allowed while a CUDA graph is recorded";
}

Tensor CudaBackend::alloc(Shape shape, DType dtype) {
  std::shared_ptr<void> mem = device_memory(static_cast<size_t>(shape.numel()) * dtype_size(dtype));
  void* p = mem.get();
  return Tensor(p, shape, dtype, std::move(mem));
}

void CudaBackend::copy_from_host(Tensor& dst, const void* src, DType src_dtype) {
  expect_not_capturing("copy_from_host");
  cudaStream_t s = as_stream(stream_);
  if (src_dtype == dst.dtype() && dst.nbytes() <= PinnedStaging::kSlotBytes) {
    staging_->copy_to_device(dst.data(), src, dst.nbytes());  // no wait for the GPU
    return;
  }
  if (src_dtype == dst.dtype()) {
    PD_CUDA_CHECK(cudaMemcpyAsync(dst.data(), src, dst.nbytes(), cudaMemcpyHostToDevice, s));
    PD_CUDA_CHECK(cudaStreamSynchronize(s));  // the host buffer may go away on return
    return;
  }
  PD_CHECK(src_dtype != DType::kI32 && dst.dtype() != DType::kI32)
      << "cannot convert " << dtype_name(src_dtype) << " to " << dtype_name(dst.dtype());
  Tensor staged = alloc(dst.shape(), src_dtype);
  PD_CUDA_CHECK(cudaMemcpyAsync(staged.data(), src, staged.nbytes(), cudaMemcpyHostToDevice, s));
  launch_convert(staged.data(), src_dtype, dst.data(), dst.dtype(), dst.numel(), stream_);
  PD_CUDA_CHECK(cudaStreamSynchronize(s));
}

void CudaBackend::copy_to_host(const Tensor& src, void* dst) {
  expect_not_capturing("copy_to_host");
  cudaStream_t s = as_stream(stream_);
  if (src.dtype() == DType::kI32 || src.dtype() == DType::kF32) {
    PD_CUDA_CHECK(cudaMemcpyAsync(dst, src.data(), src.nbytes(), cudaMemcpyDeviceToHost, s));
  } else {
    Tensor f = alloc(src.shape(), DType::kF32);
    launch_convert(src.data(), src.dtype(), f.data(), DType::kF32, src.numel(), stream_);
    PD_CUDA_CHECK(cudaMemcpyAsync(dst, f.data(), f.nbytes(), cudaMemcpyDeviceToHost, s));
  }
  PD_CUDA_CHECK(cudaStreamSynchronize(s));
}

void CudaBackend::copy_bytes_to_host(void* dst, const void* src, size_t n) {
  expect_not_capturing("copy_bytes_to_host");
  PD_CUDA_CHECK(cudaMemcpyAsync(dst, src, n, cudaMemcpyDeviceToHost, as_stream(stream_)));
  PD_CUDA_CHECK(cudaStreamSynchronize(as_stream(stream_)));
}

void CudaBackend::copy_bytes_from_host(void* dst, const void* src, size_t n) {
  expect_not_capturing("copy_bytes_from_host");
  PD_CUDA_CHECK(cudaMemcpyAsync(dst, src, n, cudaMemcpyHostToDevice, as_stream(stream_)));
  PD_CUDA_CHECK(cudaStreamSynchronize(as_stream(stream_)));
}

void CudaBackend::fill_zero(Tensor& t) {
  PD_CUDA_CHECK(cudaMemsetAsync(t.data(), 0, t.nbytes(), as_stream(stream_)));
}

void CudaBackend::synchronize() {
  expect_not_capturing("synchronize");
  PD_CUDA_CHECK(cudaStreamSynchronize(as_stream(stream_)));
}

namespace {

// A CUDA event recorded on the backend's stream; waiting blocks the thread
// (no spinning) until the event has fired. Another thread may wait on it and
// destroy it: both first make the backend's device current on that thread,
// so that a thread which never chose a device does not create a context on
// device 0 (another worker's GPU).
class CudaMarker final : public Marker {
 public:
  CudaMarker(cudaStream_t stream, int device) : device_(device) {
    PD_CUDA_CHECK(
        cudaEventCreateWithFlags(&event_, cudaEventDisableTiming | cudaEventBlockingSync));
    PD_CUDA_CHECK(cudaEventRecord(event_, stream));
  }
  ~CudaMarker() override {
    if (PD_CUDA_LOG(cudaSetDevice(device_))) PD_CUDA_LOG(cudaEventDestroy(event_));
  }
  void wait() override {
    PD_CUDA_CHECK(cudaSetDevice(device_));
    PD_CUDA_CHECK(cudaEventSynchronize(event_));
  }

 private:
  int device_;
  cudaEvent_t event_ = nullptr;
};

}  // namespace

size_t CudaBackend::graph_memory_bytes() const {
  return graph_pool_ ? graph_pool_->bytes_reserved() : 0;
}

std::unique_ptr<Marker> CudaBackend::mark() {
  expect_not_capturing("mark");
  return std::make_unique<CudaMarker>(as_stream(stream_), device_);
}

void CudaBackend::copy_rows_from_host(Tensor& dst, const void* src, int64_t src_cols) {
  expect_not_capturing("copy_rows_from_host");
  PD_CHECK(dst.rank() == 2 && src_cols >= 0 && src_cols <= dst.dim(1))
      << "copy_rows_from_host: " << src_cols << " columns into " << dst.shape().to_string();
  const size_t elt = dtype_size(dst.dtype()), row_bytes = static_cast<size_t>(src_cols) * elt;
  const auto rows = static_cast<size_t>(dst.dim(0));
  if (row_bytes == 0 || rows == 0) return;
  const size_t pitch = static_cast<size_t>(dst.dim(1)) * elt;
  if (row_bytes * rows <= PinnedStaging::kSlotBytes) {
    staging_->copy_rows_to_device(dst.data(), pitch, src, row_bytes, rows);  // no wait for the GPU
    return;
  }
  cudaStream_t s = as_stream(stream_);
  PD_CUDA_CHECK(cudaMemcpy2DAsync(dst.data(), pitch, src, row_bytes, row_bytes, rows,
                                  cudaMemcpyHostToDevice, s));
  PD_CUDA_CHECK(cudaStreamSynchronize(s));  // the host buffer may go away on return
}

std::shared_ptr<void> CudaBackend::alloc_host(size_t bytes) {
  void* p = nullptr;
  PD_CUDA_CHECK(cudaMallocHost(&p, bytes > 0 ? bytes : 1));
  return std::shared_ptr<void>(p, [](void* q) { PD_CUDA_LOG(cudaFreeHost(q)); });
}

void CudaBackend::copy_from_host_async(Tensor& dst, const void* src) {
  expect_not_capturing("copy_from_host_async");
  PD_CUDA_CHECK(
      cudaMemcpyAsync(dst.data(), src, dst.nbytes(), cudaMemcpyHostToDevice, as_stream(stream_)));
}

Status CudaBackend::begin_capture() {
  if (capturing_) return failed_precondition("a CUDA graph is already being recorded");
  if (!graph_pool_) graph_pool_ = std::make_shared<GraphPool>(allocator_);
  // Thread-local: other threads' CUDA calls (KV transfers) do not disturb the recording.
  const cudaError_t err =
      cudaStreamBeginCapture(as_stream(stream_), cudaStreamCaptureModeThreadLocal);
  if (err != cudaSuccess) {
    (void)cudaGetLastError();
    return internal_error(std::string("cannot record a CUDA graph: ") + cudaGetErrorString(err));
  }
  capturing_ = true;
  return ok_status();
}

Result<std::unique_ptr<StepGraph>> CudaBackend::end_capture() {
  if (!capturing_) return failed_precondition("no CUDA graph is being recorded");
  capturing_ = false;
  PD_ASSIGN_OR_RETURN(std::unique_ptr<CudaStepGraph> graph,
                      CudaStepGraph::end_capture(stream_, graph_pool_));
  return std::unique_ptr<StepGraph>(std::move(graph));
}

void CudaBackend::embedding(const Tensor& table, const Tensor& ids, Tensor& out) {
  expect_bf16("embedding", {&table, &out});
  PD_CHECK(ids.dtype() == DType::kI32 && out.dim(0) == ids.numel() && out.dim(1) == table.dim(1))
      << "embedding: table " << table.shape().to_string() << " ids " << ids.shape().to_string();
  launch_embedding(bf16(table), ids.as<int32_t>(), ids.numel(), table.dim(1), table.dim(0),
                   bf16_mut(out), stream_);
}

void CudaBackend::rmsnorm(const Tensor& x, const Tensor& weight, float eps, Tensor& out) {
  expect_bf16("rmsnorm", {&x, &out});
  PD_CHECK(weight.dtype() == DType::kF32 && x.shape() == out.shape() &&
           weight.numel() == x.numel() / x.dim(0))
      << "rmsnorm: x " << x.shape().to_string() << " weight " << weight.shape().to_string();
  launch_rmsnorm(bf16(x), nullptr, weight.as<float>(), eps, x.dim(0), weight.numel(), bf16_mut(out),
                 stream_);
}

void CudaBackend::add_rmsnorm(Tensor& residual, const Tensor& x, const Tensor& weight, float eps,
                              Tensor& out) {
  expect_bf16("add_rmsnorm", {&residual, &x, &out});
  PD_CHECK(weight.dtype() == DType::kF32 && x.shape() == out.shape() &&
           residual.shape() == x.shape() && weight.numel() == x.numel() / x.dim(0))
      << "add_rmsnorm: x " << x.shape().to_string() << " weight " << weight.shape().to_string();
  launch_rmsnorm(bf16(x), bf16_mut(residual), weight.as<float>(), eps, x.dim(0), weight.numel(),
                 bf16_mut(out), stream_);
}

void CudaBackend::qkv_rope_write_kv(const Tensor& qkv, const QkvLayout& layout,
                                    const Tensor* q_norm, const Tensor* k_norm, float norm_eps,
                                    const RopeParams& rope, const Tensor& positions,
                                    const Tensor& slot_mapping, KvLayer& kv, Tensor& q_out) {
  expect_bf16("qkv_rope_write_kv", {&qkv, &q_out, &kv.data});
  const int64_t n = qkv.dim(0);
  PD_CHECK(qkv.dim(1) == layout.width() && q_out.dim(0) == n && q_out.dim(1) == layout.q_dim() &&
           positions.numel() == n && slot_mapping.numel() == n &&
           rope.inv_freq.numel() == layout.head_dim / 2 && kv.data.dim(3) == layout.kv_dim())
      << "qkv_rope_write_kv: qkv " << qkv.shape().to_string() << " kv "
      << kv.data.shape().to_string();
  RopeKvArgs a{bf16(qkv),
               q_norm ? q_norm->as<float>() : nullptr,
               k_norm ? k_norm->as<float>() : nullptr,
               norm_eps,
               rope.inv_freq.as<float>(),
               rope.attention_scaling,
               positions.as<int32_t>(),
               slot_mapping.as<int32_t>(),
               bf16_mut(kv.data),
               kv.block_size,
               layout.num_heads,
               layout.num_kv_heads,
               layout.head_dim,
               bf16_mut(q_out),
               n};
  launch_rope_write_kv(a, stream_);
}

void CudaBackend::paged_attention(const Tensor& q, const QkvLayout& layout, const KvLayer& kv,
                                  const AttentionBatch& batch, Tensor& out) {
  expect_bf16("paged_attention", {&q, &out, &kv.data});
  PD_CHECK(q.dim(1) == layout.q_dim() && out.shape() == q.shape() &&
           layout.num_heads % layout.num_kv_heads == 0 && batch.block_tables.rank() == 2 &&
           batch.block_tables.dim(0) == batch.num_seqs)
      << "paged_attention: q " << q.shape().to_string() << " block_tables "
      << batch.block_tables.shape().to_string();
  AttentionArgs a{bf16(q),
                  bf16(kv.data),
                  batch.query_start.as<int32_t>(),
                  batch.context_lens.as<int32_t>(),
                  batch.block_tables.as<int32_t>(),
                  static_cast<int>(batch.block_tables.dim(1)),
                  batch.num_seqs,
                  static_cast<int>(q.dim(0)),
                  kv.block_size,
                  layout.num_heads,
                  layout.num_kv_heads,
                  layout.head_dim,
                  batch.sliding_window,
                  batch.scale,
                  bf16_mut(out)};
  if (batch.max_query_len == 1 && decode_attention_supports(layout.head_dim)) {
    PD_CHECK(q.dim(0) == batch.num_seqs) << "paged_attention: " << q.dim(0) << " queries for "
                                         << batch.num_seqs << " decoding sequences";
    const DecodeAttentionPlan plan = plan_decode_attention(
        batch.num_seqs, layout.num_heads, layout.num_kv_heads, batch.max_context_len, num_sms_);
    const size_t scratch = plan.workspace_bytes(batch.num_seqs, layout.num_heads, layout.head_dim);
    std::shared_ptr<void> workspace = scratch ? device_memory(scratch) : nullptr;
    launch_decode_attention(a, plan, workspace.get(), stream_);
    return;
  }
  // Steps with a prompt chunk take the tensor-core kernel (decode tokens in
  // the same step too).
  if (batch.max_query_len > 1 && prefill_attention_supported(layout.head_dim))
    launch_prefill_attention(a, batch.max_query_len, stream_);
  else
    launch_paged_attention(a, stream_);
}

void CudaBackend::matmul(const Tensor& x, const Tensor& w, const Tensor* bias, Tensor& out) {
  expect_bf16("matmul", {&x, &w, &out});
  PD_CHECK(x.rank() == 2 && w.rank() == 2 && out.rank() == 2 && x.dim(1) == w.dim(1) &&
           out.dim(0) == x.dim(0) && out.dim(1) == w.dim(0))
      << "matmul: x " << x.shape().to_string() << " w " << w.shape().to_string() << " out "
      << out.shape().to_string();
  gemm_->run(bf16(x), bf16(w), bf16_mut(out), x.dim(0), x.dim(1), w.dim(0));
  if (bias) {
    PD_CHECK(bias->dtype() == DType::kF32 && bias->numel() == w.dim(0))
        << "matmul: bias " << bias->shape().to_string();
    launch_bias_add(bf16_mut(out), bias->as<float>(), out.dim(0), out.dim(1), stream_);
  }
}

void CudaBackend::silu_mul(const Tensor& gate_up, Tensor& out) {
  expect_bf16("silu_mul", {&gate_up, &out});
  PD_CHECK(gate_up.dim(1) == 2 * out.dim(1) && gate_up.dim(0) == out.dim(0))
      << "silu_mul: gate_up " << gate_up.shape().to_string() << " out " << out.shape().to_string();
  launch_silu_mul(bf16(gate_up), out.dim(0), out.dim(1), bf16_mut(out), stream_);
}

void CudaBackend::add(Tensor& x, const Tensor& y) {
  expect_bf16("add", {&x, &y});
  PD_CHECK(x.shape() == y.shape())
      << "add: " << x.shape().to_string() << " + " << y.shape().to_string();
  launch_add(bf16_mut(x), bf16(y), x.numel(), stream_);
}

void CudaBackend::gather_rows(const Tensor& x, const Tensor& idx, Tensor& out) {
  const int64_t d = x.row_numel();
  PD_CHECK(idx.dtype() == DType::kI32 && out.dim(0) == idx.numel() && out.row_numel() == d &&
           out.dtype() == x.dtype() && dtype_size(x.dtype()) == 2)
      << "gather_rows: x " << x.shape().to_string() << " idx " << idx.shape().to_string();
  launch_gather_rows(x.data(), idx.as<int32_t>(), idx.numel(), d * 2, out.data(), stream_);
}

void CudaBackend::argmax_rows(const Tensor& x, Tensor& out) {
  expect_bf16("argmax_rows", {&x});
  PD_CHECK(x.rank() == 2 && out.dtype() == DType::kI32 && out.numel() == x.dim(0))
      << "argmax_rows: x " << x.shape().to_string() << " out " << out.shape().to_string();
  launch_argmax(bf16(x), x.dim(0), x.dim(1), nullptr, out.as<int32_t>(), stream_);
}

void CudaBackend::masked_argmax_rows(const Tensor& x, const Tensor& allowed, Tensor& out) {
  expect_bf16("masked_argmax_rows", {&x});
  check_masked_argmax_rows(x, allowed, out);
  launch_argmax(bf16(x), x.dim(0), x.dim(1), allowed.as<uint32_t>(), out.as<int32_t>(), stream_);
}

void CudaBackend::sample_rows(const Tensor& logits, const SamplingBatch& batch, SampledRows& out) {
  expect_bf16("sample_rows", {&logits});
  check_sample_rows(logits, batch, out);
  const int64_t rows = logits.dim(0), vocab = logits.dim(1);
  PD_CHECK(vocab <= kMaxSampleVocab)
      << "sample_rows: vocabulary of " << vocab << " tokens exceeds " << kMaxSampleVocab;
  const bool logprobs = out.logprobs.data() != nullptr;
  const int max_top = logprobs ? static_cast<int>(out.top_ids.dim(1)) : -1;
  PD_CHECK(max_top <= kMaxSampleTop)
      << "sample_rows: " << max_top << " top logprobs a row exceed " << kMaxSampleTop;
  std::shared_ptr<void> workspace =
      device_memory(sample_rows_workspace_bytes(rows, vocab, max_top));
  SampleRowsArgs a{bf16(logits),
                   static_cast<const SamplingRow*>(batch.params.data()),
                   batch.output_counts.as<int32_t>(),
                   batch.seen.as<uint32_t>(),
                   batch.output_counts.data() ? batch.output_counts.dim(0) : 0,
                   batch.allowed.as<uint32_t>(),
                   batch.allowed.data() ? batch.allowed.dim(0) : 0,
                   rows,
                   vocab,
                   workspace.get(),
                   out.token_ids.as<int32_t>(),
                   logprobs ? out.logprobs.as<float>() : nullptr,
                   logprobs ? out.top_ids.as<int32_t>() : nullptr,
                   logprobs ? out.top_logprobs.as<float>() : nullptr,
                   max_top};
  launch_sample_rows(a, stream_);
}

}  // namespace pdserve::backend::cuda

namespace pdserve::backend {

bool cuda_available() {
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    (void)cudaGetLastError();
    return false;
  }
  return count > 0;
}

Result<std::unique_ptr<Backend>> make_cuda_backend(int device) {
  PD_ASSIGN_OR_RETURN(std::unique_ptr<cuda::CudaBackend> be, cuda::CudaBackend::create(device));
  return std::unique_ptr<Backend>(std::move(be));
}

}  // namespace pdserve::backend
