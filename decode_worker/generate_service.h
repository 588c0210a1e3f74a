// POST /internal/v1/generate: the decode worker's admission point. Each
// request is one coroutine (generate()) whose body follows this diagram top
// to bottom:
//
//   admit: parse, look up the prompt in the prefix cache
//   decide (prefill_decision.h) ──local──────────────────────────────▶ add_request ──┐
//     │remote                                                               ▲         │
//   allocate blocks for the prompt (REMOTE_KV)                              │         │
//   ask P: grant the blocks, POST P/internal/v1/prefill                     │         │
//   await the KV: P's answer, then its notification (deadline; P stalled:   │         │
//     PrefillWatch ends the wait at once)                                   │         │
//     ├─ landed ─▶ start decoding (P's first token) ────────────────────────┼──────┐  │
//     └─ failed ─▶ fall back: discard the allocation, prefill locally ──────┘      ▼  ▼
//                  (--no-prefill-fallback: an error event)            stream: an event per
//                                                                     step, last event, [DONE]
//
// The coroutine runs on the engine loop thread while it admits, allocates,
// starts decoding and streams (engine/engine_loop.h), and on the HTTP
// client's and the KV arrivals' threads while it waits for P; between two
// waits nothing blocks.
//
// A client that goes away aborts the request. While a remote prefill is in
// flight the blocks stay allocated until the prefill worker answered (its
// deadline bounds that), and the epoch is fenced, so that no late write
// lands in blocks that were freed and reused.
//
// An exception that escapes the coroutine (a bug) ends only its request:
// logged, the epoch fenced, the engine request aborted (its blocks freed),
// and the router told with an error answer or event.
// Thread-safety: handle() may be called from any server io thread.
#pragma once

#include <atomic>
#include <chrono>
#include <exception>
#include <memory>

#include "common/base/request_fault.h"
#include "common/base/task.h"
#include "common/server/http_client.h"
#include "common/server/metrics.h"
#include "common/server/routes.h"
#include "common/server/sse_heartbeat.h"
#include "decode_worker/kv_arrivals.h"
#include "decode_worker/prefill_decision.h"
#include "decode_worker/prefill_watch.h"
#include "kvtransfer/agent.h"
#include "worker/kv_regions.h"
#include "worker/worker_process.h"
#include "worker/worker_runtime.h"

namespace pdserve::decode {

struct GenerateServiceOptions {
  PrefillPolicy policy;
  std::chrono::milliseconds prefill_timeout{60'000};  // the prefill worker's whole answer
  std::chrono::milliseconds arrival_timeout{5'000};   // notification after its answer
  // An SSE comment on every open stream this often, so the router can tell a
  // quiet stream from a stalled worker (its --stream-silence-timeout).
  std::chrono::milliseconds heartbeat_interval{1'000};
  // A prefill worker that leaves a health probe (sent every heartbeat_interval
  // while a prefill to it is in flight) unanswered this long is stalled: its
  // prefills fall back at once (PrefillWatch).
  std::chrono::milliseconds prefill_stall_timeout{3'000};
};

class GenerateService final : public worker::RoleService {
 public:
  GenerateService(GenerateServiceOptions options, worker::WorkerRuntime& runtime,
                  kvtransfer::Agent& agent, worker::KvRegions regions);
  ~GenerateService();

  void mount(server::Routes& routes) override;
  void handle(server::Request request, std::shared_ptr<server::ResponseWriter> writer);

  struct Stream;  // one request's state (generate_service.cpp)

 private:
  // The request's life, as drawn above.
  Task<> generate(std::shared_ptr<Stream> s);
  // add_request and the stream opened; false when the request ended here
  // (refused: answered; the client gone: discarded).
  Task<bool> add_locally(std::shared_ptr<Stream> s);
  // Asks P for the KV of the allocated blocks and awaits it; P's first
  // token, or why not. The epoch's grant is revoked on every path.
  Task<Result<runner::SampledToken>> prefill_remotely(Stream& s,
                                                      scheduler::RemotePrefillAllocation alloc);
  // POST P/internal/v1/prefill: P's answer, or (PrefillWatch) that P stalled.
  CallbackAwaitable<Result<server::ClientResponse>> ask_prefill(
      server::ClientRequest request, const server::internal::WorkerAddress& prefill);
  // Relays the engine's outputs as events until the last one.
  Task<> stream(Stream& s);
  // Starts the SSE answer (once) and aborts on disconnect; false when the
  // client is already gone.
  bool open_stream(const std::shared_ptr<Stream>& s);
  // The request's coroutine threw `error`: ends the request as drawn above.
  void fail_thrown(Stream& s, const std::exception_ptr& error);

  GenerateServiceOptions options_;
  worker::WorkerRuntime& rt_;
  kvtransfer::Agent& agent_;
  worker::KvRegions regions_;
  KvArrivals arrivals_;
  server::SseHeartbeat heartbeat_;
  server::HttpClient client_;
  server::Counter remote_prefills_, local_prefills_, remote_failures_, fallbacks_, kv_bytes_;
  server::Histogram remote_seconds_;
  RequestFault fault_;          // the drill's (request_fault.h)
  PrefillWatch prefill_watch_;  // last: its stall callbacks use the members above
};

}  // namespace pdserve::decode
