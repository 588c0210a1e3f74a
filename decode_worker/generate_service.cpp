#include "decode_worker/generate_service.h"

#include <mutex>
#include <string>
#include <utility>

#include "common/base/async_queue.h"
#include "common/base/logging.h"
#include "common/server/auth.h"
#include "common/wire/internal_api.h"
#include "common/wire/openai_error.h"

namespace pdserve::decode {

namespace internal = server::internal;

struct GenerateService::Stream {
  internal::GenerateRequest req;
  std::shared_ptr<server::ResponseWriter> writer;
  std::shared_ptr<server::SseWriter> sse;  // once admitted
  // The engine's outputs of the request, for stream() (see sink()).
  AsyncQueue<Result<scheduler::RequestOutput>> outputs;
  std::atomic<uint64_t> engine_id{0};
  std::atomic<bool> client_gone{false};
  std::atomic<bool> in_remote_prefill{false};
  std::chrono::steady_clock::time_point remote_start;  // asked the prefill worker
  std::string location = "local";
  int num_cached_tokens = 0;

  scheduler::RequestSpec spec(uint64_t id) const { return {req, id}; }
  // A milestone of this request on the worker's timeline.
  void mark(worker::WorkerRuntime& rt, std::string_view event,
            std::vector<MilestoneField> fields = {}) const {
    rt.timeline().record(req.request_id, event, std::move(fields));
  }
  // Ends the stream with an error event (after admission) or answer.
  void fail(const Status& status) {
    if (!sse) {
      writer->respond(server::error_response(status));
      return;
    }
    internal::GenerateEvent ev;
    ev.error = internal::ErrorInfo{server::http_status_for(status.code()), status.message(), ""};
    (void)sse->send_event(internal::to_json(ev));
    (void)sse->send_event("[DONE]");
    sse->close();
  }
};

namespace {

engine::EngineLoop::Sink sink(std::shared_ptr<GenerateService::Stream> s) {
  return [s](Result<scheduler::RequestOutput> out) { s->outputs.push(std::move(out)); };
}

// A call that may be abandoned before send_async returned its handle.
class AbandonableCall {
 public:
  void set(server::PendingCall call) {
    std::lock_guard lock(mu_);
    call_ = std::move(call);
    if (abandoned_) call_.cancel();
  }
  void abandon() {
    std::lock_guard lock(mu_);
    abandoned_ = true;
    call_.cancel();
  }

