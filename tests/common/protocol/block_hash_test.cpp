#include "common/protocol/block_hash.h"

#include <gtest/gtest.h>

namespace pdserve::protocol {
namespace {

TEST(BlockHashTest, ChainDependsOnEveryEarlierTokenAndSalt) {
  std::vector<int32_t> a = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  std::vector<int32_t> b = {1, 2, 3, 0, 5, 6, 7, 8};
  std::vector<BlockHash> ha, hb, hs;
  extend_block_hashes(a, 4, "", &ha);
  extend_block_hashes(b, 4, "", &hb);
  extend_block_hashes(a, 4, "tenant", &hs);
  ASSERT_EQ(ha.size(), 2u);  // the partial third block is not hashed
  ASSERT_EQ(hb.size(), 2u);
  EXPECT_NE(ha[0], hb[0]);
  EXPECT_NE(ha[1], hb[1]);  // same block tokens, different parent
  EXPECT_NE(ha[0], hs[0]);
  EXPECT_NE(ha[1], hs[1]);
}

TEST(BlockHashTest, ExtendIsIncrementalAndDeterministic) {
  std::vector<int32_t> t = {5, 6, 7, 8, 9, 10, 11, 12};
  std::vector<BlockHash> whole, parts;
  extend_block_hashes(t, 4, "s", &whole);
  extend_block_hashes(std::span<const int32_t>(t).first(5), 4, "s", &parts);
  ASSERT_EQ(parts.size(), 1u);
  extend_block_hashes(t, 4, "s", &parts);
  EXPECT_EQ(parts, whole);
  EXPECT_EQ(whole[0], hash_block_tokens(kRootBlockHash, std::span<const int32_t>(t).first(4), "s"));
}

}  // namespace
}  // namespace pdserve::protocol
