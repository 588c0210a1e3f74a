// Per-request KV block tables over the device pool, the prefix cache and the
// host tier. The scheduler asks (find_cached_prefix, can_allocate,
// can_swap_out, can_swap_in) and then tells the manager to act (allocate,
// cache_blocks, swap_out, swap_in, free); block counts change only here.
//
// A request's table lists the physical blocks covering its positions
// [0, n): position p lives in table[p / block_size], slot p % block_size.
// Its first blocks may be shared with other requests (prefix-cache hits);
// those are full and never written again. A swapped-out request's table
// holds host block ids instead (is_swapped).
//
// Not thread-safe: owned by the Scheduler, used from its thread.
#pragma once

#include <cstdint>
#include <span>
#include <unordered_map>
#include <vector>

#include "common/base/status.h"
#include "common/protocol/block_hash.h"
#include "engine/kv/block_pool.h"
#include "engine/kv/host_block_pool.h"
#include "engine/runner/model_runner.h"

namespace pdserve::kv {

struct KvCacheConfig {
  int num_blocks = 0;       // device pool
  int num_host_blocks = 0;  // host tier (0: no swapping)
  int block_size = 16;      // tokens per block
  bool enable_prefix_caching = true;
};

// Cached blocks that cover the head of a request's tokens.
struct PrefixHit {
  std::vector<int32_t> blocks;
  int num_tokens = 0;  // blocks.size() * block_size
};

// Counted in tokens, as vLLM's prefix_cache_queries / prefix_cache_hits.
struct PrefixCacheStats {
  int64_t num_query_tokens = 0;
  int64_t num_hit_tokens = 0;
};

struct KvUsage {
  int num_blocks = 0;
  int num_free = 0;         // plain free
  int num_cached_free = 0;  // evictable cache
  int num_referenced = 0;
  int num_host_blocks = 0;
  int num_host_free = 0;
};

class KvCacheManager {
 public:
  explicit KvCacheManager(const KvCacheConfig& config);

  int block_size() const { return config_.block_size; }
  int num_blocks_for(int num_tokens) const {
    return (num_tokens + config_.block_size - 1) / config_.block_size;
  }

  // The longest run of cached blocks matching the head of `hashes`, covering
  // at most max_num_tokens tokens. Read-only; empty when caching is off.
  PrefixHit find_cached_prefix(std::span<const BlockHash> hashes, int max_num_tokens) const;

  // Whether the request's device table can grow to cover num_tokens
  // positions. `hit` is only for a request without a table yet: its blocks
  // are taken first (a hit on an evictable block uses up a free one).
  bool can_allocate(uint64_t request_id, int num_tokens, const PrefixHit& hit = {}) const;
  // Grows (or creates) the table; PD_CHECK: can_allocate.
  void allocate(uint64_t request_id, int num_tokens, const PrefixHit& hit = {});

  // Registers table blocks [0, num_full_blocks) as holding hashes[i]. Only
  // for blocks whose KV is computed (or written by a step that runs before
  // any step that could read them).
  void cache_blocks(uint64_t request_id, std::span<const BlockHash> hashes, int num_full_blocks);

  // Releases every block the request holds (device or host), last first.
  // No-op for a request without a table.
  void free(uint64_t request_id);

  bool has_table(uint64_t request_id) const { return tables_.contains(request_id); }
  const std::vector<int32_t>& block_table(uint64_t request_id) const;
  bool is_swapped(uint64_t request_id) const;
  std::vector<uint64_t> table_owners() const;

  // Swap preemption. swap_out moves the table to host blocks and frees the
  // device blocks (returns device -> host copies); swap_in the reverse.
  bool can_swap_out(uint64_t request_id) const;
  std::vector<runner::BlockCopy> swap_out(uint64_t request_id);
  bool can_swap_in(uint64_t request_id) const;
  std::vector<runner::BlockCopy> swap_in(uint64_t request_id);

  void record_prefix_query(int num_query_tokens, int num_hit_tokens);
  PrefixCacheStats prefix_cache_stats() const { return stats_; }
  std::vector<KvEvent> take_events() { return pool_.take_events(); }
  // Drops all evictable cached content (e.g. weights reloaded).
  void reset_prefix_cache() { pool_.evict_all_cached_free(); }

  KvUsage usage() const;
  // free + cached-free + referenced == total, every reference count equals
  // the number of tables holding the block, host blocks owned at most once.
  // The error lists the request ids holding the blocks involved.
  Status check_invariants() const;

 private:
  struct Table {
    std::vector<int32_t> blocks;
    int num_cached = 0;  // blocks [0, num_cached) are registered / were hits
    bool on_host = false;
  };

  KvCacheConfig config_;
  BlockPool pool_;
  HostBlockPool host_;
  std::unordered_map<uint64_t, Table> tables_;
  PrefixCacheStats stats_;
};

}  // namespace pdserve::kv
