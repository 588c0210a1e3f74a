// The fixture of the sample_rows tests (cuda_sample_rows_test.cpp,
// cuda_sample_rows_chunks_test.cpp): logits, histories and masks uploaded to
// a backend, the op run, its outputs read back; the CPU's distribution of a
// row; a chi-square check of draws against it. Skips without a GPU.
#pragma once

#include <span>
#include <string>

#include "engine/backend/cpu/cpu_sampler.h"
#include "tests/engine/backend/cuda_ops_fixture.h"

namespace pdserve::backend {

inline constexpr int64_t kLlamaVocab = 128256;

struct History {
  std::vector<int32_t> counts;  // [slots, vocab]
  std::vector<int32_t> seen;    // [slots, mask_words(vocab)]
};

struct Sampled {
  std::vector<int32_t> ids;
  std::vector<float> logprobs;
  std::vector<int32_t> top_ids;  // [rows, max_top]
  std::vector<float> top_logprobs;
  std::vector<int32_t> counts;  // the history's counts afterwards
  std::vector<int32_t> seen;    // and its seen bits
};

class CudaSampleRowsTest : public CudaOpsTest {
 protected:
  std::mt19937 fixed_rng{12345};

  // Normal logits rounded to bf16, [rows, vocab].
  std::vector<float> logits(int64_t rows, int64_t vocab, float scale) {
    std::normal_distribution<float> d(0.0f, scale);
    std::vector<float> v(static_cast<size_t>(rows * vocab));
    for (float& x : v) x = bf16_to_f32(f32_to_bf16(d(fixed_rng)));
    return v;
  }

  Tensor upload_i32(Backend& be, const std::vector<int32_t>& v, Shape s) {
    Tensor t = be.alloc(s, DType::kI32);
    be.copy_from_host(t, v.data(), DType::kI32);
    return t;
  }

  Sampled run(Backend& be, const std::vector<float>& x, int64_t vocab,
              const std::vector<SamplingRow>& params, const History* history = nullptr,
              const std::vector<uint32_t>& allowed = {}, int max_top = -1) {
    const auto rows = static_cast<int64_t>(params.size());
    const int64_t words = mask_words(vocab);
    Tensor t = be.alloc(Shape{rows, vocab}, be.activation_dtype());
    be.copy_from_host(t, x.data(), DType::kF32);
    SamplingBatch batch;
    batch.params = be.alloc(Shape{rows, kSamplingRowWords}, DType::kI32);
    be.copy_from_host(batch.params, params.data(), DType::kI32);
    if (history) {
      const auto slots = static_cast<int64_t>(history->counts.size()) / vocab;
      batch.output_counts = upload_i32(be, history->counts, Shape{slots, vocab});
      batch.seen = upload_i32(be, history->seen, Shape{slots, words});
    }
    if (!allowed.empty()) {
      std::vector<int32_t> words_i32(allowed.begin(), allowed.end());
      batch.allowed =
          upload_i32(be, words_i32, Shape{static_cast<int64_t>(allowed.size()) / words, words});
    }
    SampledRows out;
    out.token_ids = be.alloc(Shape{rows}, DType::kI32);
    if (max_top >= 0) {
      out.logprobs = be.alloc(Shape{rows}, DType::kF32);
      out.top_ids = be.alloc(Shape{rows, max_top}, DType::kI32);
      out.top_logprobs = be.alloc(Shape{rows, max_top}, DType::kF32);
    }
    be.sample_rows(t, batch, out);
    Sampled s;
    s.ids.resize(static_cast<size_t>(rows));
    be.copy_to_host(out.token_ids, s.ids.data());
    if (max_top >= 0) {
      s.logprobs.resize(static_cast<size_t>(rows));
      s.top_ids.resize(static_cast<size_t>(rows * max_top));
      s.top_logprobs.resize(s.top_ids.size());
      be.copy_to_host(out.logprobs, s.logprobs.data());
      if (max_top > 0) {
        be.copy_to_host(out.top_ids, s.top_ids.data());
        be.copy_to_host(out.top_logprobs, s.top_logprobs.data());
      }
    }
    if (history) {
      s.counts.resize(history->counts.size());
      be.copy_to_host(batch.output_counts, s.counts.data());
      s.seen.resize(history->seen.size());
      be.copy_to_host(batch.seen, s.seen.data());
    }
    return s;
  }

