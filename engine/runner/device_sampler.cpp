#include "engine/runner/device_sampler.h"

#include <algorithm>
#include <bit>
#include <utility>

#include "engine/runner/sampler.h"

namespace pdserve::runner {
namespace {

using backend::DType;
using backend::Shape;
using backend::Tensor;

}  // namespace

DeviceSampler::DeviceSampler(backend::Backend& be, int vocab_size) : be_(be), vocab_(vocab_size) {}

Tensor& DeviceSampler::reserve(Tensor& t, Shape need, DType dtype) {
  const bool fits = t.data() && t.rank() == need.rank && t.dim(0) >= need[0] &&
                    (need.rank == 1 || t.dim(1) >= need[1]);
  if (!fits) {
    Shape grown = need;
    grown.dims[0] = std::max<int64_t>({need[0], t.data() ? 2 * t.dim(0) : 0, 8});
    if (need.rank == 2)
      grown.dims[1] = std::max<int64_t>({need[1], t.rank() == 2 && t.data() ? t.dim(1) : 0, 1});
    t = be_.alloc(grown, dtype);
  }
  return t;
}

int DeviceSampler::take_slot() {
  if (free_slots_.empty()) {
    const int64_t old = output_counts_.data() ? output_counts_.dim(0) : 0;
    const int64_t grown = std::max<int64_t>(8, 2 * old), words = backend::mask_words(vocab_);
    std::vector<int32_t> counts(static_cast<size_t>(grown * vocab_), 0),
        seen(static_cast<size_t>(grown * words), 0);
    if (old > 0) {  // rare (the slots double): keep the live histories
      be_.copy_to_host(output_counts_, counts.data());
      be_.copy_to_host(seen_, seen.data());
    }
    output_counts_ = be_.alloc(Shape{grown, vocab_}, DType::kI32);
    seen_ = be_.alloc(Shape{grown, words}, DType::kI32);
    be_.copy_from_host(output_counts_, counts.data(), DType::kI32);
    be_.copy_from_host(seen_, seen.data(), DType::kI32);
    for (int64_t s = grown - 1; s >= old; --s) free_slots_.push_back(static_cast<int>(s));
  }
  const int slot = free_slots_.back();
  free_slots_.pop_back();
  return slot;
}

void DeviceSampler::add(uint64_t seq_id, const SamplingParams& params,
                        std::span<const int32_t> prompt_ids, std::span<const int32_t> output_ids) {
  remove(seq_id);
  if (!backend::has_penalties(sampling_row(params))) return;
  const int slot = take_slot();
  slots_[seq_id] = slot;
  std::vector<int32_t> counts(static_cast<size_t>(vocab_), 0),
      seen(static_cast<size_t>(backend::mask_words(vocab_)), 0);
  auto mark = [&](int32_t t) {
    seen[static_cast<size_t>(t >> 5)] = static_cast<int32_t>(
        static_cast<uint32_t>(seen[static_cast<size_t>(t >> 5)]) | (1u << (t & 31)));
  };
  for (int32_t t : output_ids)
    if (t >= 0 && t < vocab_) {
      ++counts[static_cast<size_t>(t)];
      mark(t);
    }
  for (int32_t t : prompt_ids)
    if (t >= 0 && t < vocab_) mark(t);
  Tensor counts_row = output_counts_.rows(slot, 1), seen_row = seen_.rows(slot, 1);
  be_.copy_from_host(counts_row, counts.data(), DType::kI32);
  be_.copy_from_host(seen_row, seen.data(), DType::kI32);
}

void DeviceSampler::remove(uint64_t seq_id) {
  auto it = slots_.find(seq_id);
  if (it == slots_.end()) return;
  free_slots_.push_back(it->second);
  slots_.erase(it);
}

std::span<uint32_t> DeviceSampler::mask_rows(size_t num_rows) {
  const size_t words = num_rows * static_cast<size_t>(backend::mask_words(vocab_));
  if (words > host_mask_words_) {  // no upload reads the old memory (see host_masks_)
    host_mask_words_ = std::max(words, 2 * host_mask_words_);
    host_masks_ = be_.alloc_host(host_mask_words_ * sizeof(uint32_t));
  }
  num_mask_rows_ = num_rows;
  return {static_cast<uint32_t*>(host_masks_.get()), words};
}

Tensor DeviceSampler::upload_masks() {
  const auto n = static_cast<int64_t>(std::exchange(num_mask_rows_, 0));
  if (n == 0) return Tensor();
  Tensor t = reserve(allowed_, Shape{n, backend::mask_words(vocab_)}, DType::kI32).rows(0, n);
  be_.copy_from_host_async(t, host_masks_.get());
  return t;
}

std::vector<SampledToken> DeviceSampler::sample(const Tensor& logits, std::span<const Row> rows) {
  const auto n = static_cast<int64_t>(rows.size());
  std::vector<backend::SamplingRow> params(rows.size());
  int64_t max_top = -1;
  for (size_t i = 0; i < rows.size(); ++i) {
    const Row& r = rows[i];
    backend::SamplingRow& p = params[i];
    p = sampling_row(*r.params);
    p.seed = r.seed;
    p.draw_index = r.draw_index;
    if (auto it = slots_.find(r.seq_id); it != slots_.end()) p.history_slot = it->second;
    PD_CHECK(r.mask_row < static_cast<int64_t>(num_mask_rows_))
        << "sample: mask row " << r.mask_row << " of " << num_mask_rows_;
    p.allowed_row = r.mask_row;
    max_top = std::max<int64_t>(max_top, std::min<int64_t>(p.num_logprobs, vocab_));
  }
  backend::SamplingBatch batch;
  batch.params = reserve(params_, Shape{n, backend::kSamplingRowWords}, DType::kI32).rows(0, n);
  be_.copy_from_host(batch.params, params.data(), DType::kI32);
  batch.output_counts = output_counts_;
  batch.seen = seen_;
  batch.allowed = upload_masks();
  // The outputs side by side in one buffer, read back in one copy:
  // ids [n], logprobs [n], top ids [n, cols], top logprobs [n, cols].
  const int64_t cols = std::max<int64_t>(max_top, 0),
                words_out = n * (max_top >= 0 ? 2 + 2 * cols : 1);
  Tensor all = reserve(results_, Shape{words_out}, DType::kI32).rows(0, words_out);
  auto* base = all.as<int32_t>();
  backend::SampledRows out;
  out.token_ids = Tensor(base, Shape{n}, DType::kI32);
  if (max_top >= 0) {
    out.logprobs = Tensor(base + n, Shape{n}, DType::kF32);
    out.top_ids = Tensor(base + 2 * n, Shape{n, cols}, DType::kI32);
    out.top_logprobs = Tensor(base + 2 * n + n * cols, Shape{n, cols}, DType::kF32);
  }
  be_.sample_rows(logits, batch, out);

  std::vector<int32_t> host(static_cast<size_t>(words_out));
  be_.copy_to_host(all, host.data());
  auto as_float = [](int32_t bits) { return std::bit_cast<float>(bits); };
  const auto at = [&](int64_t word) { return host[static_cast<size_t>(word)]; };
  std::vector<SampledToken> tokens(rows.size());
  for (int64_t i = 0; i < n; ++i) {
    SampledToken& t = tokens[static_cast<size_t>(i)];
    t.token_id = at(i);
    const int num_top = params[static_cast<size_t>(i)].num_logprobs;
    if (num_top < 0) continue;
    t.logprob = as_float(at(n + i));
    for (int64_t k = 0; k < std::min<int64_t>(num_top, cols); ++k)
      t.top.push_back({at(2 * n + i * cols + k), as_float(at(2 * n + n * cols + i * cols + k))});
  }
  return tokens;
}

std::vector<SampledToken> DeviceSampler::argmax(const Tensor& logits, const Tensor& computed) {
  const int64_t n = logits.dim(0);
  Tensor ids = computed;
  if (num_mask_rows_ > 0) {
    PD_CHECK(static_cast<int64_t>(num_mask_rows_) == n)
        << "argmax: " << num_mask_rows_ << " mask rows for " << n << " rows";
    const Tensor allowed = upload_masks();
    ids = reserve(results_, Shape{n}, DType::kI32).rows(0, n);
    be_.masked_argmax_rows(logits, allowed, ids);
  } else if (!ids.data()) {
    ids = reserve(results_, Shape{n}, DType::kI32).rows(0, n);
    be_.argmax_rows(logits, ids);
  }
  std::vector<int32_t> host(static_cast<size_t>(n));
  be_.copy_to_host(ids, host.data());
  std::vector<SampledToken> tokens(host.size());
  for (size_t i = 0; i < host.size(); ++i) tokens[i].token_id = host[i];
  return tokens;
}

}  // namespace pdserve::runner
