#include "engine/kv/block_pool.h"

#include <sstream>
#include <string>

#include "common/base/logging.h"

namespace pdserve::kv {

BlockPool::BlockPool(int num_blocks)
    : ref_count_(num_blocks, 0),
      block_hash_(num_blocks),
      lru_pos_(num_blocks),
      in_lru_(num_blocks, false) {
  PD_CHECK(num_blocks > 0) << num_blocks;
  free_.reserve(num_blocks);
  // A stack: block 0 is handed out first.
  for (int32_t b = num_blocks - 1; b >= 0; --b) free_.push_back(b);
}

std::vector<int32_t> BlockPool::allocate(int n) {
  PD_CHECK(can_allocate(n)) << "allocate(" << n << ") with " << num_free() << " free blocks";
  std::vector<int32_t> out;
  out.reserve(n);
  for (int i = 0; i < n; ++i) {
    int32_t b;
    if (!free_.empty()) {
      b = free_.back();
      free_.pop_back();
    } else {
      b = lru_.front();
      lru_.pop_front();
      in_lru_[b] = false;
      evict(b);
    }
    PD_DCHECK(ref_count_[b] == 0);
    ref_count_[b] = 1;
    out.push_back(b);
  }
  return out;
}

void BlockPool::ref(int32_t block) {
  PD_CHECK(block >= 0 && block < num_blocks()) << block;
  if (ref_count_[block] == 0) {
    PD_CHECK(in_lru_[block]) << "ref() of free uncached block " << block;
    lru_.erase(lru_pos_[block]);
    in_lru_[block] = false;
  }
  ++ref_count_[block];
}

void BlockPool::unref(int32_t block) {
  PD_CHECK(block >= 0 && block < num_blocks() && ref_count_[block] > 0)
      << "unref of block " << block;
  if (--ref_count_[block] > 0) return;
  if (block_hash_[block]) {
    lru_pos_[block] = lru_.insert(lru_.end(), block);
    in_lru_[block] = true;
  } else {
    free_.push_back(block);
  }
}

std::optional<int32_t> BlockPool::lookup(BlockHash hash) const {
  auto it = hash_to_block_.find(hash);
  if (it == hash_to_block_.end()) return std::nullopt;
  return it->second;
}

void BlockPool::cache(int32_t block, BlockHash hash) {
  PD_CHECK(ref_count_[block] > 0) << "cache() of unreferenced block " << block;
  if (block_hash_[block] || hash_to_block_.contains(hash)) return;
  block_hash_[block] = hash;
  hash_to_block_.emplace(hash, block);
  events_.push_back({KvEvent::Kind::kStored, hash});
}

void BlockPool::evict(int32_t block) {
  const BlockHash hash = *block_hash_[block];
  hash_to_block_.erase(hash);
  block_hash_[block].reset();
  events_.push_back({KvEvent::Kind::kRemoved, hash});
}

void BlockPool::evict_all_cached_free() {
  while (!lru_.empty()) {
    const int32_t b = lru_.front();
    lru_.pop_front();
    in_lru_[b] = false;
    evict(b);
    free_.push_back(b);
  }
}

std::vector<KvEvent> BlockPool::take_events() {
  std::vector<KvEvent> out;
  out.swap(events_);
  return out;
}

Status BlockPool::check(const std::vector<int>& expected_refs,
                        std::vector<int32_t>* bad_blocks) const {
  std::ostringstream problems;
  auto bad = [&](int32_t b) -> std::ostream& {
    bad_blocks->push_back(b);
    return problems << " block " << b << ": ";
  };
  std::vector<int> in_free(num_blocks(), 0);
  for (int32_t b : free_) ++in_free[b];
  for (int32_t b : lru_) ++in_free[b];
  int num_zero = 0;
  int num_hashed = 0;
  for (int32_t b = 0; b < num_blocks(); ++b) {
    const int ref = ref_count_[b];
    if (ref == 0) ++num_zero;
    if (ref != expected_refs[b])
      bad(b) << "ref " << ref << " but " << expected_refs[b] << " owners;";
    if (in_free[b] != (ref == 0 ? 1 : 0)) {
      bad(b) << "ref " << ref << " but listed free " << in_free[b] << " times;";
    }
    if (in_lru_[b] != (ref == 0 && block_hash_[b].has_value())) bad(b) << "wrong LRU membership;";
    if (block_hash_[b]) {
      ++num_hashed;
      auto it = hash_to_block_.find(*block_hash_[b]);
      if (it == hash_to_block_.end() || it->second != b) bad(b) << "hash not indexed;";
    }
  }
  if (static_cast<int>(hash_to_block_.size()) != num_hashed) {
    problems << " hash index holds " << hash_to_block_.size() << " entries for " << num_hashed
             << " cached blocks;";
  }
  const int num_free_listed = static_cast<int>(free_.size() + lru_.size());
  if (num_free_listed != num_zero) {
    problems << " free " << free_.size() << " + cached-free " << lru_.size() << " + referenced "
             << num_blocks() - num_zero << " != total " << num_blocks() << ";";
  }
  if (problems.tellp() == 0) return ok_status();
  std::string message = problems.str();
  if (message.size() > 2000) message = message.substr(0, 2000) + " ...";
  return internal_error("block pool:" + message);
}

}  // namespace pdserve::kv