  // The CPU's distribution of row `r` (as cpu_sample_rows.cpp processes it).
  std::vector<double> cpu_probs(const std::vector<float>& x, int64_t vocab, int64_t r,
                                const SamplingRow& p, const History* history = nullptr) {
    std::vector<float> row(x.begin() + r * vocab, x.begin() + (r + 1) * vocab);
    if (history && p.history_slot >= 0) {
      const int64_t words = mask_words(vocab);
      for (int64_t t = 0; t < vocab; ++t) {
        const int32_t c = history->counts[static_cast<size_t>(p.history_slot * vocab + t)];
        const bool seen =
            (static_cast<uint32_t>(
                 history->seen[static_cast<size_t>(p.history_slot * words + t / 32)]) >>
             (t % 32)) &
            1u;
        row[static_cast<size_t>(t)] = penalized(row[static_cast<size_t>(t)], seen, c, p);
      }
    }
    for (float& v : row) v /= p.temperature;
    const cpu::SortedDistribution d = cpu::filtered(row, p);
    std::vector<double> probs(static_cast<size_t>(vocab), 0.0);
    double total = 0;
    for (size_t i = 0; i < d.keep; ++i) total += d.probs[i];
    for (size_t i = 0; i < d.keep; ++i) probs[static_cast<size_t>(d.order[i])] = d.probs[i] / total;
    return probs;
  }

  // Draws `ids` against the distribution `probs` (over the vocabulary): no
  // token outside its support, and a chi-square (bins of expectation < 5
  // pooled) under df + 7 sqrt(2 df) + 20, about 7 standard deviations.
  void expect_follows(const std::vector<double>& probs, const std::vector<int32_t>& ids,
                      const std::string& what) {
    const auto draws = static_cast<double>(ids.size());
    std::vector<double> seen(probs.size(), 0.0);
    for (int32_t t : ids) ++seen[static_cast<size_t>(t)];
    double chi2 = 0, rest_seen = 0, rest_expected = 0;
    int bins = 0;
    for (size_t t = 0; t < probs.size(); ++t) {
      const double e = probs[t] * draws, o = seen[t];
      if (e == 0) {
        EXPECT_EQ(o, 0) << what << ": token " << t << " is outside the CPU's set";
      } else if (e < 5) {
        rest_seen += o;
        rest_expected += e;
      } else {
        chi2 += (o - e) * (o - e) / e;
        ++bins;
      }
    }
    if (rest_expected > 0) {
      chi2 += (rest_seen - rest_expected) * (rest_seen - rest_expected) / rest_expected;
      ++bins;
    }
    const double df = std::max(bins - 1, 1);
    EXPECT_LT(chi2, df + 7 * std::sqrt(2 * df) + 20) << what << ", " << bins << " bins";
  }

  // A history of `slots` sequences: a few prompt tokens and repeated outputs.
  History history(int64_t slots, int64_t vocab, int64_t spread) {
    History h{std::vector<int32_t>(static_cast<size_t>(slots * vocab), 0),
              std::vector<int32_t>(static_cast<size_t>(slots * mask_words(vocab)), 0)};
    std::uniform_int_distribution<int64_t> tok(0, spread - 1);
    auto mark = [&](int64_t s, int64_t t) {
      auto& w = h.seen[static_cast<size_t>(s * mask_words(vocab) + t / 32)];
      w = static_cast<int32_t>(static_cast<uint32_t>(w) | (1u << (t % 32)));
    };
    for (int64_t s = 0; s < slots; ++s) {
      for (int i = 0; i < 20; ++i) {  // generated: counted and seen
        const int64_t t = tok(fixed_rng);
        ++h.counts[static_cast<size_t>(s * vocab + t)];
        mark(s, t);
      }
      for (int i = 0; i < 10; ++i) mark(s, tok(fixed_rng));  // in the prompt
    }
    return h;
  }
};

inline SamplingRow row_with(float temperature, uint64_t seed) {
  SamplingRow p;
  p.temperature = temperature;
  p.seed = seed;
  return p;
}

}  // namespace pdserve::backend