 private:
  std::mutex mu_;
  server::PendingCall call_;
  bool abandoned_ = false;
};

// P's answer to POST /internal/v1/prefill, or why there is none.
Result<internal::PrefillResponse> prefill_answer(Result<server::ClientResponse> answer) {
  if (!answer.ok()) return answer.status();
  if (answer->status != 200) {
    return unavailable("prefill worker answered " + std::to_string(answer->status) + ": " +
                       answer->body.substr(0, 300));
  }
  Result<internal::PrefillResponse> parsed = internal::parse_prefill_response(answer->body);
  if (parsed.ok() && parsed->error) {
    return unavailable("prefill worker: " + parsed->error->message);
  }
  return parsed;
}

}  // namespace

GenerateService::GenerateService(GenerateServiceOptions options, worker::WorkerRuntime& runtime,
                                 kvtransfer::Agent& agent, worker::KvRegions regions)
    : options_(options),
      rt_(runtime),
      agent_(agent),
      regions_(std::move(regions)),
      arrivals_(agent),
      heartbeat_(options.heartbeat_interval),
      fault_(runtime.config().request_fault, kWorkerFaultEnv),
      prefill_watch_(options.heartbeat_interval, options.prefill_stall_timeout) {
  server::MetricsRegistry& m = rt_.metrics();
  remote_prefills_ =
      m.counter("pdserve:decode_prefills_total", "Prompts prefilled", {{"where", "remote"}});
  local_prefills_ =
      m.counter("pdserve:decode_prefills_total", "Prompts prefilled", {{"where", "local"}});
  remote_failures_ = m.counter("pdserve:remote_prefill_failures_total",
                               "Remote prefills or KV transfers that failed");
  fallbacks_ = m.counter("pdserve:decode_prefill_fallbacks_total",
                         "Remote prefills that failed and were done locally");
  kv_bytes_ = m.counter("pdserve:kv_transfer_bytes_total", "KV bytes received from prefill workers",
                        {{"role", "decode"}});
  remote_seconds_ =
      m.histogram("pdserve:remote_prefill_seconds",
                  "From asking a prefill worker to its KV landing here (prefill plus KV transfer)",
                  server::MetricsRegistry::exponential_buckets(0.001, 2, 18));
}

GenerateService::~GenerateService() = default;

void GenerateService::mount(server::Routes& routes) {
  routes.add("POST", "/internal/v1/generate",
             [this](server::Request req, std::shared_ptr<server::ResponseWriter> w) {
               handle(std::move(req), std::move(w));
             },
             {.check = server::cluster_token_check(rt_.config().cluster_token)});
}

void GenerateService::handle(server::Request request,
                             std::shared_ptr<server::ResponseWriter> writer) {
  Result<internal::GenerateRequest> req = internal::parse_generate_request(request.body);
  if (!req.ok()) {
    writer->respond(server::error_response(req.status()));
    return;
  }
  auto s = std::make_shared<Stream>();
  s->req = std::move(req).value();
  s->writer = std::move(writer);
  auto on_error = [this, s](std::exception_ptr error) { fail_thrown(*s, error); };
  spawn(generate(std::move(s)), std::move(on_error));
}

void GenerateService::fail_thrown(Stream& s, const std::exception_ptr& error) {
  PD_LOG(ERROR) << "request " << s.req.request_id << ": " << exception_message(error);
  s.mark(rt_, "failed", {{"error", std::string("internal error")}});
  const uint64_t id = s.engine_id.load();
  if (s.in_remote_prefill) arrivals_.forget(id);  // no late write lands in the freed blocks
  if (id != 0) rt_.loop().abort(id);
  s.fail(internal_error("internal error while serving this request"));
}

Task<> GenerateService::generate(std::shared_ptr<Stream> s) {
  engine::EngineLoop& loop = rt_.loop();
  s->mark(rt_, "received", {{"prompt_tokens", static_cast<int64_t>(s->req.prompt_ids.size())}});
  // Admit. From here the coroutine runs on the loop thread, so the commands
  // up to the stream or P's answer act on the engine as this one saw it.
  const uint64_t id = rt_.next_request_id();
  Result<int> cached = co_await loop.num_cached_prefix_tokens(s->spec(id));
  if (!cached.ok()) {
    s->fail(unavailable("decode worker is stopping"));
    co_return;
  }
  // Decide.
  PrefillInputs in;
  in.mode = s->req.prefill_mode;
  in.has_prefill_worker = s->req.prefill.has_value();
  in.prompt_len = static_cast<int>(s->req.prompt_ids.size());
  in.num_cached_tokens = *cached;
  if (decide_prefill(options_.policy, in) == PrefillPlace::kLocal) {
    if (co_await add_locally(s)) co_await stream(*s);
    co_return;
  }
  // Allocate.
  Result<scheduler::RemotePrefillAllocation> alloc =
      co_await loop.allocate_for_remote_prefill(s->spec(id), sink(s));
  if (!alloc.ok()) {
    s->fail(alloc.status());
    co_return;
  }
  s->engine_id = id;
  s->location = "remote";
  s->mark(rt_, "queued",
          {{"prefill", std::string("remote")},
           {"blocks", static_cast<int64_t>(alloc->block_ids.size())}});
  s->num_cached_tokens = alloc->num_cached_tokens;
  if (!open_stream(s)) {  // the client is gone already
    (void)co_await loop.discard(id);
    co_return;
  }
  // Ask P, await the KV.
  s->in_remote_prefill = true;
  Result<runner::SampledToken> first = co_await prefill_remotely(*s, std::move(alloc).value());
  s->in_remote_prefill = false;
  if (s->client_gone) {
    loop.abort(id);  // the stream below ends with the abort
  } else if (first.ok()) {
    // Start decoding.
    Status started = co_await loop.start_decode(id, std::move(first).value());
    if (!started.ok() && co_await loop.discard(id)) {
      s->fail(started);
      co_return;
    }
  } else {
    // Or fall back.
    remote_failures_.inc();
    PD_LOG(WARN) << "request " << s->req.request_id << ": remote prefill failed ("
                 << first.status().to_string() << ")"
                 << (options_.policy.fallback_to_local ? "; prefilling locally" : "");
    // Not live any more (aborted, engine stopping): the stream below says why.
    if (co_await loop.discard(id)) {
      if (!options_.policy.fallback_to_local || s->client_gone) {
        s->fail(unavailable("remote prefill failed: " + first.status().message()));
        co_return;
      }
      fallbacks_.inc();
      if (!co_await add_locally(s)) co_return;
    }
  }
  // Stream.
  co_await stream(*s);
}

Task<bool> GenerateService::add_locally(std::shared_ptr<Stream> s) {
  const uint64_t id = rt_.next_request_id();
  Status added = co_await rt_.loop().add_request(s->spec(id), sink(s));
  if (!added.ok()) {
    s->fail(added);
    co_return false;
  }
  s->engine_id = id;
  s->location = "local";
  local_prefills_.inc();
  s->mark(rt_, "queued", {{"prefill", std::string("local")}});
  if (!open_stream(s)) {  // the client is gone already
    (void)co_await rt_.loop().discard(id);
    co_return false;
  }
  co_return true;
}

bool GenerateService::open_stream(const std::shared_ptr<Stream>& s) {
  if (s->sse) return true;  // a local retry after a remote prefill failed
  s->sse = s->writer->start_sse();
  if (!s->sse) return false;
  heartbeat_.add(s->sse);
  std::weak_ptr<Stream> weak = s;
  s->sse->on_disconnect([this, weak] {
    std::shared_ptr<Stream> st = weak.lock();
    if (!st) return;
    st->client_gone = true;
    // A remote prefill may still write into the blocks: they are freed once
    // the prefill worker answered (generate()).
    if (!st->in_remote_prefill) rt_.loop().abort(st->engine_id.load());
  });
  return true;
}

Task<Result<runner::SampledToken>> GenerateService::prefill_remotely(
    Stream& s, scheduler::RemotePrefillAllocation alloc) {
  internal::PrefillRequest pr{s.req, s.req.request_id};
  pr.target.agent_metadata = agent_.metadata();
  pr.target.compat_key = regions_.compat_key;
  pr.target.layer_regions = regions_.layer_regions;
  pr.target.block_bytes = regions_.block_bytes;
  pr.target.block_ids = std::move(alloc.block_ids);
  pr.target.first_block = alloc.num_cached_tokens / regions_.block_size;
  pr.target.epoch = s.engine_id.load();
  pr.deadline_ms = options_.prefill_timeout.count();
  const uint64_t epoch = pr.target.epoch;
  // P may write exactly these blocks, for this epoch, until the transfer ends
  // (forget() below revokes the grant, on every path).
  const std::vector<kvtransfer::GrantRange> ranges = worker::destination_ranges(
      regions_, pr.target.block_ids, static_cast<size_t>(pr.target.first_block));
  if (!ranges.empty()) {
    Status granted = agent_.grant(epoch, ranges, kvtransfer::GrantScope::kFirstPeer);
    if (!granted.ok()) {
      arrivals_.forget(epoch);
      co_return granted.with_context("granting the prefill's KV blocks");
    }
  }
  server::ClientRequest creq = server::ClientRequest::post_json(
      s.req.prefill->host, s.req.prefill->port, "/internal/v1/prefill", internal::to_json(pr));
  creq.headers.set("Authorization", "Bearer " + rt_.config().cluster_token);
  creq.read_timeout = options_.prefill_timeout + std::chrono::seconds(5);
  s.remote_start = std::chrono::steady_clock::now();
  s.mark(rt_, "prefill_remote",
         {{"prefill_worker", s.req.prefill->host + ":" + std::to_string(s.req.prefill->port)}});
  Result<internal::PrefillResponse> resp =
      prefill_answer(co_await ask_prefill(std::move(creq), *s.req.prefill));
  // bytes_transferred 0: every block was cached here, no notification comes.
  if (resp.ok() && resp->bytes_transferred > 0 && !s.client_gone) {
    Status landed = co_await arrivals_.arrival(epoch, options_.arrival_timeout);
    if (!landed.ok()) resp = landed;
  }
  arrivals_.forget(epoch);  // the transfer ended: its grant goes, a late write is dropped
  if (!resp.ok()) co_return resp.status();
  if (s.client_gone) co_return cancelled("the client went away");
  remote_prefills_.inc();
  kv_bytes_.inc(static_cast<double>(resp->bytes_transferred));
  s.mark(rt_, "kv_arrived",
         {{"bytes", static_cast<int64_t>(resp->bytes_transferred)},
          {"cached_tokens", static_cast<int64_t>(resp->num_cached_tokens)}});
  remote_seconds_.observe(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - s.remote_start).count());
  runner::SampledToken first = resp->first_token;
  first.seq_id = epoch;
  co_return first;
}

