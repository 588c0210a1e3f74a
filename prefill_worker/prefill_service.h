// POST /internal/v1/prefill: the prefill worker computes a prompt's KV
// (chunked, with its own prefix cache), writes every block the decode worker
// does not hold yet into the decode worker's blocks through kvtransfer, and
// answers with the first sampled token once the data has landed. Each
// request is one coroutine (prefill()) whose body follows this diagram top
// to bottom:
//
//   parse, check the target, connect to D's agent (once per agent)
//   prefill: a prefill-only request, its blocks kept (engine loop; each
//     layer of the last step is pushed as it is done, layer_pusher.h)
//     └─ failed / aborted ─▶ error answer
//   first token ─▶ transfer thread: post the layers not pushed yet, wait for
//     every write ≤ deadline (cancelled when D goes away)
//   release the blocks (engine loop)
//   answer: first token and bytes sent, or the error
//
// The decode worker going away (its connection closing) aborts the prefill,
// or cancels the transfer when it is running; whenever it happens (before
// the request was admitted, or between the prefill's end and the transfer)
// the request's blocks are freed. Past the request's deadline the transfer
// is cancelled and nothing more is written.
//
// An exception that escapes the coroutine (a bug) ends only its request:
// logged, its blocks freed (prefilling or pinned), the decode worker
// answered with an error.
// Thread-safety: handle() may be called from any server io thread.
#pragma once

#include <condition_variable>
#include <coroutine>
#include <deque>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include "common/base/request_fault.h"
#include "common/base/task.h"
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
  // The request's life, as drawn above.
  Task<> prefill(std::shared_ptr<Job> job);
  // Moves the awaiting coroutine to the transfer thread (pusher_.finish blocks).
  struct ToTransferThread;  // prefill_service.cpp
  ToTransferThread to_transfer_thread();
  void transfer_loop();
  // The request's coroutine threw `error`: ends the request as drawn above.
  void fail_thrown(Job& job, const std::exception_ptr& error);
  // The decode worker's agent as a peer, connected once per agent, again
  // after forget_peer() (a transfer to it failed kUnavailable: the peer is
  // broken, kvtransfer refuses its later writes; connect() makes a new one).
  Result<uint64_t> peer(const std::string& metadata);
  void forget_peer(const std::string& metadata);

  worker::WorkerRuntime& rt_;
  kvtransfer::Agent& agent_;
  worker::KvRegions regions_;
  server::Counter kv_bytes_, prefills_, layers_during_, layers_after_;
  LayerPusher pusher_;
  RequestFault fault_;  // the drill's (request_fault.h)
  std::mutex peers_mu_;
  std::map<std::string, uint64_t> peers_;  // agent metadata -> peer id

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::coroutine_handle<>> queue_;  // coroutines to resume on thread_
  bool stopping_ = false;
  std::thread thread_;  // last
};

}  // namespace pdserve::prefill
