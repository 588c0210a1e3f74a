// Decode steps replayed from CUDA graphs against the same steps run eagerly
// on the demo model: logits within bf16 tolerance and the same greedy
// tokens at batch sizes on the menu (1, 8, 16) and padded ones (3, 13);
// steps that are not pure decode run eagerly; a failed recording leaves the
// runner eager and correct. Skipped without a GPU.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <random>

#include "engine/runner/llm_runner.h"

namespace pdserve::runner {
namespace {

const std::filesystem::path kDemo =
    std::filesystem::path(PDSERVE_SOURCE_DIR) / "models" / "pdserve-demo";
constexpr int kMaxNumSeqs = 16;
constexpr int kBlocksPerSeq = 8;  // 128 tokens of room at block size 16

std::unique_ptr<LlmRunner> cuda_runner(bool graphs) {
  auto be = backend::make_cuda_backend(0);
  PD_CHECK(be.ok()) << be.status().to_string();
  LlmRunnerOptions options;
  options.num_blocks = kMaxNumSeqs * kBlocksPerSeq + 1;
  auto r = LlmRunner::load(kDemo, std::move(*be), options);
  PD_CHECK(r.ok()) << r.status().to_string();
  if (graphs) (*r)->use_decode_graphs(kMaxNumSeqs);
  return std::move(r).value();
}

// n greedy sequences with random prompts of 5 to 60 tokens, added to every
// runner and prefilled in one step; returns their first decode steps (inputs
// still to be set).
std::vector<SeqStep> start(const std::vector<LlmRunner*>& runners, int n, uint64_t first_id,
                           std::mt19937& rng) {
  std::vector<SeqStep> prefill;
  for (int i = 0; i < n; ++i) {
    SequenceInfo info;
    info.seq_id = first_id + static_cast<uint64_t>(i);
    info.sampling.temperature = 0;
    const int len = std::uniform_int_distribution<int>(5, 60)(rng);
    for (int t = 0; t < len; ++t)
      info.prompt_ids.push_back(std::uniform_int_distribution<int>(5, 4000)(rng));
    SeqStep s{info.seq_id, info.prompt_ids, 0, {}, true};
    for (int b = 0; b < kBlocksPerSeq; ++b) s.block_table.push_back(i * kBlocksPerSeq + b);
    for (LlmRunner* r : runners) PD_CHECK(r->add_sequence(info).ok());
    prefill.push_back(std::move(s));
  }
  for (LlmRunner* r : runners) PD_CHECK(r->execute(StepBatch{{}, {}, prefill}).ok());
  for (SeqStep& s : prefill) {
    s.num_computed = static_cast<int32_t>(s.input_ids.size());
    s.input_ids = {kLastSampled};
  }
  return prefill;
}

void finish(const std::vector<LlmRunner*>& runners, const std::vector<SeqStep>& seqs) {
  for (LlmRunner* r : runners)
    for (const SeqStep& s : seqs) r->remove_sequence(s.seq_id);
}

class CudaGraphRunnerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!backend::cuda_available()) GTEST_SKIP() << "no CUDA device";
  }
};

// Teacher-forced: both runners get the same tokens (eager's greedy choice)
// and their logits are compared. The two paths differ only in the order of
// fp32 sums (the graph's split-K plan is sized for max_model_len, its GEMMs
// run at the padded batch and cuBLASLt may pick another algorithm), each
// difference at most flipping a bf16 rounding (2^-8 relative) of an
// activation. Through six layers these add up to about 1e-2 relative L2 (an
// H100 measured 1.1e-2 at worst); a wrong input, KV slot or block table
// moves the logits by order 1, so the bound is 3e-2.
TEST_F(CudaGraphRunnerTest, ReplayedLogitsMatchEagerAtPaddedAndExactSizes) {
  auto graph = cuda_runner(true), eager = cuda_runner(false);
  ASSERT_FALSE(graph->decode_graph_kernels().empty());
  const auto vocab = static_cast<size_t>(graph->config().vocab_size);
  std::mt19937 rng(7);
  uint64_t next_id = 1;
  for (int batch : {1, 3, 8, 13, 16}) {
    std::vector<SeqStep> seqs = start({graph.get(), eager.get()}, batch, next_id, rng);
    next_id += static_cast<uint64_t>(batch);
    std::vector<int32_t> tokens(static_cast<size_t>(batch), 1);
    const int64_t replays_before = graph->num_graph_steps();
    for (int step = 0; step < 12; ++step) {
      for (size_t i = 0; i < seqs.size(); ++i) seqs[i].input_ids = {tokens[i]};
      StepBatch b{{}, {}, seqs};
      auto g = graph->compute_logits(b);
      auto e = eager->compute_logits(b);
      ASSERT_TRUE(g.ok() && e.ok());
      ASSERT_EQ(g->size(), static_cast<size_t>(batch) * vocab);
      for (size_t i = 0; i < seqs.size(); ++i) {
        double num = 0, den = 0;
        const float* gr = g->data() + i * vocab;
        const float* er = e->data() + i * vocab;
        for (size_t v = 0; v < vocab; ++v) {
          num += (gr[v] - er[v]) * static_cast<double>(gr[v] - er[v]);
          den += er[v] * static_cast<double>(er[v]);
        }
        EXPECT_LT(std::sqrt(num / den), 3e-2)
            << "batch " << batch << " step " << step << " row " << i;
        tokens[i] = static_cast<int32_t>(std::max_element(er, er + vocab) - er);
        ++seqs[i].num_computed;
      }
    }
    EXPECT_EQ(graph->num_graph_steps() - replays_before, 12) << "batch " << batch;
    finish({graph.get(), eager.get()}, seqs);
  }
}

