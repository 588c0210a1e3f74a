// The tensor-core prefill attention kernel (engine/backend/cuda/prefill_attention.cu),
// reached through Backend::paged_attention on steps with more than one query
// per sequence (the plan's kernel: wgmma on Hopper at head dims 64 and 128,
// mma.sync otherwise; tools/attention_bench checks every kernel), against the
// CPU reference: lengths 1 to 8192, random splits
// into cached prefix + new tokens, varlen batches mixing prompt chunks and
// decode tokens, GQA 1/4/8, head dims 64/128/256, sliding windows. Fresh
// random inputs each run; skipped without a GPU.
#include <gtest/gtest.h>

#include <algorithm>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "tests/engine/backend/cuda_ops_fixture.h"

namespace pdserve::backend {
namespace {

struct AttentionCase {
  int heads, kv_heads, head_dim, window;
  std::vector<std::pair<int, int>> seqs;  // (cached tokens, new tokens)
};

std::string describe(const AttentionCase& c) {
  std::ostringstream s;
  s << c.heads << "/" << c.kv_heads << " heads, d=" << c.head_dim << ", window " << c.window << ":";
  for (auto [cached, fresh] : c.seqs) s << " " << cached << "+" << fresh;
  return s.str();
}

class PrefillAttentionTest : public CudaOpsTest {
 protected:
  double run(const AttentionCase& c, int block_size = 16) {
    return attention_rel_err(QkvLayout{c.heads, c.kv_heads, c.head_dim}, c.seqs, block_size,
                             c.window);
  }
  int uniform(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); }
};

TEST_F(PrefillAttentionTest, LengthsAcrossTileEdges) {
  for (int hd : {64, 128, 256}) {
    const AttentionCase c{8,
                          8,
                          hd,
                          0,
                          {{0, 1},
                           {0, 2},
                           {0, 17},
                           {0, 63},
                           {0, 64},
                           {0, 65},
                           {0, 127},
                           {0, 128},
                           {0, 129},
                           {0, 300}}};
    EXPECT_LT(run(c), kBf16Bound) << describe(c);
  }
}

TEST_F(PrefillAttentionTest, LongPromptsWithGqa) {
  for (auto [heads, kv_heads, hd, len] :
       {std::tuple{8, 2, 128, 4096}, {4, 1, 64, 8192}, {8, 8, 256, 2048}}) {
    const AttentionCase c{heads, kv_heads, hd, 0, {{0, len}}};
    EXPECT_LT(run(c), kBf16Bound) << describe(c);
  }
}

TEST_F(PrefillAttentionTest, RandomCachedPrefixSplits) {
  for (int hd : {64, 128, 256}) {
    for (int group : {1, 4, 8}) {
      AttentionCase c{8, 8 / group, hd, 0, {}};
      for (int i = 0; i < 4; ++i) c.seqs.emplace_back(uniform(0, 1500), uniform(1, 600));
      c.seqs.emplace_back(uniform(1, 2000), 1);  // a decode token in the same step
      EXPECT_LT(run(c), kBf16Bound) << describe(c);
    }
  }
}

TEST_F(PrefillAttentionTest, ChunksOfOnePromptMatchTheWholePrompt) {
  // A 1000-token prompt prefilled in chunks: each chunk attends to the
  // earlier chunks through the cache, as chunked prefill does.
  for (int chunk : {128, 333, 1000}) {
    AttentionCase c{8, 2, 128, 0, {}};
    for (int done = 0; done < 1000; done += chunk)
      c.seqs.emplace_back(done, std::min(chunk, 1000 - done));
    EXPECT_LT(run(c), kBf16Bound) << describe(c);
  }
}

TEST_F(PrefillAttentionTest, SlidingWindows) {
  for (auto [hd, window] : {std::pair{128, 1}, {128, 100}, {64, 256}, {256, 64}, {128, 4096}}) {
    const AttentionCase c{
        8, 2, hd, window, {{0, 1500}, {900, 300}, {uniform(0, 700), uniform(2, 200)}, {70, 1}}};
    EXPECT_LT(run(c), kBf16Bound) << describe(c);
  }
}

TEST_F(PrefillAttentionTest, BlockSizesAndDecodeOnlySteps) {
  for (int block_size : {1, 8, 32, 256}) {
    const AttentionCase c{4, 2, 128, 0, {{uniform(0, 600), uniform(2, 300)}, {0, 70}}};
    EXPECT_LT(run(c, block_size), kBf16Bound) << describe(c) << " block size " << block_size;
  }
  const AttentionCase decode{8, 2, 128, 0, {{700, 1}, {0, 1}, {64, 1}}};  // the paged kernel
  EXPECT_LT(run(decode), kBf16Bound) << describe(decode);
}

}  // namespace
}  // namespace pdserve::backend
