// DeviceSampler on the CPU backend against the host sampler (sample_token):
// the same tokens and logprobs step after step, so the backend's
// sample_rows follows the host semantics and the history slots (penalties)
// advance with the output, survive growth and start clean when reused; and
// its argmax under masks picks what sample() picks for greedy rows under them.
#include "engine/runner/device_sampler.h"

#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "engine/runner/sampler.h"

namespace pdserve::runner {
namespace {

constexpr int kVocab = 50;
const auto kWords = static_cast<size_t>(backend::mask_words(kVocab));

struct Seq {
  uint64_t id = 0;
  SamplingParams params;
  std::vector<int32_t> prompt, output;
  uint64_t seed = 0;
};

class DeviceSamplerTest : public ::testing::Test {
 protected:
  std::vector<int32_t> eos_{0};
  std::unique_ptr<backend::Backend> be_ = backend::make_cpu_backend(1);
  DeviceSampler sampler_{*be_, kVocab};
  std::mt19937 rng_{3};

  std::vector<float> random_logits(size_t rows) {
    std::normal_distribution<float> d(0.0f, 2.0f);
    std::vector<float> v(rows * kVocab);
    for (float& x : v) x = d(rng_);
    return v;
  }

  void add(Seq& s) { sampler_.add(s.id, s.params, s.prompt, s.output); }

  // words := every token allowed but `blocked`.
  static void block(std::span<uint32_t> words, const std::vector<int32_t>& blocked) {
    std::fill(words.begin(), words.end(), ~0u);
    for (int32_t b : blocked) words[static_cast<size_t>(b / 32)] &= ~(1u << (b % 32));
  }

  backend::Tensor upload(const std::vector<float>& logits, size_t rows) {
    backend::Tensor t =
        be_->alloc(backend::Shape{static_cast<int64_t>(rows), kVocab}, backend::DType::kF32);
    be_->copy_from_host(t, logits.data(), backend::DType::kF32);
    return t;
  }

