// The decode graph menu, and a runner on a backend without graphs (the CPU)
// that stays eager and still decodes.
#include "engine/runner/decode_graphs.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "engine/runner/llm_runner.h"

namespace pdserve::runner {
namespace {

TEST(DecodeGraphBatchSizes, MenuUpToMaxNumSeqs) {
  EXPECT_EQ(decode_graph_batch_sizes(1), (std::vector<int>{1}));
  EXPECT_EQ(decode_graph_batch_sizes(3), (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(decode_graph_batch_sizes(8), (std::vector<int>{1, 2, 4, 8}));
  EXPECT_EQ(decode_graph_batch_sizes(20), (std::vector<int>{1, 2, 4, 8, 16, 20}));
  EXPECT_EQ(decode_graph_batch_sizes(64),
            (std::vector<int>{1, 2, 4, 8, 16, 24, 32, 40, 48, 56, 64}));
  EXPECT_EQ(decode_graph_batch_sizes(100),
            (std::vector<int>{1, 2, 4, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 100}));
  const std::vector<int> big = decode_graph_batch_sizes(256);
  EXPECT_EQ(big.size(), 23u);
  EXPECT_EQ(big[big.size() - 2], 240);
  EXPECT_EQ(big.back(), 256);
  EXPECT_TRUE(decode_graph_batch_sizes(0).empty());
}

TEST(DecodeGraphs, CpuRunnerStaysEager) {
  const auto demo = std::filesystem::path(PDSERVE_SOURCE_DIR) / "models" / "pdserve-demo";
  LlmRunnerOptions options;
  options.num_blocks = 16;
  auto r = LlmRunner::load(demo, backend::make_cpu_backend(2), options);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  (*r)->use_decode_graphs(8);
  EXPECT_TRUE((*r)->decode_graph_kernels().empty());
  ASSERT_TRUE((*r)->add_sequence({1, {5, 6, 7}, SamplingParams{}, {}}).ok());
  SeqStep prefill{1, {5, 6, 7}, 0, {0}, true};
  ASSERT_TRUE((*r)->execute(StepBatch{{}, {}, {prefill}}).ok());
  SeqStep decode{1, {kLastSampled}, 3, {0}, true};
  auto out = (*r)->execute(StepBatch{{}, {}, {decode}});
  ASSERT_TRUE(out.ok()) << out.status().to_string();
  EXPECT_EQ(out->sampled.size(), 1u);
  EXPECT_EQ((*r)->num_graph_steps(), 0);
}

}  // namespace
}  // namespace pdserve::runner
