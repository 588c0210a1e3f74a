// POST /internal/v1/generate: the decode worker's admission point. It admits
// the request into the engine (or answers 429/503/400), decides where the
// prompt is prefilled, and streams a GenerateEvent per step as SSE.
//
// Request life on the decode worker:
//
//   admit ──local──▶ add_request ─────────────────────────────▶ DECODING ──▶ last event, [DONE]
//     │                                                             ▲
//     └─remote─▶ allocate blocks ─▶ POST prefill worker ─▶ KV landed ┘ start_decode
//                   (REMOTE_KV)        │ failed / timed out / its worker stalled (PrefillWatch)
//                                      └─▶ fallback: abort the allocation, add_request locally
//                                          (or an error event, when fallback is off)
//
// A client that goes away aborts the request. While a remote prefill is in
// flight the blocks stay allocated until the prefill worker answered (its
// deadline bounds that), and the epoch is fenced, so that no late write
// lands in blocks that were freed and reused.
// Thread-safety: handle() may be called from any server io thread.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>

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
  void admit(std::shared_ptr<Stream> s, engine::Engine* eng);
  void prefill_remotely(std::shared_ptr<Stream> s, scheduler::RemotePrefillAllocation alloc);
  void on_prefill_answer(std::shared_ptr<Stream> s, Result<server::ClientResponse> answer);
  void start_decode(std::shared_ptr<Stream> s, runner::SampledToken first);
  void fall_back(std::shared_ptr<Stream> s, const Status& why);
  void add_locally(std::shared_ptr<Stream> s, engine::Engine& eng);
  // Starts the SSE answer (once) and aborts on disconnect; false when the
  // client is already gone.
  bool open_stream(const std::shared_ptr<Stream>& s);
  engine::EngineLoop::Sink sink_for(std::shared_ptr<Stream> s);

  GenerateServiceOptions options_;
  worker::WorkerRuntime& rt_;
  kvtransfer::Agent& agent_;
  worker::KvRegions regions_;
  KvArrivals arrivals_;
  server::SseHeartbeat heartbeat_;
  server::HttpClient client_;
  server::Counter remote_prefills_, local_prefills_, remote_failures_, fallbacks_, kv_bytes_;
  server::Histogram remote_seconds_;
  PrefillWatch prefill_watch_;  // last: its stall callbacks use the members above
};

}  // namespace pdserve::decode
