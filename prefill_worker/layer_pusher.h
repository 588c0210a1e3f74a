// Layer-wise KV push: while a prefill runs its last step, each layer's K/V is
// written into the decode worker's blocks as soon as that layer is done, so
// the transfer overlaps the rest of the forward pass (DESIGN.md). Nothing
// waits for the device on the runner thread: the hook marks the backend's
// stream after each layer and hands the layer to a posting thread, which
// posts it once the marker has fired (the compute stream runs on). Every
// layer goes as its own kvtransfer write with the request's epoch (the decode
// worker granted its blocks for that epoch only); every layer but the last
// has an empty notification (the decode worker ignores those), the last one
// carries the request id (never empty), and the prefill worker answers only
// after every write completed.
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
  // layer, behind a marker, for every expected sequence whose prompt this
  // step completes.
  void on_layer(int layer, const runner::StepBatch& batch);

  struct Pushed {
    uint64_t bytes = 0;
    int layers_during_prefill = 0;  // queued by on_layer while the prefill computed
    int layers_after = 0;           // posted by finish
  };
  // After the prefill finished with `blocks` (its pinned blocks): waits until
  // the layers the hook queued are posted, posts the ones it did not (all
  // of them when it never saw the sequence),
  // waits for every write until `deadline` or until `gone` is set (then
  // cancels), and forgets the sequence.
  Result<Pushed> finish(uint64_t seq_id, const std::vector<int32_t>& blocks,
                        std::chrono::steady_clock::time_point deadline,
                        const std::atomic<bool>& gone);

 private:
  struct Entry {
    Target target;
    std::vector<uint64_t> transfers;  // posted writes
    int num_layers_queued = 0;        // handed to the posting thread (or posted by finish)
    int num_layers_posted = 0;
    uint64_t bytes = 0;
    Status error;  // a post that failed
  };
  // One layer of one step, for the sequences (id, block table) it completes.
  struct Job {
    int layer = 0;
    std::unique_ptr<backend::Marker> ready;
    std::vector<std::pair<uint64_t, std::vector<int32_t>>> seqs;
  };
  // Posts layer `layer` of `blocks` for e (under mu_).
  void post_layer(Entry& e, int layer, const std::vector<int32_t>& blocks);
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