CallbackAwaitable<Result<server::ClientResponse>> GenerateService::ask_prefill(
    server::ClientRequest request, const internal::WorkerAddress& prefill) {
  return CallbackAwaitable<Result<server::ClientResponse>>(
      [this, request = std::move(request), prefill](auto done) mutable {
        // Exactly one of the answer and the watch's verdict wins. When the
        // verdict does, the call is cancelled: its connection closes, so P
        // aborts the request (and frees its blocks) as soon as it runs again.
        auto once = std::make_shared<decltype(done)>(std::move(done));
        auto call = std::make_shared<AbandonableCall>();
        const uint64_t watch =
            prefill_watch_.watch(prefill.host, prefill.port, [once, call](const Status& why) {
              (*once)(why);
              call->abandon();
            });
        call->set(client_.send_async(std::move(request),
                                     [this, watch, once](Result<server::ClientResponse> answer) {
                                       if (prefill_watch_.finish(watch)) (*once)(std::move(answer));
                                     }));
      });
}

Task<> GenerateService::stream(Stream& s) {
  fault_.maybe_throw();  // the drill's fault: the request holds its blocks, the stream is open
  const int prompt_len = static_cast<int>(s.req.prompt_ids.size());
  int64_t num_tokens = 0;
  for (bool first_event = true;; first_event = false) {
    Result<scheduler::RequestOutput> out = co_await s.outputs.pop();
    if (!out.ok()) {
      s.mark(rt_, "failed", {{"error", out.status().to_string()}});
      s.fail(out.status());
      co_return;
    }
    if (out->finish_reason == scheduler::FinishReason::kError) {
      // The engine logged why; the client hears only that it failed.
      s.mark(rt_, "failed", {{"error", std::string("engine error")}});
      s.fail(internal_error("the model failed while running this request"));
      co_return;
    }
    if (num_tokens == 0 && !out->new_tokens.empty()) s.mark(rt_, "first_token");
    num_tokens += static_cast<int64_t>(out->new_tokens.size());
    internal::GenerateEvent ev;
    for (const runner::SampledToken& t : out->new_tokens) {
      ev.token_ids.push_back(t.token_id);
      if (s.req.sampling.num_logprobs >= 0) ev.logprobs.push_back({t.logprob, t.top});
    }
    if (first_event) {
      ev.num_prompt_tokens = prompt_len;
      ev.num_cached_tokens = s.num_cached_tokens;
      ev.prefill_location = s.location;
    }
    if (out->finished) {
      ev.finish_reason = std::string(scheduler::finish_reason_name(out->finish_reason));
      ev.stop_token_id = out->stop_token_id;
      ev.num_prompt_tokens = prompt_len;
      ev.num_cached_tokens = s.num_cached_tokens;
    }
    // Marked before the last event goes: the router's own "finished" follows it.
    if (out->finished)
      s.mark(rt_, "finished", {{"finish_reason", ev.finish_reason}, {"tokens", num_tokens}});
    Status sent = s.sse->send_event(internal::to_json(ev));
    if (out->finished) {
      (void)s.sse->send_event("[DONE]");
      s.sse->close();
      co_return;
    }
    // The client cannot keep up (or is gone): end the request.
    if (!sent.ok()) rt_.loop().abort(s.engine_id.load());
  }
}

}  // namespace pdserve::decode
