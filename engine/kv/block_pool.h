// The device KV block pool: reference counts, the free blocks, and which
// full blocks hold which cached content (the prefix cache's storage).
//
// Every block is in exactly one of three sets:
//   free          ref 0, no content worth keeping; allocated first
//   cached-free   ref 0, holds a registered BlockHash; evictable, in LRU order
//   referenced    ref > 0 (used by one or more requests; may also be cached)
// allocate() takes plain free blocks first and evicts the least recently
// released cached-free block only when none is left ("evict only when space
// is needed"). A cache hit on a cached-free block (ref()) takes it out of the
// LRU. Stored / removed cache entries are recorded as KvEvents for the caller
// to publish (take_events()).
//
// "The caller asks, the owner mutates": can_allocate(n) then allocate(n);
// allocate on too few blocks is a bug (PD_CHECK). Not thread-safe: owned by
// one KvCacheManager, driven by the scheduler thread.
#pragma once

#include <cstdint>
#include <list>
#include <optional>
#include <unordered_map>
#include <vector>

#include "common/base/status.h"
#include "common/protocol/block_hash.h"

namespace pdserve::kv {

using protocol::BlockHash;

struct KvEvent {
  enum class Kind { kStored, kRemoved };
  Kind kind = Kind::kStored;
  BlockHash block_hash = 0;
};

class BlockPool {
 public:
  explicit BlockPool(int num_blocks);

  int num_blocks() const { return static_cast<int>(ref_count_.size()); }
  // Blocks allocate() can hand out: plain free plus evictable cached ones.
  int num_free() const { return static_cast<int>(free_.size() + lru_.size()); }
  int num_cached_free() const { return static_cast<int>(lru_.size()); }
  int num_referenced() const { return num_blocks() - num_free(); }
  int num_cached() const { return static_cast<int>(hash_to_block_.size()); }

  bool can_allocate(int n) const { return n <= num_free(); }
  // n blocks with ref 1 each; evicts LRU cached-free blocks when needed.
  std::vector<int32_t> allocate(int n);

  // ref + 1. A cached-free block leaves the LRU (a prefix-cache hit).
  void ref(int32_t block);
  // ref - 1. At 0 a cached block joins the LRU tail (most recent), a plain
  // one the free set. Callers release a sequence's blocks last-first so its
  // tail is evicted before its head.
  void unref(int32_t block);
  int ref_count(int32_t block) const { return ref_count_[block]; }

  // The block holding this content, if cached.
  std::optional<int32_t> lookup(BlockHash hash) const;
  // Registers a referenced block's content. No-op when the block is already
  // cached or another block already holds `hash` (two requests computed the
  // same prefix at once: the first one stays the cached copy).
  void cache(int32_t block, BlockHash hash);
  bool is_cached(int32_t block) const { return block_hash_[block].has_value(); }

  std::vector<KvEvent> take_events();
  // Drops every cached-free block's content (they become plain free).
  void evict_all_cached_free();

  // Checks the pool's own structures and, given the number of owners each
  // block should have (expected_refs[block]), that the counts agree. The
  // error names the blocks; the caller adds the owners' request ids.
  Status check(const std::vector<int>& expected_refs, std::vector<int32_t>* bad_blocks) const;

 private:
  void evict(int32_t block);

  std::vector<int> ref_count_;
  std::vector<std::optional<BlockHash>> block_hash_;
  std::vector<int32_t> free_;  // plain free blocks, a stack
  std::list<int32_t> lru_;     // cached-free, least recently released first
  std::vector<std::list<int32_t>::iterator> lru_pos_;
  std::vector<bool> in_lru_;
  std::unordered_map<BlockHash, int32_t> hash_to_block_;
  std::vector<KvEvent> events_;
};

}  // namespace pdserve::kv
