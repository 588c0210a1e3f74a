#include "prefill_worker/prefill_service.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "common/base/async_queue.h"
#include "common/base/logging.h"
#include "common/server/auth.h"
#include "common/wire/internal_api.h"
#include "common/wire/openai_error.h"

namespace pdserve::prefill {

namespace internal = server::internal;
using Clock = std::chrono::steady_clock;

struct PrefillService::Job {
  internal::PrefillRequest req;
  std::shared_ptr<server::ResponseWriter> writer;
  uint64_t engine_id = 0;
  Clock::time_point deadline;
  // The engine's outputs of the request, for prefill().
  AsyncQueue<Result<scheduler::RequestOutput>> outputs;
  std::atomic<bool> peer_gone{false};
  std::atomic<bool> prefilled{false};  // the transfer owns the blocks from here

  void fail(const Status& status) {
    internal::PrefillResponse r;
    r.error = internal::ErrorInfo{server::http_status_for(status.code()), status.message(), ""};
    writer->respond(server::Response::json(200, internal::to_json(r)));
  }
};

struct PrefillService::ToTransferThread {
  PrefillService& service;
  bool await_ready() noexcept { return false; }
  void await_suspend(std::coroutine_handle<> handle) {
    {
      std::lock_guard<std::mutex> lock(service.mu_);
      service.queue_.push_back(handle);
    }
    service.cv_.notify_all();
  }
  void await_resume() noexcept {}
};

namespace {

// The target must describe blocks of our geometry, one per prompt block.
Status check_target(const internal::KvTarget& t, const worker::KvRegions& ours, size_t prompt_len) {
  if (t.compat_key != ours.compat_key) {
    return failed_precondition("KV layout mismatch: decode worker has '" + t.compat_key +
                               "', this prefill worker '" + ours.compat_key + "'");
  }
  if (t.layer_regions.size() != ours.layer_regions.size() || t.block_bytes != ours.block_bytes) {
    return invalid_argument("target: " + std::to_string(t.layer_regions.size()) + " layers of " +
                            std::to_string(t.block_bytes) + "-byte blocks, expected " +
                            std::to_string(ours.layer_regions.size()) + " of " +
                            std::to_string(ours.block_bytes));
  }
  const size_t num_blocks = (prompt_len + ours.block_size - 1) / ours.block_size;
  if (t.block_ids.size() != num_blocks) {
    return invalid_argument("target: " + std::to_string(t.block_ids.size()) + " blocks for a " +
                            std::to_string(prompt_len) + "-token prompt (expected " +
                            std::to_string(num_blocks) + ")");
  }
  if (t.first_block < 0 || static_cast<size_t>(t.first_block) > num_blocks) {
    return invalid_argument("target: first_block " + std::to_string(t.first_block));
  }
  for (int32_t b : t.block_ids) {
    if (b < 0) return invalid_argument("target: negative block id");
  }
  return ok_status();
}

// Whether the prefill's last output (or error) carries the first token.
Status prefill_outcome(const Result<scheduler::RequestOutput>& out) {
  if (!out.ok()) return out.status();
  if (out->finish_reason == scheduler::FinishReason::kError) {
    return internal_error("the model failed while prefilling this request");
  }
  if (out->finish_reason == scheduler::FinishReason::kAbort || out->new_tokens.empty()) {
    return aborted("prefill aborted");
  }
  return ok_status();
}

}  // namespace

PrefillService::PrefillService(worker::WorkerRuntime& runtime, kvtransfer::Agent& agent,
                               worker::KvRegions regions)
    : rt_(runtime),
      agent_(agent),
      regions_(regions),
      pusher_(agent, std::move(regions), runtime.timeline(),
              [&runtime] { return runtime.runner().backend().mark(); }),
      fault_(runtime.config().request_fault, kWorkerFaultEnv),
      thread_([this] { transfer_loop(); }) {
  // Set before any request runs (no step runs while the engine is idle).
  rt_.runner().set_kv_layer_hook(
      [this](int layer, const runner::StepBatch& batch) { pusher_.on_layer(layer, batch); });
  kv_bytes_ = rt_.metrics().counter("pdserve:kv_transfer_bytes_total",
                                    "KV bytes written into decode workers", {{"role", "prefill"}});
  prefills_ = rt_.metrics().counter("pdserve:prefill_requests_total", "Prefill requests answered");
  const char* layers_help = "Layers of KV posted to decode workers, while the prefill ran or after";
  layers_during_ = rt_.metrics().counter("pdserve:kv_layers_pushed_total", layers_help,
                                         {{"when", "during_prefill"}});
  layers_after_ = rt_.metrics().counter("pdserve:kv_layers_pushed_total", layers_help,
                                        {{"when", "after_prefill"}});
}

PrefillService::~PrefillService() {
  rt_.loop().stop();  // no step (and no hook call) after this
  rt_.runner().set_kv_layer_hook(nullptr);
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void PrefillService::mount(server::Routes& routes) {
  routes.add("POST", "/internal/v1/prefill",
             [this](server::Request req, std::shared_ptr<server::ResponseWriter> w) {
               handle(std::move(req), std::move(w));
             },
             {.check = server::cluster_token_check(rt_.config().cluster_token)});
}

void PrefillService::handle(server::Request request,
                            std::shared_ptr<server::ResponseWriter> writer) {
  Result<internal::PrefillRequest> req = internal::parse_prefill_request(request.body);
  if (!req.ok()) {
    writer->respond(server::error_response(req.status()));
    return;
  }
  Status target = check_target(req->target, regions_, req->prompt_ids.size());
  if (!target.ok()) {
    writer->respond(server::error_response(target));
    return;
  }
  Result<uint64_t> to = peer(req->target.agent_metadata);
  if (!to.ok()) {
    writer->respond(server::error_response(to.status().with_context("decode worker's KV agent")));
    return;
  }
  auto job = std::make_shared<Job>();
  job->req = std::move(req).value();
  rt_.timeline().record(
      job->req.request_id, "received",
      {{"prompt_tokens", static_cast<int64_t>(job->req.prompt_ids.size())},
       {"blocks_to_send", static_cast<int64_t>(job->req.target.block_ids.size() -
                                               static_cast<size_t>(job->req.target.first_block))}});
  job->writer = std::move(writer);
  job->engine_id = rt_.next_request_id();
  job->deadline =
      Clock::now() + std::chrono::milliseconds(std::max<int64_t>(job->req.deadline_ms, 1));
  pusher_.expect(job->engine_id, {*to, job->req.target, job->req.request_id});
  std::weak_ptr<Job> weak = job;
  job->writer->on_disconnect([this, weak] {
    std::shared_ptr<Job> j = weak.lock();
    if (!j) return;
    j->peer_gone = true;
    if (!j->prefilled) {  // else the transfer thread cleans up
      rt_.loop().abort(j->engine_id);
      pusher_.forget(j->engine_id);
    }
  });
  auto on_error = [this, job](std::exception_ptr error) { fail_thrown(*job, error); };
  spawn(prefill(std::move(job)), std::move(on_error));
}

void PrefillService::fail_thrown(Job& job, const std::exception_ptr& error) {
  PD_LOG(ERROR) << "prefill " << job.req.request_id << ": " << exception_message(error);
  rt_.timeline().record(job.req.request_id, "failed", {{"error", std::string("internal error")}});
  pusher_.forget(job.engine_id);
  rt_.loop().abort(job.engine_id);  // prefilling or pinned: its blocks are freed
  job.fail(internal_error("internal error while serving this request"));
}

Task<> PrefillService::prefill(std::shared_ptr<Job> job) {
  // Prefill: a prefill-only request whose blocks are kept (PINNED).
  scheduler::RequestSpec spec{job->req, job->engine_id};
  spec.prefill_only = true;
  spec.keep_blocks = true;
  engine::EngineLoop::Sink sink = [job](Result<scheduler::RequestOutput> out) {
    job->outputs.push(std::move(out));
  };
  Status added = co_await rt_.loop().add_request(std::move(spec), std::move(sink));
  if (!added.ok()) {
    pusher_.forget(job->engine_id);
    if (added.code() == StatusCode::kFailedPrecondition) {  // the loop stopped
      job->fail(unavailable("prefill worker is stopping"));
    } else {  // the engine refused it
      job->writer->respond(server::error_response(added));
    }
    co_return;
  }
  if (job->peer_gone) {  // went away before it was admitted: on_disconnect's abort found nothing
    pusher_.forget(job->engine_id);
    (void)co_await rt_.loop().discard(job->engine_id);
    co_return;
  }
  RequestTimeline& timeline = rt_.timeline();
  timeline.record(job->req.request_id, "prefill_start");
  Result<scheduler::RequestOutput> out = co_await job->outputs.pop();
  while (out.ok() && !out->finished) out = co_await job->outputs.pop();
  Status prefilled = prefill_outcome(out);
  if (!prefilled.ok()) {
    pusher_.forget(job->engine_id);
    job->fail(prefilled);
    co_return;
  }
  // First token: the blocks are pinned until released below.
  job->prefilled = true;
  timeline.record(job->req.request_id, "prefill_end",
                  {{"cached_tokens", static_cast<int64_t>(out->num_cached_tokens)}});
  fault_.maybe_throw();  // the drill's fault: the request's blocks are pinned
  if (job->peer_gone) {  // went away just now: release them
    pusher_.forget(job->engine_id);
    (void)co_await rt_.loop().release(job->engine_id);
    co_return;
  }
  // Transfer: post what the layer hook did not, wait for every write.
  co_await to_transfer_thread();
  Result<LayerPusher::Pushed> pushed =
      pusher_.finish(job->engine_id, out->block_ids, job->deadline, job->peer_gone);
  // Release.
  (void)co_await rt_.loop().release(job->engine_id);
  // Answer.
  if (!pushed.ok()) {
    PD_LOG(WARN) << "prefill " << job->req.request_id << ": " << pushed.status().to_string();
    if (pushed.status().code() == StatusCode::kUnavailable)
      forget_peer(job->req.target.agent_metadata);
    job->fail(pushed.status());
    co_return;
  }
  timeline.record(job->req.request_id, "kv_transfer_end",
                  {{"bytes", static_cast<int64_t>(pushed->bytes)},
                   {"layers_during_prefill", int64_t{pushed->layers_during_prefill}},
                   {"layers_after", int64_t{pushed->layers_after}}});
  layers_during_.inc(pushed->layers_during_prefill);
  layers_after_.inc(pushed->layers_after);
  kv_bytes_.inc(static_cast<double>(pushed->bytes));
  prefills_.inc();
  internal::PrefillResponse r;
  r.first_token = out->new_tokens.front();
  r.num_cached_tokens = out->num_cached_tokens;
  r.bytes_transferred = pushed->bytes;
  job->writer->respond(server::Response::json(200, internal::to_json(r)));
}

PrefillService::ToTransferThread PrefillService::to_transfer_thread() {
  return ToTransferThread{*this};
}

void PrefillService::transfer_loop() {
  for (;;) {
    std::coroutine_handle<> next;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, nothing left
      next = queue_.front();
      queue_.pop_front();
    }
    next.resume();
  }
}

Result<uint64_t> PrefillService::peer(const std::string& metadata) {
  std::lock_guard<std::mutex> lock(peers_mu_);
  auto it = peers_.find(metadata);
  if (it != peers_.end()) return it->second;
  PD_ASSIGN_OR_RETURN(uint64_t id, agent_.connect(metadata));
  if (peers_.size() > 1024) peers_.clear();  // bounded; reconnecting is cheap
  peers_[metadata] = id;
  return id;
}

void PrefillService::forget_peer(const std::string& metadata) {
  std::lock_guard<std::mutex> lock(peers_mu_);
  peers_.erase(metadata);
}

}  // namespace pdserve::prefill
