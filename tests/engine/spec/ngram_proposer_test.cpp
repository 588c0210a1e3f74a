#include "engine/spec/ngram_proposer.h"

#include <gtest/gtest.h>

namespace pdserve::spec {
namespace {

TEST(NgramProposerTest, ProposesWhatFollowedTheLongestMostRecentMatch) {
  NgramProposer p(/*min_n=*/1, /*max_n=*/3);
  // ... 7 8 9 [1 2] 3 4 ... 5 [1 2] 6 ... 1 2: the 2-gram "1 2" matched most
  // recently is followed by 6.
  std::vector<int32_t> t = {7, 8, 9, 1, 2, 3, 4, 5, 1, 2, 6, 0, 1, 2};
  EXPECT_EQ(p.lookup(t, 3), (std::vector<int32_t>{6, 0, 1}));
  // The 3-gram "9 1 2" wins over a more recent 2-gram.
  t = {9, 1, 2, 3, 4, 5, 1, 2, 6, 9, 1, 2};
  EXPECT_EQ(p.lookup(t, 2), (std::vector<int32_t>{3, 4}));
  // Fewer tokens follow than asked for.
  t = {1, 2, 3, 1, 2};
  EXPECT_EQ(p.lookup(t, 8), (std::vector<int32_t>{3, 1, 2}));
}

TEST(NgramProposerTest, NothingBelowMinN) {
  NgramProposer p(/*min_n=*/2, /*max_n=*/4);
  EXPECT_TRUE(p.lookup(std::vector<int32_t>{5, 1, 6, 1}, 4).empty());  // only 1-grams repeat
  EXPECT_TRUE(p.lookup(std::vector<int32_t>{1}, 4).empty());
  EXPECT_TRUE(p.lookup(std::vector<int32_t>{}, 4).empty());
}

TEST(NgramProposerTest, OneProposalPerInputAsAPointMass) {
  NgramProposer p(1, 2);
  const std::vector<int32_t> a = {1, 2, 1}, b = {3, 4};
  std::vector<ProposeInput> in = {{.seq_id = 1, .token_ids = a, .num_propose = 2},
                                  {.seq_id = 2, .token_ids = b, .num_propose = 2}};
  auto out = p.propose(in);
  ASSERT_TRUE(out.ok());
  ASSERT_EQ(out->size(), 2u);
  EXPECT_EQ((*out)[0].token_ids, (std::vector<int32_t>{2, 1}));
  EXPECT_TRUE((*out)[0].probs.empty());
  EXPECT_TRUE((*out)[1].token_ids.empty());
}

}  // namespace
}  // namespace pdserve::spec
