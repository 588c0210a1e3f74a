// Which prompt prefixes each worker holds in its prefix cache, from the
// workers' KvCacheEvents (WorkerState polls): per worker the set of cached
// block hashes. A query hashes the prompt's full blocks exactly as the
// workers do (protocol::extend_block_hashes: same chain, block size and
// cache_salt) and counts, per worker, the leading blocks it holds.
//
// apply() contract with the worker's WorkerState:
//   events_truncated == false: `events` (stored / evicted, oldest first) are
//                              applied in order on top of what is indexed;
//   events_truncated == true:  the worker's set is replaced by `cached` (its
//                              complete set as of event_cursor); `events` are ignored.
// `event_cursor` is kept: pass cursor(id) as ?since= on the next poll.
//
// Memory is bounded: at most max_blocks_per_worker hashes per worker; past
// it the least recently stored hash is forgotten (a forgotten block only
// makes a match shorter, never wrong). Thread-safe (shared reads).
#pragma once

#include <cstdint>
#include <list>
#include <map>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/protocol/block_hash.h"
#include "common/wire/internal_api.h"

namespace pdserve::router {

struct PrefixMatch {
  std::string worker_id;
  int num_matched_blocks = 0;
  int num_matched_tokens = 0;  // num_matched_blocks * the worker's block size
};

struct PrefixIndexOptions {
  size_t max_blocks_per_worker = size_t{1} << 20;
};

class PrefixIndex {
 public:
  explicit PrefixIndex(PrefixIndexOptions options = {});

  // Ignores a state with block_size <= 0 (nothing can be matched against it).
  void apply(std::string_view worker_id, const server::internal::WorkerState& state);
  void remove_worker(std::string_view worker_id);

  uint64_t cursor(std::string_view worker_id) const;    // 0 for an unknown worker
  size_t num_blocks(std::string_view worker_id) const;  // hashes indexed for it

  // One entry per indexed worker (matches of 0 included), sorted by id.
  std::vector<PrefixMatch> match(std::span<const int32_t> prompt_ids,
                                 std::string_view cache_salt) const;

 private:
  struct WorkerBlocks {
    int block_size = 0;
    uint64_t cursor = 0;
    std::list<protocol::BlockHash> order;  // oldest stored first
    std::unordered_map<protocol::BlockHash, std::list<protocol::BlockHash>::iterator> where;
    void store(protocol::BlockHash h, size_t max_blocks);
    void evict(protocol::BlockHash h);
    void clear();
  };

  const PrefixIndexOptions options_;
  mutable std::shared_mutex mu_;
  std::map<std::string, WorkerBlocks, std::less<>> workers_;
};

}  // namespace pdserve::router
