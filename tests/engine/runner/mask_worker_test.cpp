// MaskWorker's pool: a step's masks computed on several threads (and the
// caller's, in wait()) are those each sequence computes alone, row by row,
// whether written into the upload buffer's rows (words) or kept for host
// rows (drafts); the threads share one compiled grammar, cold at first.
#include "engine/runner/mask_worker.h"

#include <gtest/gtest.h>

#include <random>

#include "common/base/logging.h"
#include "engine/backend/sampling_row.h"
#include "tests/structured/grammar_test_util.h"

namespace pdserve::runner {
namespace {

constexpr int kSeqs = 12, kSteps = 30;

const protocol::OutputConstraint kSchema{
    protocol::OutputConstraint::Kind::kJsonSchema,
    R"({"type":"array","minItems":100,"items":{"type":"object","properties":{
        "name":{"type":"string","maxLength":12},"age":{"type":"integer","minimum":0,"maximum":120},
        "tags":{"type":"array","items":{"enum":["a","ab","ba"]}}},"required":["name","age"]}})",
    {}};

std::vector<std::unique_ptr<SequenceGrammar>> grammars(structured::GrammarCompiler& compiler) {
  std::vector<std::unique_ptr<SequenceGrammar>> out;
  for (int i = 0; i < kSeqs; ++i) {
    auto g = SequenceGrammar::create(compiler, kSchema, {});
    PD_CHECK(g.ok()) << g.status().to_string();
    out.push_back(std::move(g).value());
  }
  return out;
}

TEST(MaskWorkerTest, APoolGivesEachRowTheMaskItsSequenceComputesAlone) {
  const auto vocab = structured::test_vocabulary();
  const auto vocab_size = static_cast<size_t>(vocab->size());
  // The model's vocabulary a little wider than the tokenizer's, as real ones are.
  const auto words = static_cast<size_t>(backend::mask_words(vocab->size() + 40));
  structured::GrammarCompiler pooled_compiler(vocab), alone_compiler(vocab);
  auto pooled = grammars(pooled_compiler), alone = grammars(alone_compiler);
  MaskWorker worker(4);
  std::mt19937 rng(5);
  std::vector<uint32_t> buffer(kSeqs * words), expected(words);
  for (int step = 0; step < kSteps; ++step) {
    // Rows 0, 3, 6, ... also prepare a draft row (the first allowed token of the last step).
    std::vector<std::vector<int32_t>> drafts(kSeqs);
    std::vector<MaskWorker::Job> jobs;
    for (size_t i = 0; i < kSeqs; ++i) {
      if (i % 3 == 0) drafts[i] = {static_cast<int32_t>(1 + rng() % 255)};
      jobs.push_back({pooled[i].get(), drafts[i], std::span(buffer).subspan(i * words, words)});
    }
    ASSERT_TRUE(worker.start(std::move(jobs)).wait().ok());
    for (size_t i = 0; i < kSeqs; ++i) {
      ASSERT_TRUE(alone[i]->prepare(drafts[i]).ok());
      alone[i]->write_bits(expected);
      ASSERT_EQ(std::vector<uint32_t>(buffer.begin() + i * words, buffer.begin() + (i + 1) * words),
                expected)
          << "sequence " << i << ", step " << step;
      std::vector<float> a(2 * vocab_size, 0.0f), b(2 * vocab_size, 0.0f);
      pooled[i]->apply(a, vocab_size);
      alone[i]->apply(b, vocab_size);
      ASSERT_EQ(a, b) << "sequence " << i << ", step " << step;
      std::vector<int32_t> allowed;
      for (size_t t = 0; t < vocab_size; ++t)
        if (a[t] == 0.0f && !vocab->is_stop(static_cast<int32_t>(t)))
          allowed.push_back(static_cast<int32_t>(t));
      ASSERT_FALSE(allowed.empty());
      const int32_t token = allowed[rng() % allowed.size()];
      ASSERT_TRUE(pooled[i]->accept(token).ok());
      ASSERT_TRUE(alone[i]->accept(token).ok());
    }
  }
}

}  // namespace
}  // namespace pdserve::runner
