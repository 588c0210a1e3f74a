// sample_rows on the GPU against the CPU backend's (the host sampler's
// semantics): greedy and top-k 1 give the argmax, penalties and masks give
// the CPU's tokens, seeded draws do not depend on the batch, filtered draws
// stay inside the CPU's candidate set, logprobs match log_softmax, and
// many draws follow the CPU's distribution. Logits and seeds are fixed, so
// the statistical bounds (loose: about 7 standard deviations) cannot flake.
#include <numeric>

#include "tests/engine/backend/cuda_sample_rows_fixture.h"

namespace pdserve::backend {
namespace {

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
  EXPECT_EQ(g.counts, c.counts);               // each slot counted its row's token ...
  EXPECT_EQ(g.seen, c.seen);                   // ... and set its seen bit
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
    expect_follows(cpu_probs(x, vocab, 0, p, &h), g.ids, "variant " + std::to_string(v));
  }
}

}  // namespace
}  // namespace pdserve::backend
