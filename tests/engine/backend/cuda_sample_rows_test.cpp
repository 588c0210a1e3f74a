// sample_rows on the GPU against the CPU backend's (the host sampler's
// semantics): greedy and top-k 1 give the argmax, penalties and masks give
// the CPU's tokens, seeded draws do not depend on the batch, filtered draws
// stay inside the CPU's candidate set, logprobs match log_softmax, and
// many draws follow the CPU's distribution. Logits and seeds are fixed, so
// the statistical bounds (loose: about 7 standard deviations) cannot flake.
#include <numeric>
#include <span>

#include "engine/backend/cpu/cpu_sampler.h"
#include "tests/engine/backend/cuda_ops_fixture.h"

namespace pdserve::backend {
namespace {

constexpr int64_t kLlamaVocab = 128256;

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
      batch.prompt_seen = upload_i32(be, history->seen, Shape{slots, words});
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
        row[static_cast<size_t>(t)] = penalized(row[static_cast<size_t>(t)], seen || c > 0, c, p);
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

  // A history of `slots` sequences: a few prompt tokens and repeated outputs.
  History history(int64_t slots, int64_t vocab, int64_t spread) {
    History h{std::vector<int32_t>(static_cast<size_t>(slots * vocab), 0),
              std::vector<int32_t>(static_cast<size_t>(slots * mask_words(vocab)), 0)};
    std::uniform_int_distribution<int64_t> tok(0, spread - 1);
    for (int64_t s = 0; s < slots; ++s) {
      for (int i = 0; i < 20; ++i) ++h.counts[static_cast<size_t>(s * vocab + tok(fixed_rng))];
      for (int i = 0; i < 10; ++i) {
        const int64_t t = tok(fixed_rng);
        auto& w = h.seen[static_cast<size_t>(s * mask_words(vocab) + t / 32)];
        w = static_cast<int32_t>(static_cast<uint32_t>(w) | (1u << (t % 32)));
      }
    }
    return h;
  }
};

SamplingRow row_with(float temperature, uint64_t seed) {
  SamplingRow p;
  p.temperature = temperature;
  p.seed = seed;
  return p;
}

TEST_F(CudaSampleRowsTest, GreedyIsTheArgmax) {
  const int64_t rows = 8;
  const std::vector<float> x = logits(rows, kLlamaVocab, 3.0f);
  std::vector<SamplingRow> params(rows, row_with(0.0f, 0));
  const Sampled g = run(*gpu, x, kLlamaVocab, params);
  for (int64_t r = 0; r < rows; ++r) {
    const auto begin = x.begin() + r * kLlamaVocab;
    EXPECT_EQ(g.ids[static_cast<size_t>(r)], std::max_element(begin, begin + kLlamaVocab) - begin);
  }
  // top_k = 1 draws the argmax too, whatever the seed.
  for (int64_t r = 0; r < rows; ++r) {
    params[static_cast<size_t>(r)] = row_with(1.0f, static_cast<uint64_t>(r) * 7919);
    params[static_cast<size_t>(r)].top_k = 1;
  }
  EXPECT_EQ(run(*gpu, x, kLlamaVocab, params).ids, g.ids);
}

TEST_F(CudaSampleRowsTest, PenaltiesAndMasksGiveTheCpuTokens) {
  const int64_t rows = 64, vocab = 4096;
  const std::vector<float> x = logits(rows, vocab, 1.0f);
  History h = history(rows, vocab, 64);  // histories over the first 64 tokens, often the argmax
  std::vector<SamplingRow> params(rows, row_with(0.0f, 0));
  std::vector<uint32_t> allowed;
  std::uniform_int_distribution<uint32_t> bits;
  for (int64_t r = 0; r < rows; ++r) {
    SamplingRow& p = params[static_cast<size_t>(r)];
    p.history_slot = static_cast<int32_t>(rows - 1 - r);  // slots out of row order
    p.repetition_penalty = r % 3 == 0 ? 1.0f : 0.5f + 0.05f * static_cast<float>(r);
    p.frequency_penalty = r % 2 ? 0.3f : 0.0f;
    p.presence_penalty = r % 4 ? -0.2f : 0.7f;
    if (r % 5 == 0) {
      p.allowed_row = static_cast<int32_t>(allowed.size() / mask_words(vocab));
      for (int64_t w = 0; w < mask_words(vocab); ++w) allowed.push_back(bits(fixed_rng));
    }
  }
  for (int64_t r = 0; r < rows; ++r) {  // the same rows sampled
    params.push_back(params[static_cast<size_t>(r)]);
    params.back().temperature = 0.9f;
    params.back().seed = static_cast<uint64_t>(r);
    params.back().history_slot = -1;
  }
  std::vector<float> both = x;
  both.insert(both.end(), x.begin(), x.end());
  const Sampled c = run(*cpu, both, vocab, params, &h, allowed);
  const Sampled g = run(*gpu, both, vocab, params, &h, allowed);
  for (int64_t r = 0; r < rows; ++r)
    EXPECT_EQ(g.ids[static_cast<size_t>(r)], c.ids[static_cast<size_t>(r)]) << "row " << r;
  EXPECT_EQ(g.counts, c.counts);               // each slot counted its row's token
  for (int64_t r = rows; r < 2 * rows; ++r) {  // masked tokens are never drawn
    const SamplingRow& p = params[static_cast<size_t>(r)];
    if (p.allowed_row < 0) continue;
    const auto t = static_cast<size_t>(g.ids[static_cast<size_t>(r)]);
    EXPECT_TRUE(
        (allowed[static_cast<size_t>(p.allowed_row * mask_words(vocab)) + t / 32] >> (t % 32)) &
        1u);
  }
}

TEST_F(CudaSampleRowsTest, SeededTokensDoNotDependOnTheBatch) {
  const int64_t rows = 32;
  const std::vector<float> x = logits(rows, kLlamaVocab, 2.0f);
  std::vector<SamplingRow> params;
  for (int64_t r = 0; r < rows; ++r) {
    SamplingRow p = row_with(0.5f + 0.05f * static_cast<float>(r), 1000 + static_cast<uint64_t>(r));
    p.draw_index = static_cast<uint64_t>(r) * 3;
    if (r % 4 == 1) p.top_k = 40;
    if (r % 4 == 2) p.top_p = 0.9f;
    if (r % 4 == 3) p.min_p = 0.05f;
    params.push_back(p);
  }
  const Sampled all = run(*gpu, x, kLlamaVocab, params);
  EXPECT_EQ(run(*gpu, x, kLlamaVocab, params).ids, all.ids);  // run to run
  std::vector<int64_t> order(rows);
  std::iota(order.begin(), order.end(), 0);
  std::shuffle(order.begin(), order.end(), fixed_rng);
  std::vector<float> shuffled_x;
  std::vector<SamplingRow> shuffled_params;
  for (int64_t r : order) {
    shuffled_x.insert(shuffled_x.end(), x.begin() + r * kLlamaVocab,
                      x.begin() + (r + 1) * kLlamaVocab);
    shuffled_params.push_back(params[static_cast<size_t>(r)]);
  }
  const Sampled shuffled = run(*gpu, shuffled_x, kLlamaVocab, shuffled_params);
  for (size_t i = 0; i < order.size(); ++i)
    EXPECT_EQ(shuffled.ids[i], all.ids[static_cast<size_t>(order[i])]);
  for (int64_t r : {0, 5, 31}) {  // alone
    const std::vector<float> one(x.begin() + r * kLlamaVocab, x.begin() + (r + 1) * kLlamaVocab);
    EXPECT_EQ(run(*gpu, one, kLlamaVocab, {params[static_cast<size_t>(r)]}).ids[0],
              all.ids[static_cast<size_t>(r)]);
  }
}

TEST_F(CudaSampleRowsTest, FilteredDrawsStayInTheCpuCandidates) {
  const int64_t rows = 96;
  const std::vector<float> x = logits(1, kLlamaVocab, 2.5f);
  History h = history(1, kLlamaVocab, 2000);
  std::vector<float> many;
  std::vector<SamplingRow> params;
  for (int64_t r = 0; r < rows; ++r) {
    many.insert(many.end(), x.begin(), x.end());
    SamplingRow p = row_with(r % 2 ? 0.7f : 1.2f, static_cast<uint64_t>(r));
    switch (r % 4) {
      case 0: p.top_k = 50; break;
      case 1: p.top_p = 0.3f; break;
      case 2: p.min_p = 0.2f; break;
      default:
        p.top_k = 200;
        p.top_p = 0.5f;
        p.min_p = 0.01f;
        p.repetition_penalty = 1.3f;
        p.frequency_penalty = 0.5f;
        p.history_slot = 0;
    }
    params.push_back(p);
  }
  // Rows must not share a history slot: the penalized ones run one by one.
  std::vector<SamplingRow> penalized_rows, plain_rows;
  for (const SamplingRow& p : params)
    (p.history_slot >= 0 ? penalized_rows : plain_rows).push_back(p);
  many.resize(plain_rows.size() * static_cast<size_t>(kLlamaVocab));
  const Sampled plain = run(*gpu, many, kLlamaVocab, plain_rows);
  for (size_t r = 0; r < plain_rows.size(); ++r) {
    const std::vector<double> probs = cpu_probs(x, kLlamaVocab, 0, plain_rows[r]);
    EXPECT_GT(probs[static_cast<size_t>(plain.ids[r])], 0.0) << "row " << r;
  }
  for (const SamplingRow& p : penalized_rows) {
    const Sampled one = run(*gpu, x, kLlamaVocab, {p}, &h);
    const std::vector<double> probs = cpu_probs(x, kLlamaVocab, 0, p, &h);
    EXPECT_GT(probs[static_cast<size_t>(one.ids[0])], 0.0) << "seed " << p.seed;
  }
}

TEST_F(CudaSampleRowsTest, LogprobsMatchLogSoftmax) {
  const int64_t rows = 16, max_top = 5;
  const std::vector<float> x = logits(rows, kLlamaVocab, 3.0f);
  std::vector<SamplingRow> params;
  for (int64_t r = 0; r < rows; ++r) {
    SamplingRow p = row_with(r % 2 ? 1.0f : 0.0f, static_cast<uint64_t>(r));
    p.num_logprobs = static_cast<int32_t>(r % 7);  // up to 6: capped at max_top
    if (r == 3) p.num_logprobs = -1;
    params.push_back(p);
  }
  const Sampled c = run(*cpu, x, kLlamaVocab, params, nullptr, {}, max_top);
  const Sampled g = run(*gpu, x, kLlamaVocab, params, nullptr, {}, max_top);
  for (int64_t r = 0; r < rows; ++r) {
    const auto ri = static_cast<size_t>(r);
    if (params[ri].num_logprobs < 0) continue;
    std::vector<float> lsm;
    cpu::log_softmax(std::span<const float>(x.data() + r * kLlamaVocab, kLlamaVocab), lsm);
    EXPECT_NEAR(g.logprobs[ri], lsm[static_cast<size_t>(g.ids[ri])], 1e-3) << "row " << r;
    const int n = std::min<int>(params[ri].num_logprobs, max_top);
    for (int k = 0; k < n; ++k) {
      const size_t at = ri * max_top + static_cast<size_t>(k);
      EXPECT_NEAR(g.top_logprobs[at], c.top_logprobs[at], 1e-3) << "row " << r << " top " << k;
      EXPECT_NEAR(g.top_logprobs[at], lsm[static_cast<size_t>(g.top_ids[at])], 1e-3);
      if (k > 0) {  // ranked by raw logit, ties by id
        const float prev = x[static_cast<size_t>(r * kLlamaVocab + g.top_ids[at - 1])],
                    cur = x[static_cast<size_t>(r * kLlamaVocab + g.top_ids[at])];
        EXPECT_TRUE(prev > cur || (prev == cur && g.top_ids[at - 1] < g.top_ids[at]));
      }
    }
  }
}

TEST_F(CudaSampleRowsTest, FrequenciesFollowTheCpuDistribution) {
  const int64_t vocab = 64, draws = 40000;
  const std::vector<float> x = logits(1, vocab, 1.5f);
  History h = history(draws, vocab, vocab);  // per draw the same history (one slot each)
  for (int64_t s = 1; s < draws; ++s) {
    std::copy_n(h.counts.begin(), vocab, h.counts.begin() + s * vocab);
    std::copy_n(h.seen.begin(), mask_words(vocab), h.seen.begin() + s * mask_words(vocab));
  }
  std::vector<SamplingRow> variants(5, row_with(1.0f, 0));
  variants[0].temperature = 0.8f;
  variants[1].top_k = 10;
  variants[2].top_p = 0.8f;
  variants[3].min_p = 0.1f;
  variants[4].temperature = 1.3f;
  variants[4].top_p = 0.95f;
  variants[4].repetition_penalty = 1.4f;
  variants[4].frequency_penalty = 0.2f;
  variants[4].presence_penalty = 0.3f;
  std::vector<float> many;
  for (int64_t d = 0; d < draws; ++d) many.insert(many.end(), x.begin(), x.end());
  for (size_t v = 0; v < variants.size(); ++v) {
    std::vector<SamplingRow> params(static_cast<size_t>(draws), variants[v]);
    for (int64_t d = 0; d < draws; ++d) {
      params[static_cast<size_t>(d)].seed = static_cast<uint64_t>(d);
      if (has_penalties(variants[v]))
        params[static_cast<size_t>(d)].history_slot = static_cast<int32_t>(d);
    }
    const Sampled g = run(*gpu, many, vocab, params, &h);
    SamplingRow p = variants[v];
    if (has_penalties(p)) p.history_slot = 0;
    const std::vector<double> probs = cpu_probs(x, vocab, 0, p, &h);
    std::vector<double> seen(static_cast<size_t>(vocab), 0.0);
    for (int32_t t : g.ids) ++seen[static_cast<size_t>(t)];
    double chi2 = 0, rest_seen = 0, rest_expected = 0;
    int bins = 0;
    for (int64_t t = 0; t < vocab; ++t) {
      const double e = probs[static_cast<size_t>(t)] * draws, o = seen[static_cast<size_t>(t)];
      if (e == 0) {
        EXPECT_EQ(o, 0) << "variant " << v << ": token " << t << " is outside the CPU's set";
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
    EXPECT_LT(chi2, df + 7 * std::sqrt(2 * df) + 20) << "variant " << v << ", " << bins << " bins";
  }
}

}  // namespace
}  // namespace pdserve::backend
