// POST /internal/v1/prefill: the prefill worker computes a prompt's KV
// (chunked, with its own prefix cache), writes every block the decode worker
// does not hold yet into the decode worker's blocks through kvtransfer, and
// answers with the first sampled token once the data has landed.
//
//   parse ─▶ prefill-only request, blocks kept ─▶ first token ─▶ transfer thread:
//            (engine loop)                                         connect (cached),
//                                                                  post_write(all layers),
//                                                                  wait ≤ deadline ─▶ release ─▶
//                                                                  answer
//
// The decode worker going away (its connection closing) aborts the prefill,
// or cancels the transfer when it is running. Past the request's deadline
// the transfer is cancelled and nothing more is written.
// Thread-safety: handle() may be called from any server io thread.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include "common/server/metrics.h"
#include "common/server/routes.h"
#include "kvtransfer/agent.h"
#include "prefill_worker/layer_pusher.h"
#include "worker/kv_regions.h"
#include "worker/worker_process.h"
#include "worker/worker_runtime.h"

namespace pdserve::prefill {

class PrefillService final : public worker::RoleService {
 public:
  PrefillService(worker::WorkerRuntime& runtime, kvtransfer::Agent& agent,
                 worker::KvRegions regions);
  ~PrefillService();  // finishes the transfer queue

  void mount(server::Routes& routes) override;
  void handle(server::Request request, std::shared_ptr<server::ResponseWriter> writer);

  struct Job;  // one request (prefill_service.cpp)

 private:
  void on_prefilled(std::shared_ptr<Job> job, scheduler::RequestOutput out);
  void transfer(Job& job);
  void transfer_loop();
  // The decode worker's agent as a peer, connected once per agent.
  Result<uint64_t> peer(const std::string& metadata);

  worker::WorkerRuntime& rt_;
  kvtransfer::Agent& agent_;
  worker::KvRegions regions_;
  server::Counter kv_bytes_, prefills_, layers_during_, layers_after_;
  LayerPusher pusher_;
  std::mutex peers_mu_;
  std::map<std::string, uint64_t> peers_;  // agent metadata -> peer id

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::shared_ptr<Job>> queue_;
  bool stopping_ = false;
  std::thread thread_;  // last
};

}  // namespace pdserve::prefill
