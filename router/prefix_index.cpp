#include "router/prefix_index.h"

#include <mutex>

namespace pdserve::router {

void PrefixIndex::WorkerBlocks::store(protocol::BlockHash h, size_t max_blocks) {
  auto it = where.find(h);
  if (it != where.end()) {
    order.splice(order.end(), order, it->second);
    return;
  }
  order.push_back(h);
  where.emplace(h, std::prev(order.end()));
  while (order.size() > max_blocks) {
    where.erase(order.front());
    order.pop_front();
  }
}

void PrefixIndex::WorkerBlocks::evict(protocol::BlockHash h) {
  auto it = where.find(h);
  if (it == where.end()) return;
  order.erase(it->second);
  where.erase(it);
}

void PrefixIndex::WorkerBlocks::clear() {
  order.clear();
  where.clear();
}

PrefixIndex::PrefixIndex(PrefixIndexOptions options) : options_(options) {}

void PrefixIndex::apply(std::string_view worker_id, const server::internal::WorkerState& state) {
  if (state.block_size <= 0) return;
  std::unique_lock lock(mu_);
  auto it = workers_.find(worker_id);
  if (it == workers_.end()) it = workers_.emplace(std::string(worker_id), WorkerBlocks{}).first;
  WorkerBlocks& w = it->second;
  if (w.block_size != state.block_size) w.clear();  // hashes of another block size never match
  w.block_size = state.block_size;
  w.cursor = state.event_cursor;
  if (state.events_truncated) {
    w.clear();
    for (protocol::BlockHash h : state.cached) w.store(h, options_.max_blocks_per_worker);
    return;
  }
  for (const server::internal::KvCacheEvent& e : state.events) {
    if (e.stored)
      w.store(e.block_hash, options_.max_blocks_per_worker);
    else
      w.evict(e.block_hash);
  }
}

void PrefixIndex::remove_worker(std::string_view worker_id) {
  std::unique_lock lock(mu_);
  auto it = workers_.find(worker_id);
  if (it != workers_.end()) workers_.erase(it);
}

uint64_t PrefixIndex::cursor(std::string_view worker_id) const {
  std::shared_lock lock(mu_);
  auto it = workers_.find(worker_id);
  return it == workers_.end() ? 0 : it->second.cursor;
}

size_t PrefixIndex::num_blocks(std::string_view worker_id) const {
  std::shared_lock lock(mu_);
  auto it = workers_.find(worker_id);
  return it == workers_.end() ? 0 : it->second.order.size();
}

std::vector<PrefixMatch> PrefixIndex::match(std::span<const int32_t> prompt_ids,
                                            std::string_view cache_salt) const {
  std::map<int, std::vector<protocol::BlockHash>> hashes_by_size;  // one chain per block size
  std::vector<PrefixMatch> out;
  std::shared_lock lock(mu_);
  out.reserve(workers_.size());
  for (const auto& [id, w] : workers_) {
    std::vector<protocol::BlockHash>& hashes = hashes_by_size[w.block_size];
    if (hashes.empty())
      protocol::extend_block_hashes(prompt_ids, w.block_size, cache_salt, &hashes);
    int n = 0;
    while (n < static_cast<int>(hashes.size()) && w.where.count(hashes[static_cast<size_t>(n)]))
      ++n;
    out.push_back({id, n, n * w.block_size});
  }
  return out;
}

}  // namespace pdserve::router
