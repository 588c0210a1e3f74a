// Layer-wise KV push: while a prefill runs, each layer's K/V is written into
// the decode worker's blocks as soon as that layer is done, so the transfer
// overlaps the rest of the forward pass (DESIGN.md): in every step, the
// blocks that step completes (a chunk of a long prompt completes its full
// blocks; the step that ends the prompt completes the rest). Nothing waits
// for the device on the runner thread: the hook marks the backend's stream
// after each layer and hands the layer to a posting thread, which posts it
// once the marker has fired (the compute stream runs on). Every layer of
// every step goes as its own kvtransfer write with the request's epoch (the
// decode worker granted its blocks for that epoch only); only the last
// layer of the step that ends the prompt carries the request id (never
// empty) as its notification, the others an empty one (the decode worker
// ignores those), and the prefill worker answers only after every write
// completed.
//
//   pusher.expect(seq_id, {peer, target, request_id});   // before the request runs
//   runner hook: pusher.on_layer(layer, batch);          // runner thread
//   posting thread: marker fired -> agent.post_write     // in layer order
//   after the prefill: pusher.finish(seq_id, blocks, deadline, gone) -> bytes
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "common/base/request_timeline.h"
#include "common/base/status.h"
#include "common/wire/internal_api.h"
#include "engine/backend/backend.h"
#include "engine/runner/model_runner.h"
#include "kvtransfer/agent.h"
#include "worker/kv_regions.h"

namespace pdserve::prefill {

class LayerPusher {
 public:
  // mark() makes a marker after the ops issued so far (the runner's
  // backend().mark()). The first layer posted for a request is its
  // "kv_transfer_start" milestone.
  using MakeMarker = std::function<std::unique_ptr<backend::Marker>()>;
  LayerPusher(kvtransfer::Agent& agent, worker::KvRegions regions, RequestTimeline& timeline,
              MakeMarker mark);
  // Stops the posting thread; layers still waiting for their marker are not posted.
  ~LayerPusher();
  LayerPusher(const LayerPusher&) = delete;
  LayerPusher& operator=(const LayerPusher&) = delete;

  struct Target {
    uint64_t peer = 0;
    server::internal::KvTarget target;
    std::string notification;
  };
  void expect(uint64_t seq_id, Target target);
  // Cancels what was posted for it and forgets it (aborted request).
  void forget(uint64_t seq_id);

  // Runner thread, once `layer` of `batch` issued its K/V writes: queues that
  // layer of the blocks the step completes, behind a marker, for every
  // expected sequence in it.
  void on_layer(int layer, const runner::StepBatch& batch);

  struct Pushed {
    uint64_t bytes = 0;
    int layers_during_prefill = 0;  // layer writes queued by on_layer while the prefill computed
    int layers_after = 0;           // layer writes posted by finish
  };
  // After the prefill finished with `blocks` (its pinned blocks): waits until
  // the layers the hook queued are posted, posts what it did not (every
  // layer when it never saw the sequence's last step), waits for every
  // write, and forgets the sequence. Every wait ends at `deadline` or once
  // `gone` is set (looked at every 100 ms): then it cancels what was posted
  // (a layer still waiting for its marker is never posted) and returns
  // kDeadlineExceeded or kCancelled.
  Result<Pushed> finish(uint64_t seq_id, const std::vector<int32_t>& blocks,
                        std::chrono::steady_clock::time_point deadline,
                        const std::atomic<bool>& gone);

 private:
  struct Entry {
    Target target;
    std::vector<uint64_t> transfers;  // posted writes
    int from_block = 0;               // blocks before it are pushed (or the decode worker has them)
    int step_layer = 0;               // next layer of the step in progress (0: none in progress)
    int step_from = 0;                // that step's blocks: [step_from, step_to)
    int step_to = 0;
    bool step_ends_prompt = false;
    bool pushed_all = false;  // every layer of the step that ends the prompt queued
    int jobs_queued = 0;      // layer writes handed to the posting thread
    int jobs_posted = 0;
    uint64_t bytes = 0;
    Status error;  // a post that failed
  };
  // One layer of one step, for the sequences it pushes blocks of.
  struct SeqLayer {
    uint64_t seq_id = 0;
    int from = 0, to = 0;  // block indices into the prompt
    bool notify = false;   // the last write of the request
    std::vector<int32_t> blocks;
  };
  struct Job {
    int layer = 0;
    std::unique_ptr<backend::Marker> ready;
    std::vector<SeqLayer> seqs;
  };
  // Posts layer `layer` of prompt blocks [from, to) (source `blocks`) for
  // e, with the request's notification when `notify` (under mu_).
  void post_layer(Entry& e, int layer, int from, int to, bool notify,
                  const std::vector<int32_t>& blocks);
  // The step of s begins (layer 0): sets e's step range; false when the step
  // completes no block to push.
  bool begin_step(Entry& e, const runner::SeqStep& s) const;
  int num_layers() const { return static_cast<int>(regions_.layer_regions.size()); }
  void post_loop();  // the posting thread

  kvtransfer::Agent& agent_;
  const worker::KvRegions regions_;
  RequestTimeline& timeline_;
  const MakeMarker mark_;
  std::mutex mu_;
  std::condition_variable changed_;  // a job queued or posted, or stopping
  std::map<uint64_t, Entry> entries_;
  std::deque<Job> jobs_;
  bool stopping_ = false;
  std::thread thread_;  // last: starts after everything it uses
};

}  // namespace pdserve::prefill
