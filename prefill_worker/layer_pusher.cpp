#include "prefill_worker/layer_pusher.h"

#include <algorithm>
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
  Entry& e = entries_[seq_id];
  e.from_block = target.target.first_block;
  e.target = std::move(target);
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
  changed_.notify_all();
  for (uint64_t t : transfers) (void)agent_.cancel(t);
}

void LayerPusher::post_layer(Entry& e, int layer, int from, int to, bool notify,
                             const std::vector<int32_t>& blocks) {
  const server::internal::KvTarget& t = e.target.target;
  const size_t l = static_cast<size_t>(layer);
  std::vector<kvtransfer::WriteOp> ops;
  for (size_t i = static_cast<size_t>(from);
       i < static_cast<size_t>(to) && i < t.block_ids.size() && i < blocks.size(); ++i) {
    ops.push_back({regions_.layer_regions[l],
                   static_cast<uint64_t>(blocks[i]) * regions_.block_bytes, t.layer_regions[l],
                   static_cast<uint64_t>(t.block_ids[i]) * t.block_bytes, regions_.block_bytes});
  }
  if (ops.empty() || !e.error.ok()) return;  // nothing the decode worker lacks, or failed already
  if (e.transfers.empty()) {
    timeline_.record(e.target.notification, "kv_transfer_start",
                     {{"blocks", static_cast<int64_t>(ops.size())}, {"layer", int64_t{layer}}});
  }
  const uint64_t bytes = ops.size() * regions_.block_bytes;
  Result<uint64_t> id = agent_.post_write(e.target.peer, std::move(ops),
                                          notify ? e.target.notification : std::string(), t.epoch);
  if (!id.ok()) {
    e.error = id.status();
    return;
  }
  e.transfers.push_back(*id);
  e.bytes += bytes;
}

bool LayerPusher::begin_step(Entry& e, const runner::SeqStep& s) const {
  const int num_blocks = static_cast<int>(e.target.target.block_ids.size());
  const auto computed =
      static_cast<int64_t>(s.num_computed) + static_cast<int64_t>(s.input_ids.size());
  // A chunk completes its full blocks; the step that ends the prompt (the
  // one that samples) completes every block, the last one partly filled.
  const int to = s.sample ? num_blocks
                          : static_cast<int>(std::min<int64_t>(
                                num_blocks, computed / std::max(regions_.block_size, 1)));
  if (to <= e.from_block && !s.sample) return false;
  e.step_from = e.from_block;
  e.step_to = std::max(to, e.from_block);
  e.step_ends_prompt = s.sample;
  return true;
}

void LayerPusher::on_layer(int layer, const runner::StepBatch& batch) {
  Job job;
  job.layer = layer;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (entries_.empty()) return;
    for (const runner::SeqStep& s : batch.seqs) {
      auto it = entries_.find(s.seq_id);
      if (it == entries_.end()) continue;
      Entry& e = it->second;
      if (e.pushed_all || layer != e.step_layer || (layer == 0 && !begin_step(e, s))) continue;
      const bool last_layer = layer + 1 == num_layers();
      job.seqs.push_back(
          {s.seq_id, e.step_from, e.step_to, last_layer && e.step_ends_prompt, s.block_table});
      ++e.jobs_queued;
      e.step_layer = last_layer ? 0 : layer + 1;
      if (last_layer) {
        e.from_block = e.step_to;
        e.pushed_all = e.step_ends_prompt;
      }
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
      for (const SeqLayer& q : job.seqs) {
        auto it = entries_.find(q.seq_id);  // gone: forgotten meanwhile
        if (it == entries_.end()) continue;
        post_layer(it->second, job.layer, q.from, q.to, q.notify, q.blocks);
        ++it->second.jobs_posted;
      }
    }
    changed_.notify_all();
  }
}

namespace {

// Why finish() stops waiting: the decode worker went away or the deadline passed.
Status still_wanted(std::chrono::steady_clock::time_point deadline, const std::atomic<bool>& gone) {
  if (gone) return cancelled("decode worker went away");
  if (std::chrono::steady_clock::now() >= deadline) {
    return deadline_exceeded("KV transfer past its deadline");
  }
  return ok_status();
}

constexpr std::chrono::milliseconds kPoll{100};  // how often finish() looks at `gone`

}  // namespace

Result<LayerPusher::Pushed> LayerPusher::finish(uint64_t seq_id, const std::vector<int32_t>& blocks,
                                                std::chrono::steady_clock::time_point deadline,
                                                const std::atomic<bool>& gone) {
  Entry e;
  Pushed pushed;
  Status status;
  {
    std::unique_lock<std::mutex> lock(mu_);
    // The step is over, so the queued layers' markers fire: let them post
    // (forget() may drop the entry meanwhile), while the push is still wanted.
    auto posted = [&] {
      auto q = entries_.find(seq_id);
      return stopping_ || q == entries_.end() || q->second.jobs_posted == q->second.jobs_queued;
    };
    while (!changed_.wait_for(lock, kPoll, posted) &&
           (status = still_wanted(deadline, gone)).ok()) {
    }
    auto it = entries_.find(seq_id);
    if (it == entries_.end())
      return not_found("no push expected for sequence " + std::to_string(seq_id));
    Entry& entry = it->second;
    if (status.ok() && entry.jobs_posted != entry.jobs_queued) {
      status = cancelled("prefill worker shutting down");
    }
    pushed.layers_during_prefill = entry.jobs_posted;
    if (status.ok() && !entry.pushed_all) {
      // What the hook did not queue (a step it did not see): every layer of
      // every block not pushed yet, at once. A step stopped midway pushed
      // [step_from, step_to) of its first step_layer layers.
      const int all = static_cast<int>(entry.target.target.block_ids.size());
      for (int l = 0; l < num_layers(); ++l) {
        const int from = l < entry.step_layer ? entry.step_to : entry.from_block;
        post_layer(entry, l, from, all, l + 1 == num_layers(), blocks);
        ++pushed.layers_after;
      }
    }
    e = std::move(entry);
    entries_.erase(it);  // a layer still waiting for its marker is not posted
  }
  if (status.ok()) status = e.error;
  for (size_t i = 0; i < e.transfers.size() && status.ok(); ++i) {
    for (;;) {
      status = still_wanted(deadline, gone);
      if (!status.ok()) break;
      status = agent_.wait(e.transfers[i], kPoll);
      if (status.code() != StatusCode::kDeadlineExceeded) break;
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