// Greedy decoding through execute() (the graph's own argmax) against the
// eager logits of the same step, teacher-forced with eager's tokens: the
// same token, except where eager's best two tokens are closer than the
// rounding noise of the previous test (5e-2 of the row's RMS logit).
TEST_F(CudaGraphRunnerTest, GreedyTokensEqualEager) {
  auto graph = cuda_runner(true), eager = cuda_runner(false);
  const auto vocab = static_cast<size_t>(graph->config().vocab_size);
  std::mt19937 rng(11);
  uint64_t next_id = 1;
  int flips = 0, tokens_compared = 0;
  for (int batch : {1, 5, 16}) {
    std::vector<SeqStep> seqs = start({graph.get(), eager.get()}, batch, next_id, rng);
    next_id += static_cast<uint64_t>(batch);
    std::vector<int32_t> tokens(static_cast<size_t>(batch), 1);
    for (int step = 0; step < 64; ++step) {
      for (size_t i = 0; i < seqs.size(); ++i) seqs[i].input_ids = {tokens[i]};
      StepBatch b{{}, {}, seqs};
      auto g = graph->execute(b);
      auto e = eager->compute_logits(b);
      ASSERT_TRUE(g.ok() && e.ok());
      ASSERT_EQ(g->sampled.size(), seqs.size());
      for (size_t i = 0; i < seqs.size(); ++i) {
        const float* er = e->data() + i * vocab;
        tokens[i] = static_cast<int32_t>(std::max_element(er, er + vocab) - er);
        ++tokens_compared;
        const int32_t got = g->sampled[i].token_id;
        if (got == tokens[i]) continue;
        ++flips;
        ASSERT_TRUE(got >= 0 && static_cast<size_t>(got) < vocab);
        double sq = 0;
        for (size_t v = 0; v < vocab; ++v) sq += er[v] * static_cast<double>(er[v]);
        EXPECT_LT(er[tokens[i]] - er[got], 5e-2 * std::sqrt(sq / static_cast<double>(vocab)))
            << "batch " << batch << " step " << step << " sequence " << i << ": graph chose " << got
            << ", eager " << tokens[i];
      }
      for (SeqStep& s : seqs) ++s.num_computed;
    }
    finish({graph.get(), eager.get()}, seqs);
  }
  EXPECT_LE(flips, tokens_compared / 100) << flips << " near-ties flipped";
  EXPECT_GE(graph->num_graph_steps(), 3 * 64);
  EXPECT_EQ(eager->num_graph_steps(), 0);
}

// Prefill, mixed prefill + decode, and steps larger than the menu run eagerly.
TEST_F(CudaGraphRunnerTest, StepsThatAreNotPureDecodeRunEagerly) {
  auto graph = cuda_runner(true);
  std::mt19937 rng(3);
  std::vector<SeqStep> seqs = start({graph.get()}, 2, 1, rng);
  EXPECT_EQ(graph->num_graph_steps(), 0);  // the prefill
  SequenceInfo late{100, {9, 10, 11, 12}, SamplingParams{}, {}};
  ASSERT_TRUE(graph->add_sequence(late).ok());
  SeqStep chunk{100, late.prompt_ids, 0, {kMaxNumSeqs * kBlocksPerSeq}, true};
  StepBatch mixed{{}, {}, {seqs[0], seqs[1], chunk}};
  ASSERT_TRUE(graph->execute(mixed).ok());
  EXPECT_EQ(graph->num_graph_steps(), 0);
  for (SeqStep& s : seqs) ++s.num_computed;
  ASSERT_TRUE(graph->execute(StepBatch{{}, {}, seqs}).ok());
  EXPECT_EQ(graph->num_graph_steps(), 1);
}

// A recording that fails (here: another recording is already in progress on
// the backend) leaves the runner eager, and its steps still decode correctly.
TEST_F(CudaGraphRunnerTest, FailedRecordingFallsBackToEager) {
  auto failed = cuda_runner(false), eager = cuda_runner(false);
  ASSERT_TRUE(failed->backend().begin_capture().ok());
  failed->use_decode_graphs(kMaxNumSeqs);
  (void)failed->backend().end_capture();
  EXPECT_TRUE(failed->decode_graph_kernels().empty());
  std::mt19937 rng(5);
  std::vector<SeqStep> seqs = start({failed.get(), eager.get()}, 4, 1, rng);
  for (int step = 0; step < 16; ++step) {
    StepBatch b{{}, {}, seqs};
    auto f = failed->execute(b);
    auto e = eager->execute(b);
    ASSERT_TRUE(f.ok() && e.ok());
    for (size_t i = 0; i < seqs.size(); ++i)
      EXPECT_EQ(f->sampled[i].token_id, e->sampled[i].token_id);
    for (SeqStep& s : seqs) ++s.num_computed;
  }
  EXPECT_EQ(failed->num_graph_steps(), 0);
}

}  // namespace
}  // namespace pdserve::runner
