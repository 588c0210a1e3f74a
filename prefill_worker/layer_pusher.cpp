#include "prefill_worker/layer_pusher.h"

#include <utility>

namespace pdserve::prefill {

LayerPusher::LayerPusher(kvtransfer::Agent& agent, worker::KvRegions regions,
                         RequestTimeline& timeline, MakeMarker mark)
    : agent_(agent),
      regions_(std::move(regions)),
      timeline_(timeline),
      mark_(std::move(mark)),
      thread_([this] { post_loop(); }) {}

LayerPusher::~LayerPusher() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  changed_.notify_all();
  thread_.join();
}

void LayerPusher::expect(uint64_t seq_id, Target target) {
  std::lock_guard<std::mutex> lock(mu_);
  entries_[seq_id].target = std::move(target);
}

void LayerPusher::forget(uint64_t seq_id) {
  std::vector<uint64_t> transfers;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = entries_.find(seq_id);
    if (it == entries_.end()) return;
    transfers = std::move(it->second.transfers);
    entries_.erase(it);
  }
  for (uint64_t t : transfers) (void)agent_.cancel(t);
}

void LayerPusher::post_layer(Entry& e, int layer, const std::vector<int32_t>& blocks) {
  const server::internal::KvTarget& t = e.target.target;
  const size_t l = static_cast<size_t>(layer);
  std::vector<kvtransfer::WriteOp> ops;
  for (size_t i = static_cast<size_t>(t.first_block); i < t.block_ids.size() && i < blocks.size();
       ++i) {
    ops.push_back({regions_.layer_regions[l],
                   static_cast<uint64_t>(blocks[i]) * regions_.block_bytes, t.layer_regions[l],
                   static_cast<uint64_t>(t.block_ids[i]) * t.block_bytes, regions_.block_bytes});
  }
  ++e.num_layers_posted;
  if (ops.empty() || !e.error.ok()) return;  // nothing the decode worker lacks, or failed already
  if (e.transfers.empty()) {
    timeline_.record(e.target.notification, "kv_transfer_start",
                     {{"blocks", static_cast<int64_t>(ops.size())}, {"layer", int64_t{layer}}});
  }
  const bool last = layer + 1 == static_cast<int>(regions_.layer_regions.size());
  const uint64_t bytes = ops.size() * regions_.block_bytes;
  Result<uint64_t> id = agent_.post_write(e.target.peer, std::move(ops),
                                          last ? e.target.notification : std::string(), t.epoch);
  if (!id.ok()) {
    e.error = id.status();
    return;
  }
  e.transfers.push_back(*id);
  e.bytes += bytes;
}

void LayerPusher::on_layer(int layer, const runner::StepBatch& batch) {
  Job job;
  job.layer = layer;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (entries_.empty()) return;
    for (const runner::SeqStep& s : batch.seqs) {
      if (!s.sample) continue;  // a prefill-only request samples in the step that ends its prompt
      auto it = entries_.find(s.seq_id);
      if (it == entries_.end() || it->second.num_layers_queued != layer) continue;
      ++it->second.num_layers_queued;
      job.seqs.emplace_back(s.seq_id, s.block_table);
    }
  }
  if (job.seqs.empty()) return;
  job.ready = mark_();  // after this layer's K/V writes
  {
    std::lock_guard<std::mutex> lock(mu_);
    jobs_.push_back(std::move(job));
  }
  changed_.notify_all();
}

void LayerPusher::post_loop() {
  for (;;) {
    Job job;
    {
      std::unique_lock<std::mutex> lock(mu_);
      changed_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
      if (stopping_) return;
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    job.ready->wait();  // the layer's K/V is in the pool
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (const auto& [seq_id, blocks] : job.seqs) {
        auto it = entries_.find(seq_id);  // gone: forgotten meanwhile
        if (it != entries_.end() && it->second.num_layers_posted == job.layer) {
          post_layer(it->second, job.layer, blocks);
        }
      }
    }
    changed_.notify_all();
  }
}

Result<LayerPusher::Pushed> LayerPusher::finish(uint64_t seq_id, const std::vector<int32_t>& blocks,
                                                std::chrono::steady_clock::time_point deadline,
                                                const std::atomic<bool>& gone) {
  Entry e;
  Pushed pushed;
  {
    std::unique_lock<std::mutex> lock(mu_);
    // The step is over, so the queued layers' markers fire: let them post
    // (forget() may drop the entry meanwhile).
    changed_.wait(lock, [&] {
      auto e = entries_.find(seq_id);
      return stopping_ || e == entries_.end() ||
             e->second.num_layers_posted == e->second.num_layers_queued;
    });
    auto it = entries_.find(seq_id);
    if (it == entries_.end())
      return not_found("no push expected for sequence " + std::to_string(seq_id));
    if (it->second.num_layers_posted != it->second.num_layers_queued) {
      return cancelled("prefill worker shutting down");
    }
    // Layers the hook did not queue (a step it did not see): all at once now.
    pushed.layers_during_prefill = it->second.num_layers_posted;
    while (it->second.num_layers_posted < static_cast<int>(regions_.layer_regions.size())) {
      ++it->second.num_layers_queued;
      post_layer(it->second, it->second.num_layers_posted, blocks);
    }
    pushed.layers_after = it->second.num_layers_posted - pushed.layers_during_prefill;
    e = std::move(it->second);
    entries_.erase(it);
  }
  Status status = e.error;
  for (size_t i = 0; i < e.transfers.size() && status.ok(); ++i) {
    for (;;) {
      if (gone || std::chrono::steady_clock::now() >= deadline) {
        status = gone ? cancelled("decode worker went away")
                      : deadline_exceeded("KV transfer past its deadline");
        break;
      }
      Status s = agent_.wait(e.transfers[i], std::chrono::milliseconds(100));
      if (s.code() == StatusCode::kDeadlineExceeded) continue;
      status = s;
      break;
    }
  }
  if (!status.ok()) {
    for (uint64_t t : e.transfers) (void)agent_.cancel(t);
    return status;
  }
  pushed.bytes = e.bytes;
  return pushed;
}

}  // namespace pdserve::prefill