  // One step of every sequence, checked against sample_token.
  void step(std::vector<Seq*> seqs) {
    std::vector<float> logits = random_logits(seqs.size());
    backend::Tensor t = upload(logits, seqs.size());
    std::vector<std::vector<int32_t>> blocked;
    int32_t num_masks = 0;
    for (Seq* s : seqs) {
      blocked.push_back(blocked_stop_tokens(s->params, s->output.size(), eos_));
      num_masks += blocked.back().empty() ? 0 : 1;
    }
    const std::span<uint32_t> masks = sampler_.mask_rows(static_cast<size_t>(num_masks));
    std::vector<DeviceSampler::Row> rows;
    int32_t mask_row = 0;
    for (size_t i = 0; i < seqs.size(); ++i) {
      const Seq* s = seqs[i];
      rows.push_back({s->id, &s->params, s->seed, s->output.size(), -1});
      if (blocked[i].empty()) continue;
      rows.back().mask_row = mask_row;
      block(masks.subspan(static_cast<size_t>(mask_row++) * kWords, kWords), blocked[i]);
    }
    std::vector<SampledToken> got = sampler_.sample(t, rows);
    ASSERT_EQ(got.size(), seqs.size());
    for (size_t i = 0; i < seqs.size(); ++i) {
      Seq& s = *seqs[i];
      std::vector<float> row(logits.begin() + static_cast<ptrdiff_t>(i * kVocab),
                             logits.begin() + static_cast<ptrdiff_t>((i + 1) * kVocab));
      SamplingContext ctx{&s.params, s.prompt, s.output, eos_, s.seed};
      const SampledToken want = sample_token(row, ctx);
      ASSERT_EQ(got[i].token_id, want.token_id)
          << "sequence " << s.id << " step " << s.output.size();
      EXPECT_EQ(got[i].logprob, want.logprob);
      ASSERT_EQ(got[i].top.size(), want.top.size());
      for (size_t k = 0; k < want.top.size(); ++k) {
        EXPECT_EQ(got[i].top[k].token_id, want.top[k].token_id);
        EXPECT_EQ(got[i].top[k].logprob, want.top[k].logprob);
      }
      s.output.push_back(want.token_id);
    }
  }
};

TEST_F(DeviceSamplerTest, MatchesTheHostSamplerForEveryParameter) {
  std::vector<Seq> seqs(6);
  for (size_t i = 0; i < seqs.size(); ++i) {
    seqs[i].id = i + 1;
    seqs[i].seed = 100 + i;
    seqs[i].prompt = {3, 4, 4, 9};
  }
  seqs[0].params.temperature = 0.0f;
  seqs[0].params.repetition_penalty = 1.8f;
  seqs[0].params.num_logprobs = 3;
  seqs[1].params.frequency_penalty = 0.7f;
  seqs[1].params.presence_penalty = 0.4f;
  seqs[1].params.top_k = 5;
  seqs[2].params.top_p = 0.6f;
  seqs[2].params.min_p = 0.05f;
  seqs[2].params.num_logprobs = 0;
  seqs[3].params.temperature = 0.7f;
  seqs[3].params.min_tokens = 6;
  seqs[3].params.stop_token_ids = {7};
  seqs[4].params.repetition_penalty = 0.5f;  // below 1: favours repeats
  seqs[4].params.temperature = 1.3f;
  seqs[5].params.temperature = 0.0f;  // plain greedy in a mixed batch
  for (Seq& s : seqs) add(s);
  std::vector<Seq*> all;
  for (Seq& s : seqs) all.push_back(&s);
  for (int i = 0; i < 12; ++i) step(all);
}

TEST_F(DeviceSamplerTest, HistoriesSurviveGrowthAndStartCleanWhenReused) {
  std::vector<Seq> seqs(20);  // more than the first 8 slots
  std::vector<Seq*> all;
  for (size_t i = 0; i < seqs.size(); ++i) {
    seqs[i].id = i + 1;
    seqs[i].seed = i;
    seqs[i].params.temperature = 0.0f;
    seqs[i].params.frequency_penalty = 1.5f;
    seqs[i].params.repetition_penalty = 1.3f;
    seqs[i].prompt = {static_cast<int32_t>(i)};
    seqs[i].output = {static_cast<int32_t>(i + 1), static_cast<int32_t>(i + 1)};
  }
  for (size_t i = 0; i < 5; ++i) {
    add(seqs[i]);
    all.push_back(&seqs[i]);
  }
  for (int i = 0; i < 4; ++i) step(all);
  for (size_t i = 5; i < seqs.size(); ++i) {  // grows the slots twice
    add(seqs[i]);
    all.push_back(&seqs[i]);
  }
  for (int i = 0; i < 4; ++i) step(all);
  sampler_.remove(seqs[0].id);  // its slot is reused by a new sequence
  Seq fresh;
  fresh.id = 100;
  fresh.params = seqs[0].params;
  fresh.prompt = {40};
  add(fresh);
  all[0] = &fresh;
  for (int i = 0; i < 4; ++i) step(all);
}

TEST_F(DeviceSamplerTest, RowsWithoutPenaltiesNeedNoHistory) {
  Seq plain;
  plain.id = 1;
  plain.params.top_p = 0.9f;
  plain.params.num_logprobs = 2;
  add(plain);
  for (int i = 0; i < 3; ++i) step({&plain});
}

TEST_F(DeviceSamplerTest, MaskedArgmaxPicksWhatTheSamplerPicksForGreedyRows) {
  constexpr size_t kRows = 6;
  SamplingParams greedy;
  greedy.temperature = 0.0f;
  std::vector<Seq> seqs(kRows);
  for (size_t i = 0; i < kRows; ++i) {
    seqs[i].id = i + 1;
    seqs[i].params = greedy;
    add(seqs[i]);
  }
  std::mt19937 rng(9);
  for (int round = 0; round < 20; ++round) {
    std::vector<float> logits = random_logits(kRows);
    logits[3] = logits[7] = 20.0f;  // a tie in row 0
    std::vector<std::vector<uint32_t>> masks(kRows, std::vector<uint32_t>(kWords));
    for (size_t r = 0; r < kRows; ++r)
      for (uint32_t& w : masks[r]) w = static_cast<uint32_t>(rng()) & static_cast<uint32_t>(rng());
    masks[1].assign(kWords, 0u);   // nothing allowed: token 0, as the sampler
    masks[2].assign(kWords, ~0u);  // everything allowed: the plain argmax
    masks[0][0] |= 1u << 3 | 1u << 7;
    const backend::Tensor t = upload(logits, kRows);
    std::vector<DeviceSampler::Row> rows;
    std::span<uint32_t> host = sampler_.mask_rows(kRows);
    for (size_t r = 0; r < kRows; ++r) {
      std::copy(masks[r].begin(), masks[r].end(),
                host.begin() + static_cast<ptrdiff_t>(r * kWords));
      rows.push_back({seqs[r].id, &seqs[r].params, 0, 0, static_cast<int32_t>(r)});
    }
    const std::vector<SampledToken> sampled = sampler_.sample(t, rows);
    host = sampler_.mask_rows(kRows);  // consumed by sample(): written again
    for (size_t r = 0; r < kRows; ++r)
      std::copy(masks[r].begin(), masks[r].end(),
                host.begin() + static_cast<ptrdiff_t>(r * kWords));
    const std::vector<SampledToken> picked = sampler_.argmax(t, backend::Tensor());
    ASSERT_EQ(picked.size(), kRows);
    for (size_t r = 0; r < kRows; ++r)
      ASSERT_EQ(picked[r].token_id, sampled[r].token_id) << "row " << r << ", round " << round;
    EXPECT_EQ(picked[0].token_id, 3);
    EXPECT_EQ(picked[1].token_id, 0);
    const std::vector<SampledToken> plain = sampler_.argmax(t, backend::Tensor());  // no masks
    EXPECT_EQ(plain[2].token_id, picked[2].token_id);
  }
}

}  // namespace
}  // namespace pdserve::runner
