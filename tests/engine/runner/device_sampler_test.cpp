// DeviceSampler on the CPU backend against the host sampler (sample_token):
// the same tokens and logprobs step after step, so the backend's
// sample_rows follows the host semantics and the history slots (penalties)
// advance with the output, survive growth and start clean when reused.
#include "engine/runner/device_sampler.h"

#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "engine/runner/sampler.h"

namespace pdserve::runner {
namespace {

constexpr int kVocab = 50;

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

  // One step of every sequence, checked against sample_token.
  void step(std::vector<Seq*> seqs) {
    std::vector<float> logits = random_logits(seqs.size());
    backend::Tensor t =
        be_->alloc(backend::Shape{static_cast<int64_t>(seqs.size()), kVocab}, backend::DType::kF32);
    be_->copy_from_host(t, logits.data(), backend::DType::kF32);
    std::vector<DeviceSampler::Row> rows;
    for (Seq* s : seqs) {
      DeviceSampler::Row r{s->id, &s->params, s->seed, s->output.size(), {}};
      const std::vector<int32_t> blocked = blocked_stop_tokens(s->params, s->output.size(), eos_);
      if (!blocked.empty()) {
        r.allowed.assign(static_cast<size_t>(backend::mask_words(kVocab)), ~0u);
        for (int32_t b : blocked) r.allowed[static_cast<size_t>(b / 32)] &= ~(1u << (b % 32));
      }
      rows.push_back(std::move(r));
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

}  // namespace
}  // namespace pdserve::runner
