#include "engine/kv/kv_cache_manager.h"

#include <algorithm>
#include <map>
#include <set>
#include <sstream>

#include "common/base/logging.h"

namespace pdserve::kv {

KvCacheManager::KvCacheManager(const KvCacheConfig& config)
    : config_(config), pool_(config.num_blocks), host_(config.num_host_blocks) {
  PD_CHECK(config.block_size > 0) << config.block_size;
}

PrefixHit KvCacheManager::find_cached_prefix(std::span<const BlockHash> hashes,
                                             int max_num_tokens) const {
  PrefixHit hit;
  if (!config_.enable_prefix_caching) return hit;
  const size_t max_blocks = std::max(0, max_num_tokens) / config_.block_size;
  for (size_t i = 0; i < hashes.size() && i < max_blocks; ++i) {
    std::optional<int32_t> b = pool_.lookup(hashes[i]);
    if (!b) break;
    hit.blocks.push_back(*b);
  }
  hit.num_tokens = static_cast<int>(hit.blocks.size()) * config_.block_size;
  return hit;
}

bool KvCacheManager::can_allocate(uint64_t request_id, int num_tokens, const PrefixHit& hit) const {
  auto it = tables_.find(request_id);
  PD_CHECK(hit.blocks.empty() || it == tables_.end()) << "prefix hit for a request with a table";
  PD_CHECK(it == tables_.end() || !it->second.on_host) << "allocate for swapped " << request_id;
  const int have = it == tables_.end() ? static_cast<int>(hit.blocks.size())
                                       : static_cast<int>(it->second.blocks.size());
  const int num_new = std::max(0, num_blocks_for(num_tokens) - have);
  int num_hit_evictable = 0;
  for (int32_t b : hit.blocks) num_hit_evictable += pool_.ref_count(b) == 0 ? 1 : 0;
  return pool_.can_allocate(num_new + num_hit_evictable);
}

void KvCacheManager::allocate(uint64_t request_id, int num_tokens, const PrefixHit& hit) {
  PD_CHECK(can_allocate(request_id, num_tokens, hit))
      << "allocate for request " << request_id << ": " << num_tokens << " tokens";
  Table& t = tables_[request_id];
  if (t.blocks.empty() && !hit.blocks.empty()) {
    for (int32_t b : hit.blocks) pool_.ref(b);
    t.blocks = hit.blocks;
    t.num_cached = static_cast<int>(hit.blocks.size());
  }
  const int num_new = num_blocks_for(num_tokens) - static_cast<int>(t.blocks.size());
  if (num_new <= 0) return;
  std::vector<int32_t> fresh = pool_.allocate(num_new);
  t.blocks.insert(t.blocks.end(), fresh.begin(), fresh.end());
}

void KvCacheManager::cache_blocks(uint64_t request_id, std::span<const BlockHash> hashes,
                                  int num_full_blocks) {
  if (!config_.enable_prefix_caching) return;
  auto it = tables_.find(request_id);
  PD_CHECK(it != tables_.end() && !it->second.on_host) << "cache_blocks for " << request_id;
  Table& t = it->second;
  const int n = std::min(
      {num_full_blocks, static_cast<int>(hashes.size()), static_cast<int>(t.blocks.size())});
  for (int i = t.num_cached; i < n; ++i) pool_.cache(t.blocks[i], hashes[i]);
  t.num_cached = std::max(t.num_cached, n);
}

void KvCacheManager::free(uint64_t request_id) {
  auto it = tables_.find(request_id);
  if (it == tables_.end()) return;
  Table& t = it->second;
  if (t.on_host) {
    host_.free(t.blocks);
  } else {
    for (auto b = t.blocks.rbegin(); b != t.blocks.rend(); ++b) pool_.unref(*b);
  }
  tables_.erase(it);
}

const std::vector<int32_t>& KvCacheManager::block_table(uint64_t request_id) const {
  auto it = tables_.find(request_id);
  PD_CHECK(it != tables_.end()) << "no block table for request " << request_id;
  return it->second.blocks;
}

bool KvCacheManager::is_swapped(uint64_t request_id) const {
  auto it = tables_.find(request_id);
  return it != tables_.end() && it->second.on_host;
}

std::vector<uint64_t> KvCacheManager::table_owners() const {
  std::vector<uint64_t> out;
  out.reserve(tables_.size());
  for (const auto& [id, t] : tables_) out.push_back(id);
  return out;
}

bool KvCacheManager::can_swap_out(uint64_t request_id) const {
  auto it = tables_.find(request_id);
  return it != tables_.end() && !it->second.on_host &&
         host_.can_allocate(static_cast<int>(it->second.blocks.size()));
}

std::vector<runner::BlockCopy> KvCacheManager::swap_out(uint64_t request_id) {
  PD_CHECK(can_swap_out(request_id)) << "swap_out of request " << request_id;
  Table& t = tables_[request_id];
  std::vector<int32_t> host = host_.allocate(static_cast<int>(t.blocks.size()));
  std::vector<runner::BlockCopy> copies;
  for (size_t i = 0; i < t.blocks.size(); ++i) copies.push_back({t.blocks[i], host[i]});
  for (auto b = t.blocks.rbegin(); b != t.blocks.rend(); ++b) pool_.unref(*b);
  t.blocks = std::move(host);
  t.on_host = true;
  t.num_cached = 0;
  return copies;
}

bool KvCacheManager::can_swap_in(uint64_t request_id) const {
  auto it = tables_.find(request_id);
  return it != tables_.end() && it->second.on_host &&
         pool_.can_allocate(static_cast<int>(it->second.blocks.size()));
}

std::vector<runner::BlockCopy> KvCacheManager::swap_in(uint64_t request_id) {
  PD_CHECK(can_swap_in(request_id)) << "swap_in of request " << request_id;
  Table& t = tables_[request_id];
  std::vector<int32_t> device = pool_.allocate(static_cast<int>(t.blocks.size()));
  std::vector<runner::BlockCopy> copies;
  for (size_t i = 0; i < t.blocks.size(); ++i) copies.push_back({t.blocks[i], device[i]});
  host_.free(t.blocks);
  t.blocks = std::move(device);
  t.on_host = false;
  return copies;
}

void KvCacheManager::record_prefix_query(int num_query_tokens, int num_hit_tokens) {
  stats_.num_query_tokens += num_query_tokens;
  stats_.num_hit_tokens += num_hit_tokens;
}

KvUsage KvCacheManager::usage() const {
  return {pool_.num_blocks(),      pool_.num_free() - pool_.num_cached_free(),
          pool_.num_cached_free(), pool_.num_referenced(),
          host_.num_blocks(),      host_.num_free()};
}

Status KvCacheManager::check_invariants() const {
  std::vector<int> expected(pool_.num_blocks(), 0);
  std::map<int32_t, std::set<uint64_t>> device_owners, host_owners;
  std::ostringstream problems;
  std::set<uint64_t> ids;
  for (const auto& [id, t] : tables_) {
    for (int32_t b : t.blocks) {
      const int limit = t.on_host ? host_.num_blocks() : pool_.num_blocks();
      if (b < 0 || b >= limit) {
        problems << " request " << id << " holds block " << b << " out of range;";
        ids.insert(id);
      } else if (t.on_host) {
        host_owners[b].insert(id);
      } else {
        ++expected[b];
        device_owners[b].insert(id);
      }
    }
  }
  std::vector<int32_t> bad;
  Status pool_status = pool_.check(expected, &bad);
  if (!pool_status.ok()) problems << " " << pool_status.message();
  for (int32_t b : bad) ids.insert(device_owners[b].begin(), device_owners[b].end());
  int num_host_owned = 0;
  for (const auto& [b, owners] : host_owners) {
    num_host_owned += static_cast<int>(owners.size());
    if (owners.size() > 1) {
      problems << " host block " << b << " owned " << owners.size() << " times;";
      ids.insert(owners.begin(), owners.end());
    }
  }
  if (num_host_owned + host_.num_free() != host_.num_blocks()) {
    problems << " host blocks: " << num_host_owned << " owned + " << host_.num_free()
             << " free != " << host_.num_blocks() << ";";
  }
  if (problems.tellp() == 0) return ok_status();
  std::ostringstream msg;
  msg << "KV block accounting violated (requests involved:";
  if (ids.empty()) msg << " none";
  for (uint64_t id : ids) msg << " " << id;
  msg << "):" << problems.str();
  return internal_error(msg.str());
}

}  // namespace pdserve::kv
