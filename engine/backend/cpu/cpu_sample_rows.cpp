// CpuBackend::sample_rows: the host sampler (cpu_sampler.h) row by row, the
// reference the CUDA kernel is tested against; masked_argmax_rows, its
// greedy rows' pick alone.
#include <limits>
#include <vector>

#include "engine/backend/cpu/cpu_backend.h"
#include "engine/backend/cpu/cpu_sampler.h"

namespace pdserve::backend::cpu {
namespace {

bool bit(const int32_t* words, int64_t t) {
  return (static_cast<uint32_t>(words[t >> 5]) >> (t & 31)) & 1u;
}

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

}  // namespace

void CpuBackend::masked_argmax_rows(const Tensor& x, const Tensor& allowed, Tensor& out) {
  check_masked_argmax_rows(x, allowed, out);
  PD_CHECK(x.dtype() == DType::kF32) << "masked_argmax_rows: x is " << dtype_name(x.dtype());
  const int64_t vocab = x.dim(1), words = allowed.dim(1);
  for (int64_t r = 0; r < x.dim(0); ++r) {
    const float* row = x.as<float>() + r * vocab;
    const int32_t* mask = allowed.as<int32_t>() + r * words;
    // As argmax() (std::max_element) over the masked row: the first of the largest.
    int32_t best = 0;
    float best_v = bit(mask, 0) ? row[0] : kNegInf;
    for (int64_t t = 1; t < vocab; ++t) {
      const float v = bit(mask, t) ? row[t] : kNegInf;
      if (best_v < v) {
        best_v = v;
        best = static_cast<int32_t>(t);
      }
    }
    out.as<int32_t>()[r] = best;
  }
}

void CpuBackend::sample_rows(const Tensor& logits, const SamplingBatch& batch, SampledRows& out) {
  check_sample_rows(logits, batch, out);
  const int64_t vocab = logits.dim(1), words = mask_words(vocab);
  const int64_t num_slots = batch.output_counts.data() ? batch.output_counts.dim(0) : 0;
  const int64_t num_masks = batch.allowed.data() ? batch.allowed.dim(0) : 0;
  const int64_t max_top = out.logprobs.data() ? out.top_ids.dim(1) : -1;
  const auto* rows = reinterpret_cast<const SamplingRow*>(batch.params.data());
  std::vector<float> x(static_cast<size_t>(vocab)), raw;
  std::vector<std::pair<int32_t, float>> top;
  for (int64_t r = 0; r < logits.dim(0); ++r) {
    const SamplingRow& p = rows[r];
    load_row_f32(logits, r, x.data());
    if (p.num_logprobs >= 0) raw = x;
    if (p.allowed_row >= 0 && p.allowed_row < num_masks) {
      const int32_t* allowed = batch.allowed.as<int32_t>() + p.allowed_row * words;
      for (int64_t t = 0; t < vocab; ++t)
        if (!bit(allowed, t)) x[static_cast<size_t>(t)] = kNegInf;
    }
    int32_t* counts = nullptr;
    int32_t* seen = nullptr;
    if (p.history_slot >= 0 && p.history_slot < num_slots) {
      counts = batch.output_counts.as<int32_t>() + p.history_slot * vocab;
      seen = batch.seen.as<int32_t>() + p.history_slot * words;
      for (int64_t t = 0; t < vocab; ++t)
        if (bit(seen, t))
          x[static_cast<size_t>(t)] = penalized(x[static_cast<size_t>(t)], true, counts[t], p);
    }
    int32_t token;
    if (p.temperature <= kGreedyTemperature) {
      token = argmax(x);
    } else {
      for (float& v : x) v /= p.temperature;
      token = draw(x, p, uniform_draw(p.seed, p.draw_index));
    }
    out.token_ids.as<int32_t>()[r] = token;
    if (counts) {
      ++counts[token];
      seen[token >> 5] =
          static_cast<int32_t>(static_cast<uint32_t>(seen[token >> 5]) | (1u << (token & 31)));
    }
    if (p.num_logprobs < 0 || max_top < 0) continue;
    const int n = static_cast<int>(std::min<int64_t>(p.num_logprobs, max_top));
    out.logprobs.as<float>()[r] = token_logprobs(raw, token, n, &top);
    for (size_t i = 0; i < top.size(); ++i) {
      out.top_ids.as<int32_t>()[r * max_top + static_cast<int64_t>(i)] = top[i].first;
      out.top_logprobs.as<float>()[r * max_top + static_cast<int64_t>(i)] = top[i].second;
    }
  }
}

}  // namespace pdserve::backend::cpu
