// The Backend defaults for what only some backends have (graphs) or may do
// faster (staged 2-D copies, page-locked host memory).
#include "engine/backend/backend.h"

#include <cstddef>

namespace pdserve::backend {

std::shared_ptr<void> Backend::alloc_host(size_t bytes) {
  return std::shared_ptr<std::byte[]>(new std::byte[bytes]);
}

void Backend::copy_from_host_async(Tensor& dst, const void* src) {
  copy_from_host(dst, src, dst.dtype());
}

void Backend::copy_rows_from_host(Tensor& dst, const void* src, int64_t src_cols) {
  PD_CHECK(dst.rank() == 2 && src_cols >= 0 && src_cols <= dst.dim(1))
      << "copy_rows_from_host: " << src_cols << " columns into " << dst.shape().to_string();
  const size_t elt = dtype_size(dst.dtype());
  const auto* from = static_cast<const char*>(src);
  for (int64_t r = 0; r < dst.dim(0); ++r) {
    Tensor row(static_cast<char*>(dst.data()) + r * dst.dim(1) * elt, Shape{src_cols}, dst.dtype());
    copy_from_host(row, from + r * src_cols * elt, dst.dtype());
  }
}

void check_masked_argmax_rows(const Tensor& x, const Tensor& allowed, const Tensor& out) {
  PD_CHECK(x.rank() == 2 && x.dim(1) > 0 && allowed.rank() == 2 && allowed.dtype() == DType::kI32 &&
           allowed.dim(0) == x.dim(0) && allowed.dim(1) == mask_words(x.dim(1)) &&
           out.dtype() == DType::kI32 && out.numel() == x.dim(0))
      << "masked_argmax_rows: x " << x.shape().to_string() << " allowed "
      << allowed.shape().to_string() << " out " << out.shape().to_string();
}

void check_sample_rows(const Tensor& logits, const SamplingBatch& batch, const SampledRows& out) {
  PD_CHECK(logits.rank() == 2) << "sample_rows: logits " << logits.shape().to_string();
  const int64_t rows = logits.dim(0), vocab = logits.dim(1), words = mask_words(vocab);
  auto fits = [](const Tensor& t, DType dtype, int64_t rows, int64_t cols) {
    return t.rank() == 2 && t.dtype() == dtype && (rows < 0 || t.dim(0) == rows) &&
           t.dim(1) == cols;
  };
  PD_CHECK(fits(batch.params, DType::kI32, rows, kSamplingRowWords) &&
           out.token_ids.dtype() == DType::kI32 && out.token_ids.numel() == rows)
      << "sample_rows: logits " << logits.shape().to_string() << " params "
      << batch.params.shape().to_string() << " token_ids " << out.token_ids.shape().to_string();
  if (batch.output_counts.data())
    PD_CHECK(fits(batch.output_counts, DType::kI32, -1, vocab) &&
             fits(batch.seen, DType::kI32, batch.output_counts.dim(0), words))
        << "sample_rows: output_counts " << batch.output_counts.shape().to_string() << " seen "
        << batch.seen.shape().to_string() << " for vocab " << vocab;
  if (batch.allowed.data())
    PD_CHECK(fits(batch.allowed, DType::kI32, -1, words))
        << "sample_rows: allowed " << batch.allowed.shape().to_string() << " for vocab " << vocab;
  if (out.logprobs.data())
    PD_CHECK(out.logprobs.dtype() == DType::kF32 && out.logprobs.numel() == rows &&
             fits(out.top_ids, DType::kI32, rows, out.top_ids.dim(1)) &&
             fits(out.top_logprobs, DType::kF32, rows, out.top_ids.dim(1)) &&
             out.top_ids.dim(1) <= vocab)
        << "sample_rows: logprobs " << out.logprobs.shape().to_string() << " top_ids "
        << out.top_ids.shape().to_string();
}

Status Backend::begin_capture() {
  return unimplemented("backend " + name() + " cannot capture graphs");
}

Result<std::unique_ptr<StepGraph>> Backend::end_capture() {
  return failed_precondition("backend " + name() + ": no graph capture in progress");
}

}  // namespace pdserve::backend
