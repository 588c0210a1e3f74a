#include "engine/kv/kv_cache_manager.h"

#include <gtest/gtest.h>

#include <numeric>

namespace pdserve::kv {
namespace {

KvCacheConfig config(int num_blocks, int num_host_blocks = 0) {
  return {num_blocks, num_host_blocks, /*block_size=*/4, /*enable_prefix_caching=*/true};
}

std::vector<BlockHash> hashes_of(int num_tokens, std::string_view salt = "") {
  std::vector<int32_t> t(num_tokens);
  std::iota(t.begin(), t.end(), 10);
  std::vector<BlockHash> h;
  protocol::extend_block_hashes(t, 4, salt, &h);
  return h;
}

TEST(KvCacheManagerTest, TablesGrowBlockByBlock) {
  KvCacheManager kv(config(8));
  EXPECT_TRUE(kv.can_allocate(1, 5));
  kv.allocate(1, 5);
  EXPECT_EQ(kv.block_table(1).size(), 2u);
  kv.allocate(1, 8);
  EXPECT_EQ(kv.block_table(1).size(), 2u);
  kv.allocate(1, 9);
  EXPECT_EQ(kv.block_table(1).size(), 3u);
  EXPECT_FALSE(kv.can_allocate(2, 21));
  EXPECT_TRUE(kv.check_invariants().ok());
  kv.free(1);
  EXPECT_EQ(kv.usage().num_free, 8);
  EXPECT_TRUE(kv.check_invariants().ok());
}

TEST(KvCacheManagerTest, PrefixHitSharesBlocksAndCountsEvictableOnesAsUsed) {
  KvCacheManager kv(config(4));
  const std::vector<BlockHash> h = hashes_of(12);
  kv.allocate(1, 12);
  kv.cache_blocks(1, h, 3);
  const std::vector<int32_t> table1 = kv.block_table(1);
  kv.free(1);
  EXPECT_EQ(kv.usage().num_cached_free, 3);

  PrefixHit hit = kv.find_cached_prefix(h, 11);  // at most 11 tokens: 2 blocks
  ASSERT_EQ(hit.blocks.size(), 2u);
  EXPECT_EQ(hit.num_tokens, 8);
  EXPECT_EQ(hit.blocks[0], table1[0]);
  // 2 evictable hits + 1 new block of 4 free: fits; 2 new ones would evict a hit.
  EXPECT_TRUE(kv.can_allocate(2, 12, hit));
  EXPECT_FALSE(kv.can_allocate(2, 17, hit));
  kv.allocate(2, 12, hit);
  EXPECT_EQ(kv.block_table(2)[1], table1[1]);
  kv.record_prefix_query(12, hit.num_tokens);
  EXPECT_EQ(kv.prefix_cache_stats().num_hit_tokens, 8);

  // Another tenant's salt finds nothing.
  EXPECT_TRUE(kv.find_cached_prefix(hashes_of(12, "other"), 11).blocks.empty());
  EXPECT_TRUE(kv.check_invariants().ok());
  kv.free(2);
  EXPECT_TRUE(kv.check_invariants().ok());
}

TEST(KvCacheManagerTest, EventsReportStoredAndEvictedHashes) {
  KvCacheManager kv(config(2));
  const std::vector<BlockHash> h = hashes_of(8);
  kv.allocate(1, 8);
  kv.cache_blocks(1, h, 2);
  kv.free(1);
  kv.allocate(2, 4);  // evicts one cached block: the tail of request 1 first
  std::vector<KvEvent> ev = kv.take_events();
  ASSERT_EQ(ev.size(), 3u);
  EXPECT_EQ(ev[0].kind, KvEvent::Kind::kStored);
  EXPECT_EQ(ev[1].kind, KvEvent::Kind::kStored);
  EXPECT_EQ(ev[2].kind, KvEvent::Kind::kRemoved);
  EXPECT_EQ(ev[2].block_hash, h[1]);
  EXPECT_EQ(kv.find_cached_prefix(h, 8).blocks.size(), 1u);
  kv.free(2);
}

TEST(KvCacheManagerTest, SwapOutAndInMoveTheTable) {
  KvCacheManager kv(config(4, 3));
  kv.allocate(1, 9);
  const std::vector<int32_t> device = kv.block_table(1);
  EXPECT_TRUE(kv.can_swap_out(1));
  std::vector<runner::BlockCopy> out = kv.swap_out(1);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[2].src, device[2]);
  EXPECT_TRUE(kv.is_swapped(1));
  EXPECT_EQ(kv.usage().num_free, 4);
  EXPECT_EQ(kv.usage().num_host_free, 0);
  EXPECT_TRUE(kv.check_invariants().ok());
  kv.allocate(2, 8);
  EXPECT_FALSE(kv.can_swap_in(1));
  kv.free(2);
  std::vector<runner::BlockCopy> in = kv.swap_in(1);
  ASSERT_EQ(in.size(), 3u);
  EXPECT_EQ(in[1].src, out[1].dst);
  EXPECT_EQ(kv.block_table(1)[1], in[1].dst);
  EXPECT_EQ(kv.usage().num_host_free, 3);
  EXPECT_TRUE(kv.check_invariants().ok());
  kv.free(1);
  EXPECT_EQ(kv.usage().num_free, 4);
}

TEST(KvCacheManagerTest, CachingOffNeverHits) {
  KvCacheConfig c = config(4);
  c.enable_prefix_caching = false;
  KvCacheManager kv(c);
  const std::vector<BlockHash> h = hashes_of(8);
  kv.allocate(1, 8);
  kv.cache_blocks(1, h, 2);
  kv.free(1);
  EXPECT_TRUE(kv.find_cached_prefix(h, 8).blocks.empty());
  EXPECT_TRUE(kv.take_events().empty());
}

}  // namespace
}  // namespace pdserve::kv
